"""Problems found in the migrations while loading the catalogue, and several at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.unit_support import (
    ALPHA_SQL,
    BETA_SQL,
    SMALL_CATALOGUE,
    copy_real_project,
    edit_service,
    issues_of,
    line_of,
    load_ok,
    replace_in,
    service_line,
    small_project,
)

ALPHA_FILE = "migrations/alpha/0001_baseline.sql"
ALPHA_LINES = len(ALPHA_SQL.splitlines())
MANAGED = "is not allowed in a migration; the platform manages access"


def test_table_classified_but_not_created(tmp_path: Path) -> None:
    catalogue = SMALL_CATALOGUE.replace("      notes: {}\n", "      notes: {}\n      extra: {}\n")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:7:7: services.alpha.tables.extra: "
        "no migration of alpha creates this table; known: accounts, notes",
    ]


def test_table_created_but_not_classified(tmp_path: Path) -> None:
    catalogue = SMALL_CATALOGUE.replace("      notes: {}\n", "")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "catalogue.yaml:4:5: services.alpha.tables: "
        "table 'notes' is created by the migrations but not classified here",
    ]


def test_table_added_by_a_later_migration_of_the_real_project_must_be_classified(
    tmp_path: Path,
) -> None:
    root = copy_real_project(tmp_path)
    (root / "migrations/auth/0002_audit.sql").write_text(
        "create table audit_events (id bigint primary key, at timestamptz not null);\n"
    )
    line = service_line(root / "catalogue.yaml", "auth", "    tables:")
    assert issues_of(root) == [
        f"catalogue.yaml:{line}:5: services.auth.tables: "
        "table 'audit_events' is created by the migrations but not classified here",
    ]


def test_foreign_key_without_index(tmp_path: Path) -> None:
    beta = BETA_SQL.replace("create index profiles_account_id_idx on profiles (account_id);\n", "")
    assert issues_of(small_project(tmp_path, beta=beta)) == [
        "migrations/beta/0001_baseline.sql:1: "
        "foreign key profiles(account_id) has no index leading with its columns",
    ]


def test_foreign_key_without_index_in_the_real_project(tmp_path: Path) -> None:
    root = copy_real_project(tmp_path)
    sql = root / "migrations/user/0001_baseline.sql"
    replace_in(
        sql,
        "create index user_profiles_institution_id_idx on user_schema.user_profiles "
        "(institution_id);\n",
        "",
    )
    line = line_of(sql, "create table user_schema.user_profiles")
    assert issues_of(root) == [
        f"migrations/user/0001_baseline.sql:{line}: "
        "foreign key user_profiles(institution_id) has no index leading with its columns",
    ]


def test_cross_schema_foreign_key_without_declared_references(tmp_path: Path) -> None:
    catalogue = SMALL_CATALOGUE.replace("        references: [id]\n", "")
    assert issues_of(small_project(tmp_path, catalogue)) == [
        "migrations/beta/0001_baseline.sql:1: foreign key profiles(account_id) references "
        "alpha_schema.accounts(id) but services.beta.reads declares no such references",
    ]


def test_cross_schema_foreign_key_to_a_table_that_is_not_read(tmp_path: Path) -> None:
    beta = BETA_SQL + (
        "alter table profiles add column note_id int references alpha_schema.notes;\n"
        "create index on profiles (note_id);\n"
    )
    assert issues_of(small_project(tmp_path, beta=beta)) == [
        "migrations/beta/0001_baseline.sql:6: foreign key profiles(note_id) references "
        "alpha_schema.notes(id) but services.beta.reads declares no such references",
    ]


def test_foreign_key_outside_the_service_schemas(tmp_path: Path) -> None:
    beta = BETA_SQL + (
        "alter table profiles add column owner uuid references auth.users (id);\n"
        "create index on profiles (owner);\n"
    )
    assert issues_of(small_project(tmp_path, beta=beta)) == [
        "migrations/beta/0001_baseline.sql:6: foreign key profiles(owner) "
        "points outside the service schemas: auth.users",
    ]


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("grant select on notes to public;", f"GRANT/REVOKE {MANAGED}"),
        ("revoke all on notes from public;", f"GRANT/REVOKE {MANAGED}"),
        ("create policy p on notes using (true);", f"CREATE POLICY {MANAGED}"),
        ("alter policy p on notes using (false);", f"ALTER POLICY {MANAGED}"),
        ("alter table notes enable row level security;", f"ENABLE ROW LEVEL SECURITY {MANAGED}"),
        ("alter table notes disable row level security;", f"DISABLE ROW LEVEL SECURITY {MANAGED}"),
        ("alter table notes force row level security;", f"FORCE ROW LEVEL SECURITY {MANAGED}"),
        ("alter table notes owner to postgres;", f"OWNER TO {MANAGED}"),
        (
            "begin;",
            f"transaction control (each file already runs in one transaction) {MANAGED}",
        ),
        (
            "commit;",
            f"transaction control (each file already runs in one transaction) {MANAGED}",
        ),
        ("create schema extra;", f"CREATE SCHEMA {MANAGED}"),
        ("create role intruder;", f"CREATE ROLE {MANAGED}"),
        ("alter role alpha_service superuser;", f"ALTER ROLE {MANAGED}"),
        ("grant alpha_service_role to beta_service;", f"role membership {MANAGED}"),
        (
            "alter default privileges grant select on tables to public;",
            f"ALTER DEFAULT PRIVILEGES {MANAGED}",
        ),
        ("set search_path = public;", f"SET (the runner pins role and search_path) {MANAGED}"),
        (
            "create table beta_schema.stolen (id int);",
            "creates beta_schema.stolen: a migration may only change its own schema alpha_schema",
        ),
        (
            "create table public.stolen (id int);",
            "creates public.stolen: a migration may only change its own schema alpha_schema",
        ),
        (
            "alter table beta_schema.profiles add column x int;",
            "alters beta_schema.profiles: a migration may only change its own schema alpha_schema",
        ),
        (
            "create index on beta_schema.profiles (id);",
            "alters beta_schema.profiles: a migration may only change its own schema alpha_schema",
        ),
    ],
)
def test_forbidden_statement(tmp_path: Path, statement: str, message: str) -> None:
    # After the baseline, a blank line and a comment: the issue points at the statement.
    alpha = ALPHA_SQL + "\n-- why not\n" + statement + "\n"
    line = ALPHA_LINES + 3
    assert issues_of(small_project(tmp_path, alpha=alpha)) == [f"{ALPHA_FILE}:{line}: {message}"]


def test_forbidden_statement_in_the_real_project(tmp_path: Path) -> None:
    root = copy_real_project(tmp_path)
    sql = root / "migrations/auth/0001_baseline.sql"
    sql.write_text(sql.read_text() + "\nalter table auth_schema.users enable row level security;\n")
    line = len(sql.read_text().splitlines())
    assert issues_of(root) == [
        f"migrations/auth/0001_baseline.sql:{line}: ENABLE ROW LEVEL SECURITY {MANAGED}",
    ]


def test_drop_of_a_table_in_another_schema(tmp_path: Path) -> None:
    """`_DropStmt` silently ignores names outside the service's schema; like CREATE and
    ALTER, a DROP of another service's table must be reported."""
    alpha = ALPHA_SQL + "drop table beta_schema.profiles;\n"
    line = ALPHA_LINES + 1
    assert issues_of(small_project(tmp_path, alpha=alpha)) == [
        f"{ALPHA_FILE}:{line}: drops beta_schema.profiles: "
        "a migration may only change its own schema alpha_schema",
    ]


def test_sql_syntax_error_reports_its_line(tmp_path: Path) -> None:
    alpha = ALPHA_SQL + "\n\nselect 1 from where;\n"
    issues = issues_of(small_project(tmp_path, alpha=alpha))
    assert (
        f'{ALPHA_FILE}:{ALPHA_LINES + 3}: SQL does not parse: syntax error at or near "where"'
        in (issues)
    )


def test_sql_syntax_error_in_the_real_project(tmp_path: Path) -> None:
    root = copy_real_project(tmp_path)
    sql = root / "migrations/institution/0001_baseline.sql"
    replace_in(sql, "create table institution_schema.departments", "create tabel departments")
    line = line_of(sql, "create tabel departments")
    assert (
        f"migrations/institution/0001_baseline.sql:{line}: "
        'SQL does not parse: syntax error at or near "tabel"'
    ) in issues_of(root)


def test_sql_syntax_error_line_after_non_ascii_text(tmp_path: Path) -> None:
    """pglast reports character offsets (it maps libpg_query's byte offsets back to str
    indices), but `line_at` indexes the UTF-8 bytes: every multi-byte character before the
    error moves the reported line up."""
    alpha = "-- Café, Zürich, Ελληνικά, 日本語: données personnelles\n" * 3 + ALPHA_SQL
    alpha += "create tabel x (id int);\n"
    line = 3 + ALPHA_LINES + 1
    assert (
        f'{ALPHA_FILE}:{line}: SQL does not parse: syntax error at or near "tabel"'
    ) in issues_of(small_project(tmp_path, alpha=alpha))


def test_forbidden_statement_line_after_non_ascii_text(tmp_path: Path) -> None:
    alpha = ALPHA_SQL + "-- Zugriffsrechte für Übersetzungen: über alles\n" * 5 + "begin;\n"
    line = ALPHA_LINES + 6
    assert issues_of(small_project(tmp_path, alpha=alpha)) == [
        f"{ALPHA_FILE}:{line}: transaction control "
        f"(each file already runs in one transaction) {MANAGED}",
    ]


def test_sql_syntax_error_at_end_of_input(tmp_path: Path) -> None:
    """pglast gives no location for "at end of input" (ParseError.args[1] is None): the
    loader must still report an Issue, not crash with a TypeError."""
    alpha = ALPHA_SQL + "create table unfinished (id int\n"
    assert (
        f"{ALPHA_FILE}:{ALPHA_LINES + 1}: SQL does not parse: syntax error at end of input"
    ) in issues_of(small_project(tmp_path, alpha=alpha))


def test_bad_migration_file_names(tmp_path: Path) -> None:
    root = small_project(tmp_path)
    for name in ("1_init.sql", "00002_more.sql", "0002_More-Tables.sql", "0002_x.SQL", "notes.txt"):
        (root / "migrations/alpha" / name).write_text("select 1;\n")
    expected = "expected a name like 0001_baseline.sql"
    assert issues_of(root) == [
        f"migrations/alpha/00002_more.sql: {expected}",
        f"migrations/alpha/0002_More-Tables.sql: {expected}",
        f"migrations/alpha/0002_x.SQL: {expected}",
        f"migrations/alpha/1_init.sql: {expected}",
        f"migrations/alpha/notes.txt: {expected}",
    ]


def test_duplicate_versions(tmp_path: Path) -> None:
    root = small_project(tmp_path)
    (root / "migrations/alpha/0002_b_second.sql").write_text("create table b2 ();\n")
    (root / "migrations/alpha/0002_a_first.sql").write_text("create table a2 ();\n")
    catalogue = SMALL_CATALOGUE.replace("      notes: {}\n", "      notes: {}\n      a2: {}\n")
    (root / "catalogue.yaml").write_text(catalogue)
    assert issues_of(root) == [
        "migrations/alpha/0002_b_second.sql: version 0002 is also 0002_a_first.sql",
    ]


def test_missing_migration_folder(tmp_path: Path) -> None:
    root = small_project(tmp_path)
    (root / "migrations/beta/0001_baseline.sql").unlink()
    (root / "migrations/beta").rmdir()
    assert "migrations/beta: no migration folder for this service" in issues_of(root)


def test_several_problems_are_all_reported_together(tmp_path: Path) -> None:
    root = copy_real_project(tmp_path)
    catalogue = root / "catalogue.yaml"
    # 1. a read of a column that does not exist
    edit_service(catalogue, "user", "department_id, name, level]", "department_id, title, level]")
    # 2. a read of a secret column
    edit_service(
        catalogue,
        "notification",
        "columns: [id, email, is_active]",
        "columns: [id, email, password_hash]",
    )
    # 3. an unknown service
    edit_service(
        catalogue,
        "user",
        "      - service: institution\n        table: institutions\n",
        "      - service: school\n        table: institutions\n",
    )
    # 4. a migration that grants, 5. a table nobody classified, 6. a FK without index
    (root / "migrations/internship/0002_more.sql").write_text(
        "grant select on internship_schema.internship_postings to public;\n"
        "create table internship_schema.internship_notes (\n"
        "    id uuid primary key,\n"
        "    posting_id uuid not null references internship_schema.internship_postings (id)\n"
        ");\n"
    )
    # 7. a badly named migration
    (root / "migrations/auth/2_fix.sql").write_text("select 1;\n")
    programs = service_line(catalogue, "user", "title, level")
    secret = service_line(catalogue, "notification", "columns: [id, email, password_hash]")
    school = service_line(catalogue, "user", "- service: school")
    internship_tables = service_line(catalogue, "internship", "    tables:")
    user_sql = root / "migrations/user/0001_baseline.sql"
    institution_fk = line_of(user_sql, "create table user_schema.user_profiles")
    academic_fk = line_of(user_sql, "create table user_schema.academic_information")
    issues = issues_of(root)
    expected = [
        f"catalogue.yaml:{school}:9: services.user.reads[1].service: unknown service 'school'; "
        "known: application, auth, institution, internship, notification, user",
        f"catalogue.yaml:{programs}:54: services.user.reads[2].columns[3]: unknown column "
        "institution_schema.programs.title; known: id, institution_id, department_id, name, ",
        f"catalogue.yaml:{secret}:30: services.notification.reads[0].columns[2]: "
        "auth_schema.users.password_hash is secret to auth",
        f"catalogue.yaml:{internship_tables}:5: services.internship.tables: "
        "table 'internship_notes' is created by the migrations but not classified here",
        "migrations/auth/2_fix.sql: expected a name like 0001_baseline.sql",
        f"migrations/internship/0002_more.sql:1: GRANT/REVOKE {MANAGED}",
        "migrations/internship/0002_more.sql:2: "
        "foreign key internship_notes(posting_id) has no index leading with its columns",
        # knock-on of the unknown service: user's FK to institutions is no longer declared
        f"migrations/user/0001_baseline.sql:{institution_fk}: foreign key "
        "user_profiles(institution_id) references institution_schema.institutions(id) "
        "but services.user.reads declares no such references",
        f"migrations/user/0001_baseline.sql:{academic_fk}: foreign key "
        "academic_information(institution_id) references institution_schema.institutions(id) "
        "but services.user.reads declares no such references",
    ]
    assert len(issues) == len(expected), issues
    for issue, wanted in zip(issues, expected, strict=True):
        assert issue.startswith(wanted), (issue, wanted)


def test_the_small_project_shapes(tmp_path: Path) -> None:
    loaded = load_ok(small_project(tmp_path))
    accounts = loaded.shapes["alpha"].tables["accounts"]
    assert accounts.columns == ["id", "email", "password_hash"]
    (fk,) = loaded.shapes["beta"].tables["profiles"].foreign_keys
    assert (fk.ref_schema, fk.ref_table, fk.ref_columns) == ("alpha_schema", "accounts", ("id",))


def test_references_and_foreign_keys_must_point_at_a_unique_key(tmp_path: Path) -> None:
    """PostgreSQL refuses a foreign key to columns without a primary key or unique constraint
    (42830); validation says so before any migration runs."""
    catalogue = SMALL_CATALOGUE.replace("references: [id]", "references: [email]")
    beta = BETA_SQL.replace(
        "account_id uuid not null references alpha_schema.accounts (id)",
        "account_email text not null references alpha_schema.accounts (email)",
    ).replace("(account_id)", "(account_email)")
    assert issues_of(small_project(tmp_path, catalogue, beta=beta)) == [
        "catalogue.yaml:14:9: services.beta.reads[0].references: (email) is no primary key or "
        "unique constraint of alpha_schema.accounts: a foreign key cannot point at it",
        "migrations/beta/0001_baseline.sql:1: foreign key profiles(account_email) points at "
        "(email) of alpha_schema.accounts, which is no primary key or unique constraint",
    ]
    unique = ALPHA_SQL.replace("email text not null,", "email text not null unique,")
    loaded = load_ok(small_project(tmp_path / "unique", catalogue, alpha=unique, beta=beta))
    assert loaded.shapes["alpha"].tables["accounts"].is_unique_key(("email",))


def test_a_migration_that_does_not_parse_is_reported_once(tmp_path: Path) -> None:
    """One typo used to yield 13 problems: every table the unread file creates was then
    "not created", every read and foreign key of it "unknown" — including the contradiction
    `unknown table auth_schema.users; known: …, users`. Checks that need the half-read shape
    now wait for the file to parse."""
    root = copy_real_project(tmp_path)
    sql = root / "migrations/auth/0001_baseline.sql"
    replace_in(sql, "create table auth_schema.users", "create tabel auth_schema.users")
    line = line_of(sql, "create tabel auth_schema.users")
    assert issues_of(root) == [
        f'migrations/auth/0001_baseline.sql:{line}: SQL does not parse: syntax error at or near "tabel"',
    ]


def test_checks_of_other_services_still_run_beside_a_file_that_does_not_parse(
    tmp_path: Path,
) -> None:
    root = copy_real_project(tmp_path)
    replace_in(
        root / "migrations/auth/0001_baseline.sql",
        "create table auth_schema.users",
        "create tabel auth_schema.users",
    )
    catalogue = root / "catalogue.yaml"
    # a read of a secret column is known from the catalogue alone; an unknown column of
    # another service's table is known from that service's migrations
    edit_service(
        catalogue, "user", "columns: [id, email, is_active]", "columns: [id, password_hash]"
    )
    edit_service(catalogue, "user", "department_id, name, level]", "department_id, title, level]")
    issues = issues_of(root)
    assert len(issues) == 3, issues
    assert "auth_schema.users.password_hash is secret to auth" in issues[0]
    assert "unknown column institution_schema.programs.title" in issues[1]
    assert "SQL does not parse" in issues[2]


def test_a_classified_table_no_migration_creates_is_reported_once(tmp_path: Path) -> None:
    alpha = ALPHA_SQL.replace(
        "create table accounts (\n    id uuid primary key,\n    email text not null,\n"
        "    password_hash text not null\n);\n",
        "",
    )
    issues = issues_of(small_project(tmp_path, alpha=alpha))
    assert issues == [
        "catalogue.yaml:5:7: services.alpha.tables.accounts: no migration of alpha creates "
        "this table; known: notes",
        "migrations/beta/0001_baseline.sql:1: foreign key profiles(account_id) points at "
        "unknown table alpha_schema.accounts",
    ]
    assert not any("unknown table alpha_schema.accounts; known: accounts" in i for i in issues)


def test_the_ddl_reader_keeps_column_types_through_renames_and_alters(tmp_path: Path) -> None:
    alpha = ALPHA_SQL + (
        "alter table notes add column pinned boolean not null default false;\n"
        "alter table notes rename column body to text_body;\n"
        "alter table notes alter column text_body type varchar(200);\n"
        "alter table notes add column tags text[];\n"
        "alter table notes drop column tags;\n"
    )
    catalogue = SMALL_CATALOGUE
    table = load_ok(small_project(tmp_path, catalogue, alpha=alpha)).shapes["alpha"].tables["notes"]
    assert table.types == {
        "id": "pg_catalog.int4",
        "text_body": "pg_catalog.varchar",
        "pinned": "pg_catalog.bool",
    }
