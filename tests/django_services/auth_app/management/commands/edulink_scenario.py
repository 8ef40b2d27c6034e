"""`manage.py edulink_scenario NAME [ARGS]`: one scenario of the auth service, as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from project.scenario import driver, identity, identity_loop, wait_for_parties

from auth_app.models import LoginAttempt, SecurityLog, User


def crud() -> dict[str, Any]:
    """Create, read, update and delete own rows of tables with forced row-level security."""
    user = User.objects.create(email="ada@example.org", password_hash="argon2$x")
    read = User.objects.get(pk=user.pk)
    User.objects.filter(pk=user.pk).update(email="ada.lovelace@example.org")
    updated = User.objects.get(pk=user.pk).email
    log = SecurityLog.objects.create(user=user, event_type="account_created")
    # The security log is append-only even for its owner: a restrictive policy (USING
    # false) that forced row-level security applies to the owning group too.
    log_updates = SecurityLog.objects.filter(pk=log.pk).update(severity="critical")
    log_deletes = SecurityLog.objects.filter(pk=log.pk).delete()[0]
    LoginAttempt.objects.create(email=updated, succeeded=True)
    gone = User.objects.create(email="gone@example.org")
    deleted = User.objects.filter(pk=gone.pk).delete()[0]
    return {
        "read_email": read.email,
        "updated_email": updated,
        "log_updates": log_updates,
        "log_deletes": log_deletes,
        "attempts": LoginAttempt.objects.count(),
        "deleted": deleted,
        "users": sorted(User.objects.values_list("email", flat=True)),
    }


def seed(*emails: str) -> dict[str, Any]:
    """Accounts the user service can point profiles at."""
    return {"ids": [str(User.objects.create(email=email).pk) for email in emails]}


def run(*emails: str) -> dict[str, Any]:
    """The accounts the user service points at, then the CRUD scenario: one process."""
    return {**seed(*emails), "crud": crud()}


def loop(rounds: str, barrier: str, parties: str) -> dict[str, Any]:
    """Transactions in three threads, started together with the other services' loops."""
    wait_for_parties(Path(barrier), "auth", int(parties))
    return identity_loop(lambda: User.objects.filter(is_active=True).count(), 3, int(rounds))


class Command(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("scenario")
        parser.add_argument("values", nargs="*")

    def handle(self, *args: Any, **options: Any) -> None:
        name, values = options["scenario"], options["values"]
        scenarios = {"whoami": dict, "crud": crud, "seed": seed, "run": run, "loop": loop}
        result = scenarios[name](*values)
        self.stdout.write(json.dumps({"driver": driver(), "identity": identity(), **result}))
