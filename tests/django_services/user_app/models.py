"""The user service's own models.

`UserProfile` and `Preference` map tables of the platform's baseline migration (unmanaged,
row-level security forced); `ProfileNote` and `ProgramBookmark` are tables of the service's
own Django migrations. Foreign keys into other services point at the generated read models
(`edulink_reads`); ProgramBookmark's becomes a real cross-schema foreign key when Django
migrates, which the REFERENCES grant on institution_schema.programs(id) allows.

`UserProfile.user` is CASCADE on purpose: deleting an account through the ORM would first
delete the profiles, then be refused by the database, and the whole delete must roll back.
"""

import uuid

from django.db import models
from edulink_reads.models import AuthUsers, InstitutionInstitutions, InstitutionPrograms


class UserProfile(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    user = models.OneToOneField(AuthUsers, models.CASCADE, db_column="user_id")
    first_name = models.TextField()
    last_name = models.TextField()
    role = models.TextField()
    institution = models.ForeignKey(
        InstitutionInstitutions, models.DO_NOTHING, null=True, db_column="institution_id"
    )
    deleted_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        managed = False
        db_table = "user_profiles"


class Preference(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    profile = models.OneToOneField(UserProfile, models.CASCADE, db_column="profile_id")
    language = models.TextField(default="en")
    theme = models.TextField(default="system")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        managed = False
        db_table = "preferences"


class ProfileNote(models.Model):
    profile = models.ForeignKey(UserProfile, models.CASCADE)
    text = models.TextField()


class ProgramBookmark(models.Model):
    profile = models.ForeignKey(UserProfile, models.CASCADE)
    program = models.ForeignKey(InstitutionPrograms, models.DO_NOTHING)
