"""Policy expressions and row filters are read against the tables the migrations build:
every column they name must exist and the whole must be boolean, or `validate` refuses it
at the word PostgreSQL would stumble on — before a deploy applies anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from edulink_db.catalogue.expressions import examine_expression, unsettled_expressions
from edulink_db.migrations.ddl import SchemaShape, Table
from tests.unit.unit_support import (
    copy_real_project,
    edit_service,
    issues_of,
    load_ok,
    service_line,
)

PROFILE_COLUMNS = (
    "id, user_id, first_name, last_name, display_name, role, institution_id, company_name, "
    "job_title, bio, avatar_url, date_of_birth, deleted_at, created_at, updated_at"
)
PREFERENCE_COLUMNS = (
    "id, profile_id, language, timezone, theme, profile_visibility, show_email, show_phone, "
    "open_to_opportunities, created_at, updated_at"
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_real_project(tmp_path)


def _column_of(path: Path, line: int, word: str) -> int:
    return path.read_text().splitlines()[line - 1].index(word) + 1


def test_a_row_filter_naming_a_missing_column_is_refused_at_the_word(root: Path) -> None:
    catalogue = root / "catalogue.yaml"
    edit_service(catalogue, "notification", "row_filter: deleted_at", "row_filter: deleted_att")
    line = service_line(catalogue, "notification", "deleted_att")
    column = _column_of(catalogue, line, "deleted_att")
    assert issues_of(root) == [
        f"catalogue.yaml:{line}:{column}: services.notification.reads[1].row_filter: "
        "expression names unknown column deleted_att of user_schema.user_profiles; "
        f"known: {PROFILE_COLUMNS}",
    ]


def test_a_custom_policy_naming_a_missing_column_is_refused_in_both_clauses(root: Path) -> None:
    """The acting-profile policy is a folded block scalar, and with_check an alias of it:
    both point at the misspelt word where it is written."""
    catalogue = root / "catalogue.yaml"
    edit_service(catalogue, "user", "profile_id = coalesce(", "profil_id = coalesce(")
    line = service_line(catalogue, "user", "profil_id = coalesce(")
    column = _column_of(catalogue, line, "profil_id")
    where = f"catalogue.yaml:{line}:{column}: services.user.tables.preferences.policies[0]"
    message = f"expression names unknown column profil_id of user_schema.preferences; known: {PREFERENCE_COLUMNS}"
    assert issues_of(root) == [f"{where}.using: {message}", f"{where}.with_check: {message}"]


def test_the_second_occurrence_of_a_word_is_the_one_located(root: Path) -> None:
    catalogue = root / "catalogue.yaml"
    edit_service(catalogue, "user", "        profile_id)\n", "        profil_id)\n")
    line = service_line(catalogue, "user", "        profil_id)")
    column = _column_of(catalogue, line, "profil_id")
    (issue, _with_check) = issues_of(root)
    assert issue.startswith(f"catalogue.yaml:{line}:{column}: services.user.tables.preferences")


@pytest.mark.parametrize(
    ("row_filter", "message"),
    [
        ("first_name", "it is text"),
        ("1", "it is integer"),
        ("'maybe'", "it is a string that spells no boolean"),
        ("coalesce(first_name, last_name)", "it is text"),
        ("deleted_at", "it is timestamp with time zone"),
        ("current_user", "it is a session value"),
        ("user_profiles", "it is record"),
    ],
)
def test_a_row_filter_that_is_not_boolean_is_refused(
    root: Path, row_filter: str, message: str
) -> None:
    catalogue = root / "catalogue.yaml"
    edit_service(
        catalogue, "notification", "row_filter: deleted_at is null", f'row_filter: "{row_filter}"'
    )
    line = service_line(catalogue, "notification", "row_filter:")
    assert issues_of(root) == [
        f"catalogue.yaml:{line}:22: services.notification.reads[1].row_filter: expression must "
        f"be boolean (a row is admitted when it is true), but {message}",
    ]


def test_a_sub_select_is_resolved_against_the_tables_it_reads(root: Path) -> None:
    catalogue = root / "catalogue.yaml"
    bad = (
        "exists (select 1 from auth_schema.users u where u.id = user_id and u.is_activ)"
        " and exists (select 1 from auth_schema.userz)"
        " and x.id is not null"
    )
    edit_service(
        catalogue, "notification", "row_filter: deleted_at is null", f'row_filter: "{bad}"'
    )
    line = service_line(catalogue, "notification", "row_filter:")
    text = (root / "catalogue.yaml").read_text().splitlines()[line - 1]
    where = "services.notification.reads[1].row_filter: expression names"
    assert issues_of(root) == [
        f"catalogue.yaml:{line}:{text.index('u.is_activ') + 1}: {where} unknown column is_activ "
        "of auth_schema.users; known: id, email, password_hash, is_active, is_staff, "
        "email_verified, email_verified_at, failed_login_attempts, locked_until, last_login_at, "
        "created_at, updated_at",
        f"catalogue.yaml:{line}:{text.index('auth_schema.userz') + 1}: {where} unknown table "
        "auth_schema.userz; its migrations create: users, user_sessions, password_reset_tokens, "
        "email_verification_tokens, oauth_providers, security_logs",
        f"catalogue.yaml:{line}:{text.index('x.id') + 1}: {where} x.id, but x is no table it "
        "reads; it may name user_profiles",
    ]


def test_valid_expressions_of_every_kind_pass(root: Path) -> None:
    catalogue = root / "catalogue.yaml"
    good = (
        "deleted_at is null and user_profiles.id is not null"
        " and user_schema.user_profiles.role in ('student', 'staff')"
        " and exists (select 1 from auth_schema.users u where u.id = user_id and u.is_active)"
        " and coalesce(first_name, '') <> ''"
        " and (select true)"
    )
    edit_service(
        catalogue, "notification", "row_filter: deleted_at is null", f'row_filter: "{good}"'
    )
    assert load_ok(root).services["notification"].reads[1].row_filter == good


def test_what_only_a_server_can_tell_is_listed_not_refused(root: Path) -> None:
    catalogue = root / "catalogue.yaml"
    edit_service(
        catalogue,
        "notification",
        "row_filter: deleted_at is null",
        'row_filter: "is_visible(id) and exists (select 1 from public.blocked b where b.id = id)"',
    )
    loaded = load_ok(root)
    unsettled = [
        (written.path, found)
        for written, found in unsettled_expressions(loaded.services, loaded.shapes)
    ]
    assert unsettled == [
        (
            ("services", "notification", "reads", 1, "row_filter"),
            ["the columns of public.blocked"],
        )
    ]


def test_an_unknown_function_leaves_the_type_to_the_server() -> None:
    table = Table("s", "t", ["id", "flag"], {"id": "uuid", "flag": "pg_catalog.bool"})
    shapes = {"s": SchemaShape("s", {"t": table})}
    assert examine_expression("is_owner(id)", table, shapes).unsettled == [
        "the type of `is_owner(id)`"
    ]
    assert examine_expression("flag", table, shapes).problems == []
    assert (
        examine_expression("flag::text", table, shapes)
        .problems[0]
        .message.endswith("but it is text")
    )
    enum_table = Table("s", "t", ["mood"], {"mood": "s.mood"})
    assert examine_expression("mood", enum_table, shapes).unsettled == ["the type of `mood`"]


def test_the_real_catalogue_has_nothing_unsettled() -> None:
    from tests.unit.unit_support import REPO

    loaded = load_ok(REPO)
    assert list(unsettled_expressions(loaded.services, loaded.shapes)) == []
