"""The auth service's own models.

`User` and `SecurityLog` map tables the platform's baseline migration created (unmanaged:
the platform owns their DDL, row-level security is forced on them); `LoginAttempt` is a
table of the service's own Django migrations. Table names are unqualified: the login role's
search_path is auth_schema.
"""

import uuid

from django.db import models


class User(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    email = models.TextField(unique=True)
    password_hash = models.TextField(null=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    email_verified = models.BooleanField(default=False)
    failed_login_attempts = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        managed = False
        db_table = "users"


class SecurityLog(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    user = models.ForeignKey(User, models.DO_NOTHING, null=True, db_column="user_id")
    event_type = models.TextField()
    severity = models.TextField(default="info")
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        managed = False
        db_table = "security_logs"


class LoginAttempt(models.Model):
    email = models.TextField()
    succeeded = models.BooleanField()
    at = models.DateTimeField(auto_now_add=True)
