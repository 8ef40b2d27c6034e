"""`manage.py edulink_scenario NAME [ARGS]`: one scenario of the user service, as JSON."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, models, transaction
from django.test.utils import CaptureQueriesContext
from edulink_reads import models as reads
from project.scenario import driver, identity, identity_loop, refused, wait_for_parties

from user_app.models import Preference, ProfileNote, ProgramBookmark, UserProfile


def crud(account_id: str, other_account_id: str) -> dict[str, Any]:
    """Own rows under forced row-level security, with foreign keys into other services."""
    institution = reads.InstitutionInstitutions.objects.get(name="Makerere University")
    program = reads.InstitutionPrograms.objects.filter(institution=institution).first()
    profile = UserProfile.objects.create(
        user_id=account_id,
        first_name="Ada",
        last_name="Lovelace",
        role="student",
        institution=institution,
    )
    other = UserProfile.objects.create(
        user_id=other_account_id, first_name="Alan", last_name="Turing", role="employer"
    )
    Preference.objects.create(profile=profile, theme="dark")
    Preference.objects.create(profile=other)
    with transaction.atomic():
        # A request acting for one profile sees that profile's preferences only
        # (restrictive policy preferences_acting_profile); SET LOCAL ends with it.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('edulink.acting_profile_id', %s, true)", [str(profile.pk)]
            )
        acting = sorted(str(p) for p in Preference.objects.values_list("profile_id", flat=True))
    UserProfile.objects.filter(pk=profile.pk).update(first_name="Augusta Ada")
    note = ProfileNote.objects.create(profile=profile, text="met at the fair")
    bookmark = ProgramBookmark.objects.create(profile=profile, program=program)
    joined = UserProfile.objects.select_related("user", "institution").get(pk=profile.pk)
    bookmarked = ProgramBookmark.objects.select_related("program__institution").get(pk=bookmark.pk)
    ProfileNote.objects.filter(pk=note.pk).delete()
    return {
        "profile": str(profile.pk),
        "first_name": joined.first_name,
        "account_email": joined.user.email,
        "institution": joined.institution.name,
        "bookmarked": [bookmarked.program.name, bookmarked.program.institution.name],
        "acting_sees": acting,
        "all_preferences": Preference.objects.count(),
        "notes_left": ProfileNote.objects.count(),
        "profiles": UserProfile.objects.count(),
    }


def cross_reads() -> dict[str, Any]:
    """Every generated model, read in full; the SQL each one sends."""
    found: dict[str, Any] = {}
    for model in _read_models():
        with CaptureQueriesContext(connection) as queries:
            rows = list(model.objects.all()[:20])
        found[model.__name__] = {"rows": len(rows), "sql": [q["sql"] for q in queries]}
    return {"models": found}


def refusals(account_id: str, profile_id: str) -> dict[str, Any]:
    """What another service's data refuses: undeclared columns, and every kind of write."""
    users = reads.AuthUsers.objects
    programs = reads.InstitutionPrograms.objects
    notes_before = ProfileNote.objects.count()
    with CaptureQueriesContext(connection) as queries:
        undeclared_field = refused(lambda: list(users.values("password_hash")))
    sent_for_undeclared = len(queries)

    def note_then_foreign_update() -> None:
        with transaction.atomic():
            ProfileNote.objects.create(profile_id=profile_id, text="half done?")
            users.filter(pk=account_id).update(is_active=False)

    return {
        "undeclared_field": undeclared_field,
        "queries_sent_for_undeclared_field": sent_for_undeclared,
        "undeclared_column_raw": refused(
            lambda: list(users.raw('SELECT id, password_hash FROM "auth_schema"."users"'))
        ),
        "undeclared_column_extra": refused(
            lambda: list(users.extra(select={"h": "password_hash"}).values("id", "h"))
        ),
        "foreign_update": refused(lambda: users.filter(pk=account_id).update(is_active=False)),
        "foreign_insert": refused(
            lambda: users.create(id=uuid.uuid4(), email="x@example.org", is_active=True)
        ),
        "foreign_delete": refused(lambda: programs.all().delete()),
        "note_then_foreign_update": refused(note_then_foreign_update),
        "notes_added": ProfileNote.objects.count() - notes_before,
        # Django deletes the account's profile first (CASCADE in UserProfile), then the
        # account, which the database refuses: the profile must still be there.
        "account_delete_with_cascade": refused(lambda: users.get(pk=account_id).delete()),
        "profile_kept": UserProfile.objects.filter(pk=profile_id).exists(),
        "still_usable": identity()["current_user"],
    }


def run(account_id: str, other_account_id: str) -> dict[str, Any]:
    """CRUD, cross reads and refusals, in this order, in one process."""
    own = crud(account_id, other_account_id)
    return {
        "crud": own,
        "cross_reads": cross_reads(),
        "refusals": refusals(account_id, own["profile"]),
    }


def loop(rounds: str, barrier: str, parties: str) -> dict[str, Any]:
    """Transactions in three threads, started together with the other services' loops."""
    wait_for_parties(Path(barrier), "user", int(parties))
    return identity_loop(lambda: UserProfile.objects.count(), 3, int(rounds))


def _read_models() -> list[type[models.Model]]:
    return [
        value
        for value in vars(reads).values()
        if isinstance(value, type)
        and issubclass(value, models.Model)
        and value.__module__ == reads.__name__
    ]


class Command(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("scenario")
        parser.add_argument("values", nargs="*")

    def handle(self, *args: Any, **options: Any) -> None:
        scenarios = {
            "whoami": dict,
            "crud": crud,
            "cross_reads": cross_reads,
            "refusals": refusals,
            "run": run,
            "loop": loop,
        }
        result = scenarios[options["scenario"]](*options["values"])
        self.stdout.write(json.dumps({"driver": driver(), "identity": identity(), **result}))
