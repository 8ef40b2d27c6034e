"""legacy/<service>.yaml: loading, validation messages, transforms and the SQL they become.
No database needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from edulink_db.catalogue.load import load_catalogue
from edulink_db.datamove.catalog import QualifiedName, TargetColumn, TargetTable
from edulink_db.datamove.expression import TransformError, parse_transform, render_type_name
from edulink_db.datamove.mapping import load_mapping
from edulink_db.datamove.plan import compile_move
from edulink_db.datamove.verify import legacy_checksum_sql, target_checksum_sql
from edulink_db.errors import ValidationFailed
from tests.datamove.conftest import ROOT

CATALOGUE = load_catalogue(ROOT)


@pytest.mark.parametrize("service", sorted(CATALOGUE.services))
def test_every_service_has_a_mapping_for_every_table(service: str) -> None:
    loaded = load_mapping(ROOT, service, CATALOGUE)
    assert sorted(loaded.mapping.tables) == sorted(CATALOGUE.services[service].tables)
    assert loaded.file == f"legacy/{service}.yaml"


def problems(tmp_path: Path, text: str, service: str = "auth") -> list[str]:
    (tmp_path / f"{service}.yaml").write_text(text)
    with pytest.raises(ValidationFailed) as failed:
        load_mapping(ROOT, service, CATALOGUE, tmp_path)
    return [str(issue).replace(str(tmp_path), "M") for issue in failed.value.issues]


def test_shape_errors_point_at_the_line_and_column(tmp_path: Path) -> None:
    assert problems(
        tmp_path,
        """\
version: 1
legacy_schema: Public
tables:
  users:
    from: auth_user
    columns:
      id: Id
      email: {sql: "lower(email)", column: email}
      is_active: {expression: is_active}
    dorp: [username]
""",
    ) == [
        "M/auth.yaml:2:1: legacy_schema: 'Public' is not a valid identifier (must match ^[a-z_][a-z0-9_]{0,62}$)",
        "M/auth.yaml:7:7: tables.users.columns.id.column: 'Id' is not a valid identifier (must match ^[a-z_][a-z0-9_]{0,62}$)",
        "M/auth.yaml:8:7: tables.users.columns.email: give either a legacy column or {sql: <expression>}, not both",
        "M/auth.yaml:9:19: tables.users.columns.is_active.expression: unknown field",
        "M/auth.yaml:10:5: tables.users.dorp: unknown field",
    ]


def test_meaning_errors_are_all_reported_together(tmp_path: Path) -> None:
    assert problems(
        tmp_path,
        """\
version: 1
skip_tables: [auth_user]
tables:
  userz:
    from: auth_user
    columns: {id: id}
  users:
    from: auth_user
    columns:
      id: id
      emial: email
      password_hash: {sql: "(SELECT password FROM auth_user LIMIT 1)"}
      is_active: {sql: "u.is_active"}
      created_at: {sql: "date_joined); DROP TABLE users; --"}
      updated_at: {sql: "count(*)"}
    drop: [id, junk, junk]
""",
    ) == [
        "M/auth.yaml:2:15: skip_tables[0]: legacy table 'auth_user' is mapped; it cannot be skipped",
        "M/auth.yaml:4:3: tables.userz: unknown table auth_schema.userz; known: email_verification_tokens, oauth_providers, password_reset_tokens, security_logs, user_sessions, users",
        "M/auth.yaml:11:7: tables.users.columns.emial: unknown column auth_schema.users.emial; known: id, email, password_hash, is_active, is_staff, email_verified, email_verified_at, failed_login_attempts, locked_until, last_login_at, created_at, updated_at",
        "M/auth.yaml:12:23: tables.users.columns.password_hash.sql: may not contain a sub-query: a transform sees only its own row",
        "M/auth.yaml:13:19: tables.users.columns.is_active.sql: may only name columns of its own legacy row, without a table: 'u.is_active'",
        'M/auth.yaml:14:20: tables.users.columns.created_at.sql: does not parse: syntax error at or near ")"',
        "M/auth.yaml:15:20: tables.users.columns.updated_at.sql: may not call an aggregate",
        "M/auth.yaml:16:5: tables.users.drop: a column is listed twice",
        "M/auth.yaml:16:12: tables.users.drop[0]: legacy column 'id' is read by this mapping; it cannot be dropped",
    ]


def test_an_unknown_service_or_a_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as failed:
        load_mapping(ROOT, "billing", CATALOGUE)
    assert [str(i) for i in failed.value.issues] == [
        "catalogue.yaml: services: unknown service 'billing'; known: application, auth, "
        "institution, internship, notification, user"
    ]
    with pytest.raises(ValidationFailed) as failed:
        load_mapping(ROOT, "auth", CATALOGUE, tmp_path)
    assert [str(i).replace(str(tmp_path), "M") for i in failed.value.issues] == [
        "M/auth.yaml: no mapping file for auth; write M/auth.yaml first"
    ]


@pytest.mark.parametrize(
    ("text", "canonical", "columns"),
    [
        ("lower(btrim(email))", "lower(btrim(email))", ("email",)),
        (
            "created AT TIME ZONE 'Africa/Nairobi'",
            "pg_catalog.timezone('Africa/Nairobi', created)",
            ("created",),
        ),
        ("nullif(ip, '')::inet", "CAST(NULLIF(ip, '') AS inet)", ("ip",)),
        ("CASE WHEN a THEN b END -- a comment", "CASE WHEN a THEN b END", ("a", "b")),
        ("extra_data ->> 'scope'", "extra_data ->> 'scope'", ("extra_data",)),
        ("'$$; DROP TABLE x; --'", "'$$; DROP TABLE x; --'", ()),
    ],
)
def test_a_transform_becomes_its_canonical_sql(
    text: str, canonical: str, columns: tuple[str, ...]
) -> None:
    transform = parse_transform(text)
    assert (transform.sql, transform.columns) == (canonical, columns)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("a, b", "must be exactly one expression"),
        ("a FROM t", "must be exactly one expression"),
        ("a AS b", "must be exactly one expression (no alias)"),
        ("a; DROP TABLE t", "must be exactly one expression"),
        ("a) FROM t; --", 'does not parse: syntax error at or near ")"'),
        ("(SELECT 1)", "may not contain a sub-query: a transform sees only its own row"),
        (
            "EXISTS (SELECT FROM t)",
            "may not contain a sub-query: a transform sees only its own row",
        ),
        ("t.a", "may only name columns of its own legacy row, without a table: 't.a'"),
        ("count(*)", "may not call an aggregate"),
        ("row_number() OVER ()", "may not call a window function"),
        ("$1", "may not contain a parameter ($n)"),
    ],
)
def test_a_transform_that_is_not_one_row_level_expression_is_refused(
    text: str, message: str
) -> None:
    with pytest.raises(TransformError) as error:
        parse_transform(text)
    assert str(error.value) == message


def test_type_names_are_rendered_from_their_parse_tree() -> None:
    assert render_type_name("timestamp with time zone") == "timestamp with time zone"
    assert render_type_name("numeric(5,2)") == "numeric(5, 2)"
    assert render_type_name("character varying(10)[]") == "varchar(10)[]"
    for bad in ("int; DROP TABLE x", "int) FROM x --", "1"):
        with pytest.raises(TransformError):
            render_type_name(bad)


def test_the_sql_of_a_table_is_built_from_identifiers_and_parse_trees() -> None:
    loaded = load_mapping(ROOT, "auth", CATALOGUE)

    def column(name: str, type_: str, not_null: bool = False) -> TargetColumn:
        return TargetColumn(name, type_, True, not_null, not not_null, False, False, None)

    table = TargetTable(
        QualifiedName("auth_schema", "email_verification_tokens"),
        "auth_service_role",
        True,
        True,
        {
            "id": column("id", "uuid"),
            "user_id": column("user_id", "uuid", True),
            "email": column("email", "text", True),
            "token_hash": column("token_hash", "text", True),
            "created_at": column("created_at", "timestamp with time zone"),
            "expires_at": column("expires_at", "timestamp with time zone", True),
            "used_at": column("used_at", "timestamp with time zone"),
        },
        (),
    )
    plan, issues = compile_move(
        loaded, {"email_verification_tokens": table}, ["email_verification_tokens"]
    )
    assert issues == []
    (move,) = plan.tables
    assert move.source_select().as_string() == (
        'SELECT CAST(("id") AS uuid), CAST(("user_id") AS uuid), CAST((lower(btrim(email))) AS text), '
        'CAST(("token_hash") AS text), CAST(("created") AS timestamp with time zone), '
        'CAST(("expires") AS timestamp with time zone), CAST(("used") AS timestamp with time zone) '
        'FROM "public"."accounts_emailverification"'
    )
    assert target_checksum_sql(move).as_string() == (
        "SELECT count(*), coalesce(sum(('x' || left(md5(record_send(ROW("
        'r."id", r."user_id", r."email", r."token_hash", r."created_at", r."expires_at", r."used_at"'
        "))), 16))::bit(64)::bigint), 0)::text FROM (SELECT "
        '"id", "user_id", "email", "token_hash", "created_at", "expires_at", "used_at" '
        'FROM "auth_schema"."email_verification_tokens") AS r'
    )
    assert (
        legacy_checksum_sql(move)
        .as_string()
        .startswith(
            "SELECT count(*), coalesce(sum(('x' || left(md5(record_send(ROW("
            'r."c0", r."c1", r."c2", r."c3", r."c4", r."c5", r."c6"))), 16))::bit(64)::bigint), 0)::text'
            ' FROM (SELECT CAST(("id") AS uuid) AS "c0", '
        )
    )
    assert move.force_row_security
    assert move.secret_columns == ("token_hash",)
    # A column of a type that is not built in (a domain, an extension's type) has a different
    # OID in each database: the table is checksummed over its canonical text instead.
    table.columns["email"] = TargetColumn("email", "citext", False, True, False, False, False, None)
    plan, _ = compile_move(
        loaded, {"email_verification_tokens": table}, ["email_verification_tokens"]
    )
    assert "md5(convert_to(ROW(" in target_checksum_sql(plan.tables[0]).as_string()


def test_the_progress_bars_draw_on_a_terminal_and_end_with_a_line_per_table() -> None:
    import io

    from rich.console import Console

    from edulink_db.cli.migrate_data import RichProgress
    from edulink_db.datamove.progress import TableResult

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120, color_system=None)
    with RichProgress(console) as bars:
        bars.phase("pre-flight: reading public.auth_user")
        bars.start("auth_schema.users", 1000)
        bars.advance(400)
        bars.advance(600)
        bars.finish(TableResult("auth_schema.users", "public.auth_user", 1000, "42", 0.25))
        bars.finish(TableResult("auth_schema.x", "public.y", 0, "", 0.0, skipped=True))
    text = buffer.getvalue()
    assert (
        "auth_schema.users: 1,000 rows copied from public.auth_user and verified (checksum 42) in 0.2 s"
        in text
    )
    assert "auth_schema.x: already copied and verified, skipped" in text
