"""Bad input ends with a clear message, keeps no partial table, and a re-run completes."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
import pytest

from tests.datamove.conftest import ROOT, make_legacy, move
from tests.datamove.legacy_world import World
from tests.support.cluster import Cluster
from tests.support.deploy import Deployment, deploy
from tests.support.program import recorded

AUTH_TABLES = (
    "users",
    "user_sessions",
    "password_reset_tokens",
    "email_verification_tokens",
    "oauth_providers",
    "security_logs",
)


@pytest.fixture
def target(pg_cluster: Cluster) -> Deployment:
    return deploy(pg_cluster, recorded("prod"))


@pytest.fixture
def auth_legacy(pg_cluster: Cluster, target: Deployment, world: World) -> str:
    return make_legacy(pg_cluster, "auth", world)


def legacy_sql(dsn: str, statement: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(statement.encode())


def counts(deployment: Deployment, schema: str, tables: tuple[str, ...]) -> dict[str, int]:
    with deployment.superuser() as conn:
        return {
            t: int(conn.execute(f"SELECT count(*) FROM {schema}.{t}").fetchone()[0])  # type: ignore[index]
            for t in tables
        }


def recorded_tables(deployment: Deployment, schema: str) -> list[str]:
    with deployment.superuser() as conn:
        if conn.execute(f"SELECT to_regclass('{schema}.edulink_data_migrations')").fetchone() == (
            None,
        ):
            return []
        return [
            r[0]
            for r in conn.execute(
                f"SELECT table_name FROM {schema}.edulink_data_migrations ORDER BY 1"
            )
        ]


def test_user_before_auth_is_refused_by_the_pre_flight(
    pg_cluster: Cluster, target: Deployment, world: World
) -> None:
    institution = make_legacy(pg_cluster, "institution", world)
    user = make_legacy(pg_cluster, "user", world)
    assert move("institution", institution, target)[0] == 0
    code, stdout, stderr = move("user", user, target)
    assert (code, stdout) == (1, "")
    lines = stderr.splitlines()
    assert lines[0].startswith(
        "legacy/user.yaml:12:7: tables.user_profiles.columns.user_id: 25 legacy row(s) of "
        "public.profiles_userprofile reference auth_schema.users(id) values the target does not hold (e.g. "
    )
    assert lines[0].endswith(
        "): foreign key user_profiles_user_id_fkey would reject them; auth has not been moved "
        "yet: move it first (edulink-db migrate-data --service auth)"
    )
    assert lines[-1] == "1 problem(s) found by the pre-flight; nothing was written"
    assert recorded_tables(target, "user_schema") == []
    assert set(counts(target, "user_schema", ("user_profiles", "preferences")).values()) == {0}
    # once auth has moved, the same command completes
    assert move("auth", make_legacy(pg_cluster, "auth", world), target)[0] == 0
    code, stdout, stderr = move("user", user, target)
    assert (code, stderr) == (0, "")
    assert counts(target, "user_schema", ("user_profiles",)) == {"user_profiles": 25}


def test_an_orphan_inside_the_service_is_reported_with_its_key(
    target: Deployment, auth_legacy: str
) -> None:
    legacy_sql(
        auth_legacy,
        "SET session_replication_role = replica;"
        "UPDATE accounts_session SET user_id = '00000000-0000-4000-8000-000000000001'"
        " WHERE id = (SELECT id FROM accounts_session ORDER BY id LIMIT 1)",
    )
    code, _, stderr = move("auth", auth_legacy, target)
    assert code == 1
    assert stderr.splitlines()[0] == (
        "legacy/auth.yaml:47:7: tables.user_sessions.columns.user_id: 1 legacy row(s) of "
        "public.accounts_session reference auth_schema.users(id) values that public.auth_user "
        "does not hold (e.g. 00000000-0000-4000-8000-000000000001): foreign key "
        "user_sessions_user_id_fkey would reject them"
    )
    assert recorded_tables(target, "auth_schema") == []


def test_an_unreachable_source_is_named_without_its_password(
    target: Deployment, auth_legacy: str
) -> None:
    source = (
        "host=127.0.0.1 port=1 dbname=legacy_auth user=legacy password=s3cret-Pw connect_timeout=3"
    )
    code, stdout, stderr = move("auth", source, target)
    assert (code, stdout) == (2, "")
    assert stderr.startswith(
        "error: cannot connect to the legacy database legacy@127.0.0.1:1/legacy_auth: "
        'connection failed: connection to server at "127.0.0.1", port 1 failed: '
    )
    assert "s3cret-Pw" not in stderr
    code, _, stderr = move("auth", "host=127.0.0.1 password='s3cret-Pw", target)
    assert (code, stderr) == (2, "error: the legacy DSN is not a valid connection string\n")
    assert recorded_tables(target, "auth_schema") == []
    assert move("auth", auth_legacy, target)[0] == 0


def test_a_missing_legacy_table_is_reported_where_the_mapping_names_it(
    target: Deployment, auth_legacy: str
) -> None:
    legacy_sql(auth_legacy, "ALTER TABLE accounts_passwordresettoken RENAME TO reset_tokens_old")
    code, _, stderr = move("auth", auth_legacy, target)
    assert code == 1
    assert stderr.splitlines() == [
        "legacy/auth.yaml:21:1: tables: legacy table public.reset_tokens_old is neither mapped "
        "nor listed in skip_tables",
        "legacy/auth.yaml:58:5: tables.password_reset_tokens.from: the legacy database has no "
        "table public.accounts_passwordresettoken; known: accounts_emailverification, "
        "accounts_securityevent, accounts_session, auth_user, django_migrations, django_session, "
        "reset_tokens_old, social_auth_usersocialauth",
        "2 problem(s) found by the pre-flight; nothing was written",
    ]
    assert recorded_tables(target, "auth_schema") == []
    legacy_sql(auth_legacy, "ALTER TABLE reset_tokens_old RENAME TO accounts_passwordresettoken")
    assert move("auth", auth_legacy, target)[0] == 0


def test_a_type_mismatch_names_both_types_and_the_fix(target: Deployment, auth_legacy: str) -> None:
    legacy_sql(
        auth_legacy,
        "ALTER TABLE auth_user ALTER COLUMN date_joined TYPE text;"
        "ALTER TABLE auth_user ADD COLUMN middle_name text",
    )
    code, _, stderr = move("auth", auth_legacy, target)
    assert code == 1
    assert stderr.splitlines() == [
        "legacy/auth.yaml:22:3: tables.users: legacy column(s) middle_name of public.auth_user are "
        "neither mapped nor listed in drop: map them, or drop them deliberately",
        "legacy/auth.yaml:38:7: tables.users.columns.created_at: legacy date_joined is text but "
        "auth_schema.users.created_at is timestamp with time zone, and PostgreSQL has no implicit "
        'or assignment cast between them: convert it in a transform, e.g. {sql: "date_joined::'
        'timestamp with time zone"}',
        "2 problem(s) found by the pre-flight; nothing was written",
    ]
    legacy_sql(
        auth_legacy,
        "ALTER TABLE auth_user ALTER COLUMN date_joined TYPE timestamptz USING date_joined::timestamptz;"
        "ALTER TABLE auth_user DROP COLUMN middle_name",
    )
    assert move("auth", auth_legacy, target)[0] == 0


def test_a_transform_that_fails_on_a_row_is_named_and_its_table_rolled_back(
    target: Deployment, auth_legacy: str
) -> None:
    legacy_sql(
        auth_legacy,
        "UPDATE accounts_securityevent SET details = '{\"unterminated\": ' "
        "WHERE id = (SELECT id FROM accounts_securityevent ORDER BY id DESC LIMIT 1)",
    )
    # The dry run evaluates every transform on every row: it finds the column up front.
    code, _, stderr = move("auth", auth_legacy, target, "--dry-run")
    assert code == 1
    assert stderr.splitlines() == [
        "legacy/auth.yaml:106:7: tables.security_logs.columns.details: fails on a legacy row: "
        "[22P02] invalid input syntax for type json",
        "1 problem(s) found by the pre-flight; dry run, nothing was written",
    ]
    # A real run evaluates them while copying: the failing table is rolled back, the tables
    # copied before it stay verified and recorded.
    code, stdout, stderr = move("auth", auth_legacy, target)
    assert code == 2
    assert len(stdout.splitlines()) == 5
    assert stderr == (
        "error: auth_schema.security_logs: a legacy row fails legacy/auth.yaml:106:7 "
        "(tables.security_logs.columns.details): [22P02] invalid input syntax for type json; "
        "the table's transaction was rolled back, nothing of it was kept. Fix the mapping or the "
        "row (--dry-run finds every failing column), then run again with --resume\n"
    )
    assert recorded_tables(target, "auth_schema") == sorted(AUTH_TABLES[:-1])
    assert counts(target, "auth_schema", ("security_logs",)) == {"security_logs": 0}
    legacy_sql(
        auth_legacy,
        "UPDATE accounts_securityevent SET details = '' WHERE details LIKE '{\"unterminated%'",
    )
    code, stdout, _ = move("auth", auth_legacy, target, "--resume")
    assert code == 0
    assert stdout.splitlines()[-1] == (
        "auth: 1 table(s) copied and verified, 60 rows; 5 skipped (verified by an earlier run)"
    )


def test_a_failing_secret_column_never_quotes_its_value(
    target: Deployment, auth_legacy: str, mappings: Path
) -> None:
    text = (mappings / "auth.yaml").read_text()
    (mappings / "auth.yaml").write_text(
        text.replace(
            "session_token_hash: session_key_hash",
            "session_token_hash: {sql: \"(session_key_hash || '-')::uuid::text\"}",
        )
    )
    code, _, stderr = move("auth", auth_legacy, target, "--mappings", str(mappings), "--dry-run")
    assert code == 1
    assert stderr.splitlines()[0] == (
        f"{mappings}/auth.yaml:48:7: tables.user_sessions.columns.session_token_hash: fails on a "
        "legacy row: [22P02] (message withheld: the column is secret)"
    )
    code, _, stderr = move("auth", auth_legacy, target, "--mappings", str(mappings))
    assert code == 2
    assert stderr.startswith(
        f"error: auth_schema.user_sessions: a legacy row fails {mappings}/auth.yaml:48:7 "
        "(tables.user_sessions.columns.session_token_hash): [22P02] (message withheld: the "
        "column is secret); "
    )
    with psycopg.connect(auth_legacy) as conn:
        hashes = [r[0] for r in conn.execute("SELECT session_key_hash FROM accounts_session")]
    assert not any(h in stderr for h in hashes)


def test_transforms_that_are_not_row_level_or_not_stable_are_refused(
    target: Deployment, auth_legacy: str, mappings: Path
) -> None:
    text = (mappings / "auth.yaml").read_text()
    text = text.replace(
        "last_login_at: last_login",
        'last_login_at: {sql: "coalesce(last_login, clock_timestamp())"}',
    )
    text = text.replace('event_type: {sql: "lower(event)"}', 'event_type: {sql: "max(event)"}')
    text = text.replace(
        "token_hash: token_hash\n      requested_ip",
        'token_hash: {sql: "unnest(array[token_hash])"}\n      requested_ip',
    )
    (mappings / "auth.yaml").write_text(text)
    code, _, stderr = move("auth", auth_legacy, target, "--mappings", str(mappings))
    assert code == 1
    assert stderr.splitlines() == [
        f"{mappings}/auth.yaml:37:7: tables.users.columns.last_login_at: calls clock_timestamp(), which is "
        "volatile: the copy and its checksum would see different values",
        f"{mappings}/auth.yaml:62:7: tables.password_reset_tokens.columns.token_hash: is not a "
        "row-level expression here: [0A000] set-returning functions are not allowed in WHERE",
        f"{mappings}/auth.yaml:101:7: tables.security_logs.columns.event_type: is not a row-level "
        "expression here: [42803] aggregate functions are not allowed in WHERE",
        "3 problem(s) found by the pre-flight; nothing was written",
    ]


def test_a_table_that_already_holds_rows_is_refused(target: Deployment, auth_legacy: str) -> None:
    with target.login("auth") as auth:
        auth.execute("INSERT INTO users (email) VALUES ('early@example.org')")
    code, _, stderr = move("auth", auth_legacy, target)
    assert code == 1
    assert stderr.splitlines()[0] == (
        "legacy/auth.yaml:22:3: tables.users: auth_schema.users already holds rows, and no run "
        "record says they were copied: the data move only fills empty tables"
    )


def test_a_row_the_target_refuses_rolls_its_table_back_without_quoting_it(
    target: Deployment, auth_legacy: str
) -> None:
    legacy_sql(
        auth_legacy,
        "INSERT INTO auth_user SELECT gen_random_uuid(), 'pbkdf2$x', NULL, false, 'dup',"
        " 'D', 'Up', upper(email), false, true, now(), false, NULL, 0, NULL, now()"
        " FROM auth_user WHERE username = 'user1'",
    )
    code, _, stderr = move("auth", auth_legacy, target)
    assert code == 2
    assert stderr.startswith("error: auth_schema.users: the copy failed at row ")
    assert stderr.endswith(
        ' of the copy: [23505] duplicate key value violates unique constraint "users_email_key"; '
        "the table's transaction was rolled back, nothing of it was kept\n"
    )
    assert "user.1@example.org" not in stderr
    assert counts(target, "auth_schema", ("users",)) == {"users": 0}
    assert recorded_tables(target, "auth_schema") == []
    legacy_sql(auth_legacy, "DELETE FROM auth_user WHERE username = 'dup'")
    assert move("auth", auth_legacy, target)[0] == 0


def test_a_checksum_mismatch_fails_the_table_and_a_resumed_run_completes(
    target: Deployment, auth_legacy: str
) -> None:
    """A trigger on the target rewrites a value as it is written: the copy's own count and
    the row count agree, only the content checksum can tell, and it does."""
    with target.superuser() as conn:
        conn.execute(
            "CREATE FUNCTION public.tamper() RETURNS trigger LANGUAGE plpgsql AS"
            " $$BEGIN NEW.user_agent := 'tampered'; RETURN NEW; END$$;"
            "CREATE TRIGGER tamper BEFORE INSERT ON auth_schema.user_sessions"
            " FOR EACH ROW EXECUTE FUNCTION public.tamper()"
        )
    code, stdout, stderr = move("auth", auth_legacy, target)
    assert code == 2
    assert stdout.splitlines() == [
        f"auth_schema.users: 30 rows copied from public.auth_user and verified (checksum {_checksum(target, 'users')}) in "
        + stdout.splitlines()[0].rsplit(" in ", 1)[1]
    ]
    assert stderr.startswith(
        "error: auth_schema.user_sessions: verification failed: public.accounts_session has 40 "
        "rows, checksum "
    )
    assert ", the copy sent 40 rows and the target holds 40 rows, checksum " in stderr
    assert recorded_tables(target, "auth_schema") == ["users"]
    assert counts(target, "auth_schema", ("users", "user_sessions")) == {
        "users": 30,
        "user_sessions": 0,
    }
    with target.superuser() as conn:
        conn.execute("DROP TRIGGER tamper ON auth_schema.user_sessions")
        forced = conn.execute(
            "SELECT relforcerowsecurity FROM pg_class WHERE oid = 'auth_schema.user_sessions'::regclass"
        ).fetchone()
    assert forced == (True,)
    code, stdout, _ = move("auth", auth_legacy, target, "--resume")
    assert code == 0
    assert stdout.splitlines()[0] == "auth_schema.users: already copied and verified, skipped"
    assert stdout.splitlines()[-1] == (
        "auth: 5 table(s) copied and verified, 128 rows; 1 skipped (verified by an earlier run)"
    )


def _checksum(target: Deployment, table: str) -> str:
    with target.superuser() as conn:
        row = conn.execute(
            f"SELECT checksum FROM auth_schema.edulink_data_migrations WHERE table_name = '{table}'"
        ).fetchone()
    return str(row[0]) if row else ""


def test_tables_restricts_the_run_and_resume_finishes_it(
    target: Deployment, auth_legacy: str
) -> None:
    code, stdout, _ = move("auth", auth_legacy, target, "--tables", "security_logs,users")
    assert code == 0
    assert [line.split(":")[0] for line in stdout.splitlines()[:-1]] == [
        "auth_schema.users",
        "auth_schema.security_logs",
    ]
    code, _, stderr = move("auth", auth_legacy, target, "--tables", "userz")
    assert code == 1
    assert stderr.splitlines()[0] == (
        "legacy/auth.yaml: tables: --tables names 'userz', which this file does not map; mapped: "
        + ", ".join(AUTH_TABLES)
    )
    code, stdout, _ = move("auth", auth_legacy, target, "--resume")
    assert code == 0
    assert stdout.splitlines()[-1] == (
        "auth: 4 table(s) copied and verified, 68 rows; 2 skipped (verified by an earlier run)"
    )


def test_a_changed_mapping_of_a_verified_table_is_refused_on_resume(
    target: Deployment, auth_legacy: str, mappings: Path
) -> None:
    assert move("auth", auth_legacy, target, "--tables", "users")[0] == 0
    text = (mappings / "auth.yaml").read_text()
    (mappings / "auth.yaml").write_text(text.replace("lower(btrim(email))", "lower(email)", 1))
    code, _, stderr = move("auth", auth_legacy, target, "--resume", "--mappings", str(mappings))
    assert code == 1
    assert stderr.splitlines()[0].startswith(
        f"{mappings}/auth.yaml:22:3: tables.users: the mapping of users changed after its rows "
        "were copied on "
    )


def test_a_login_that_cannot_act_as_the_group_is_refused(
    target: Deployment, auth_legacy: str
) -> None:
    login = target.login_dsn("user", "user_service")
    code, _, stderr = move("auth", auth_legacy, target, "--target", login)
    assert code == 1
    assert stderr.splitlines()[0] == (
        "legacy/auth.yaml: the target login 'user_service' cannot act as auth_service_role "
        '([42501] permission denied to set role "auth_service_role"): connect as the platform '
        "admin, which is a member of every service's group role"
    )


def test_identity_and_serial_sequences_continue_after_the_copied_maximum(
    pg_cluster: Cluster, target: Deployment, world: World, tmp_path: Path
) -> None:
    """A table a later migration adds, with an identity column: after the move, the next
    row the service inserts gets the next number, not one that collides."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copytree(ROOT / "migrations", root / "migrations")
    shutil.copytree(ROOT / "legacy", root / "legacy")
    ddl = (
        "create table auth_schema.login_counters (\n"
        "    id bigint generated always as identity,\n"
        "    user_id uuid not null,\n"
        "    counted_at timestamptz not null default now(),\n"
        "    constraint login_counters_pkey primary key (id),\n"
        "    constraint login_counters_user_id_fkey foreign key (user_id)\n"
        "        references auth_schema.users (id) on delete cascade\n"
        ");\n"
        "create index login_counters_user_id_idx on auth_schema.login_counters (user_id);\n"
    )
    (root / "migrations" / "auth" / "0002_login_counters.sql").write_text(ddl)
    catalogue = (ROOT / "catalogue.yaml").read_text()
    (root / "catalogue.yaml").write_text(
        catalogue.replace("  institution:\n", "      login_counters: {}\n\n  institution:\n", 1)
    )
    (root / "legacy" / "auth.yaml").write_text(
        (ROOT / "legacy" / "auth.yaml").read_text()
        + "\n  login_counters:\n    from: accounts_logincounter\n"
        "    columns: {id: id, user_id: user_id, counted_at: counted}\n"
    )
    with target.superuser() as conn:
        conn.execute(f"SET ROLE auth_service_role; {ddl}")
    legacy = make_legacy(pg_cluster, "auth", world)
    legacy_sql(
        legacy,
        "CREATE TABLE accounts_logincounter (id bigserial PRIMARY KEY, user_id uuid NOT NULL,"
        " counted timestamptz NOT NULL);"
        "INSERT INTO accounts_logincounter (id, user_id, counted)"
        " SELECT 1000 + 7 * n, (SELECT id FROM auth_user ORDER BY id LIMIT 1), now()"
        " FROM generate_series(1, 5) n",
    )
    code, stdout, stderr = move("auth", legacy, target, root=root)
    assert (code, stderr) == (0, ""), stdout
    with target.login("auth") as auth:
        row = auth.execute(
            "INSERT INTO login_counters (user_id) SELECT id FROM users LIMIT 1 RETURNING id"
        ).fetchone()
    assert row == (1036,)
