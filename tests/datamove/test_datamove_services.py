"""Every service's legacy database moved into the replayed prod schema, and checked.

Each check runs twice: with the target reached directly, and through PgBouncer in
transaction mode with one server connection (Supabase's transaction pooler in miniature).
The copy assumes no session state: each table is one transaction with `SET LOCAL ROLE`,
`set_config(..., true)` and `pg_advisory_xact_lock`, and nothing is prepared. The legacy
side stays direct: one snapshot read by two sessions for the whole run keeps both in an open
transaction, which a pooler could only pin, and legacy databases are not behind one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from edulink_db.catalogue.load import load_catalogue
from edulink_db.datamove.mapping import load_mapping
from edulink_db.plan.compile import dependency_order
from tests.datamove.conftest import ROOT, make_legacy, move, target_dsn
from tests.datamove.legacy_world import AWKWARD, SERVICES, World
from tests.support.cluster import ADMIN_PASSWORD, ADMIN_ROLE, Cluster
from tests.support.deploy import Deployment, deploy
from tests.support.pgbouncer import Pooler, transaction_pooler
from tests.support.program import recorded

CATALOGUE = load_catalogue(ROOT)
ORDER = dependency_order(CATALOGUE.services)


@dataclass
class Moved:
    deployment: Deployment
    legacy: dict[str, str]
    outputs: dict[str, tuple[int, str, str]]
    dry_run: tuple[int, str, str]
    dry_run_left: dict[str, Any]
    target: str  # how the CLI reaches the target
    pooler: Pooler | None


@pytest.fixture(scope="module", params=["direct", "pgbouncer"])
def moved(pg_cluster: Cluster, world: World, request: pytest.FixtureRequest) -> Iterator[Moved]:
    """Deploy prod, create the six legacy databases, dry-run auth, then move every service in
    dependency order through the CLI."""
    deployment = deploy(pg_cluster, recorded("prod"))
    legacy = {service: make_legacy(pg_cluster, service, world) for service in SERVICES}
    with ExitStack() as stack:
        target, pooler = target_dsn(deployment), None
        if request.param == "pgbouncer":
            pooler = stack.enter_context(
                transaction_pooler(pg_cluster, {ADMIN_ROLE: ADMIN_PASSWORD})
            )
            target = pooler.dsn(ADMIN_ROLE, ADMIN_PASSWORD, deployment.database)
        dry_run = move("auth", legacy["auth"], deployment, "--dry-run", target=target)
        with deployment.superuser() as conn:
            left = {
                "run_table": conn.execute(
                    "SELECT to_regclass('auth_schema.edulink_data_migrations')"
                ).fetchone(),
                "users": conn.execute("SELECT count(*) FROM auth_schema.users").fetchone(),
            }
        outputs = {
            service: move(service, legacy[service], deployment, target=target) for service in ORDER
        }
        yield Moved(deployment, legacy, outputs, dry_run, left, target, pooler)


def test_services_move_in_dependency_order(moved: Moved) -> None:
    assert ORDER == ["auth", "institution", "user", "application", "internship", "notification"]
    for service in ORDER:
        code, stdout, stderr = moved.outputs[service]
        assert (code, stderr) == (0, ""), (service, stdout, stderr)
        tables = len(load_mapping(ROOT, service, CATALOGUE).mapping.tables)
        assert stdout.splitlines()[-1].startswith(
            f"{service}: {tables} table(s) copied and verified, "
        )


def test_a_dry_run_prints_the_plan_and_writes_nothing(moved: Moved) -> None:
    code, stdout, stderr = moved.dry_run
    assert (code, stderr) == (0, "")
    lines = stdout.splitlines()
    assert lines[0].startswith("Data move of auth: supabase_admin@")
    assert lines[0].endswith("schema auth_schema, as auth_service_role")
    assert lines[1] == "6 table(s), in foreign-key order:"
    assert lines[2].startswith("  1. auth_schema.users <- public.auth_user (30 rows, checksum ")
    assert lines[2].endswith(", row-level security forced")
    assert "       email                 <= lower(btrim(email))" in lines
    assert "       last_login_at         <- last_login" in lines
    assert "       dropped: username, first_name, last_name, is_superuser" in lines
    assert lines[-1] == "pre-flight: no problem found; dry run, nothing was written"
    order = [line.split()[1] for line in lines if line[:4].strip().rstrip(".").isdigit()]
    assert order[0] == "auth_schema.users"
    assert moved.dry_run_left == {"run_table": (None,), "users": (0,)}


def _legacy_count(dsn: str, table: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("service", SERVICES)
def test_counts_and_checksums_match(moved: Moved, service: str) -> None:
    """Each table holds as many rows as its legacy table; the recorded checksum is the one
    the target computes now, over the rows it holds."""
    loaded = load_mapping(ROOT, service, CATALOGUE)
    schema = loaded.service.schema_name
    with moved.deployment.superuser() as conn:
        records = {
            r[0]: r[1:]
            for r in conn.execute(
                sql.SQL(
                    "SELECT table_name, rows, checksum, service, legacy_table, run_by,"
                    " finished_at >= started_at FROM {}"
                ).format(sql.Identifier(schema, "edulink_data_migrations"))
            ).fetchall()
        }
        assert sorted(records) == sorted(loaded.mapping.tables)
        for table, spec in loaded.mapping.tables.items():
            rows, checksum, recorded_service, legacy_table, run_by, ordered = records[table]
            count = conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
            ).fetchone()
            columns = sql.SQL(", ").join(sql.Identifier(c) for c in spec.columns)
            # The recorded checksum is the one of the rows the target holds now.
            now = conn.execute(
                sql.SQL(
                    "SELECT coalesce(sum(('x' || left(md5(record_send(ROW({}))), 16))::bit(64)::bigint), 0)::text FROM {}"
                ).format(columns, sql.Identifier(schema, table))
            ).fetchone()
            assert count == (rows,) == (_legacy_count(moved.legacy[service], spec.legacy_table),)
            assert now == (checksum,), table
            assert (recorded_service, legacy_table, run_by, ordered) == (
                service,
                f"public.{spec.legacy_table}",
                "postgres",
                True,
            )


def test_foreign_keys_hold(moved: Moved) -> None:
    """Every foreign key of every service schema finds its row (checked by query, not only
    trusted to the constraints), and the copy left none NOT VALID."""
    schemas = [s.schema_name for s in CATALOGUE.services.values()]
    with moved.deployment.superuser() as conn:
        keys = conn.execute(
            """
            SELECT con.conrelid::regclass::text, con.confrelid::regclass::text, con.convalidated,
                   ARRAY(SELECT attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute ON attrelid = con.conrelid AND attnum = k.n ORDER BY i),
                   ARRAY(SELECT attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute ON attrelid = con.confrelid AND attnum = k.n ORDER BY i)
            FROM pg_constraint con WHERE con.contype = 'f'
              AND con.connamespace::regnamespace::text = ANY(%s)
            """,
            (schemas,),
        ).fetchall()
        assert len(keys) > 30
        referencing = 0
        for child, parent, validated, columns, parent_columns in keys:
            assert validated
            match = sql.SQL(" AND ").join(
                sql.SQL("p.{} = c.{}").format(sql.Identifier(pc), sql.Identifier(cc))
                for pc, cc in zip(parent_columns, columns, strict=True)
            )
            not_null = sql.SQL(" AND ").join(
                sql.SQL("c.{} IS NOT NULL").format(sql.Identifier(c)) for c in columns
            )
            orphans, total = conn.execute(
                sql.SQL(
                    "SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT FROM {} p WHERE {})), count(*)"
                    " FROM {} c WHERE {}"
                ).format(sql.SQL(parent), match, sql.SQL(child), not_null)
            ).fetchone() or (None, None)
            assert orphans == 0, (child, parent)
            referencing += total or 0
        assert referencing > 500


def test_row_level_security_is_still_forced_and_the_services_see_their_rows(moved: Moved) -> None:
    with moved.deployment.superuser() as conn:
        relaxed = conn.execute(
            """
            SELECT c.oid::regclass::text FROM pg_class c
            WHERE c.relrowsecurity AND NOT c.relforcerowsecurity AND c.relkind = 'r'
              AND c.relnamespace::regnamespace::text LIKE '%\\_schema'
            """
        ).fetchall()
        forced = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relforcerowsecurity AND relkind = 'r'"
            " AND relnamespace::regnamespace::text LIKE '%\\_schema'"
        ).fetchone()
        owners = conn.execute(
            "SELECT DISTINCT relnamespace::regnamespace::text, pg_get_userbyid(relowner)"
            " FROM pg_class WHERE relname = 'edulink_data_migrations'"
        ).fetchall()
    assert relaxed == []
    assert forced == (
        sum(t.row_level_security for s in CATALOGUE.services.values() for t in s.tables.values()),
    )
    assert sorted(owners) == sorted(
        (s.schema_name, s.group_role) for s in CATALOGUE.services.values()
    )
    with moved.deployment.login("auth") as auth:
        assert auth.execute("SELECT count(*) FROM users").fetchone() == (30,)
    with moved.deployment.login("user") as user:
        assert user.execute("SELECT count(*) FROM user_profiles").fetchone() == (25,)


def test_awkward_values_arrive_exactly(moved: Moved) -> None:
    with moved.deployment.superuser() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        bios = conn.execute(
            "SELECT length(bio), bio LIKE 'Lorem ipsum dolor sit amet — ünïcödé ✓ 🚀\n%' FROM user_schema.user_profiles"
            " WHERE length(bio) > 1000000"
        ).fetchall()
        awkward = conn.execute(
            "SELECT count(*) FROM user_schema.user_profiles WHERE bio = %s", (AWKWARD,)
        ).fetchone()
        statement = conn.execute(
            "SELECT length(personal_statement) FROM application_schema.applications"
            " WHERE length(personal_statement) > 2000000"
        ).fetchone()
        names = {
            r[0]
            for r in conn.execute(
                "SELECT first_name || ' ' || last_name FROM user_schema.user_profiles"
            )
        }
        user3 = conn.execute(
            "SELECT locked_until = 'infinity', password_hash IS NULL, email_verified_at"
            " FROM auth_schema.users u WHERE email = 'user.3@example.org'"
        ).fetchone()
        emails = conn.execute(
            "SELECT email FROM auth_schema.users WHERE email LIKE 'élodie.%' ORDER BY email"
        ).fetchall()
        naive = conn.execute("SELECT min(created_at) FROM auth_schema.security_logs").fetchone()
        inet = conn.execute(
            "SELECT count(*) FILTER (WHERE family(ip_address) = 6), count(*) FILTER (WHERE ip_address IS NULL)"
            " FROM auth_schema.user_sessions"
        ).fetchone()
        oauth = conn.execute(
            "SELECT provider, scopes, token_expires_at FROM auth_schema.oauth_providers"
            " WHERE access_token_encrypted IS NOT NULL ORDER BY provider"
        ).fetchall()
        quiet = conn.execute(
            "SELECT DISTINCT quiet_hours_end::text FROM notification_schema.delivery_preferences"
            " WHERE quiet_hours_end IS NOT NULL"
        ).fetchall()
        money = conn.execute(
            "SELECT max(stipend_amount)::text, string_agg(DISTINCT stipend_currency, ',')"
            " FROM internship_schema.internship_postings"
        ).fetchone()
    assert bios == [(len("Lorem ipsum dolor sit amet — ünïcödé ✓ 🚀\n") * 50_000, True)]
    assert awkward is not None and awkward[0] > 5
    assert statement == (len("Statement ✓ ") * 180_000,)
    assert {"Zoë Ngũgĩ", "李 小龙", "محمد الأمين", "Łukasz Żółć", "Renée Müller 🎓"} <= names
    assert user3 == (True, False, None)
    assert [e[0] for e in emails] == [f"élodie.{i}@exämple.org" for i in (0, 10, 15, 20, 25, 5)]
    # 2022-03-27 01:30 in Nairobi (UTC+3) is 22:30 UTC the day before
    assert naive == (datetime(2022, 3, 26, 22, 30, tzinfo=UTC),)
    assert inet == (10, 10)
    assert [(p, s) for p, s, _ in oauth] == [
        ("github", ["openid", "email", "profile"]),
        ("github", ["openid", "email", "profile"]),
        ("google", ["openid", "email", "profile"]),
        ("google", ["openid", "email", "profile"]),
    ]
    assert all(t is not None for _, _, t in oauth)
    assert quiet == [("06:30:15.5",)]
    assert money == ("9999999999.99", "KES,USD")


def test_a_second_run_is_refused_without_resume_and_skips_everything_with_it(
    moved: Moved,
) -> None:
    code, _, stderr = move(
        "institution", moved.legacy["institution"], moved.deployment, target=moved.target
    )
    assert code == 1
    lines = stderr.splitlines()
    assert lines[-1] == "5 problem(s) found by the pre-flight; nothing was written"
    assert lines[0].startswith(
        "legacy/institution.yaml:7:3: tables.institutions: institution_schema.institutions was "
        "copied and verified on "
    )
    assert lines[0].endswith("(3 rows); pass --resume to continue the move, which skips it")
    code, stdout, stderr = move(
        "institution",
        moved.legacy["institution"],
        moved.deployment,
        "--resume",
        target=moved.target,
    )
    assert (code, stderr) == (0, "")
    assert stdout.splitlines() == [
        f"institution_schema.{t}: already copied and verified, skipped"
        for t in (
            "institutions",
            "departments",
            "programs",
            "registration_codes",
            "institution_settings",
        )
    ] + [
        "institution: 0 table(s) copied and verified, 0 rows; 5 skipped (verified by an earlier run)"
    ]


def test_the_target_dsn_is_never_printed(moved: Moved) -> None:
    password = target_dsn(moved.deployment).split("password=")[1].split()[0]
    for _, stdout, stderr in [*moved.outputs.values(), moved.dry_run]:
        assert password not in stdout + stderr
    assert Path(ROOT / "legacy").is_dir()


@pytest.mark.parametrize("moved", ["pgbouncer"], indirect=True)
def test_the_pooled_server_session_is_left_as_it_was_found(moved: Moved) -> None:
    """Every transaction of the move (and the refused and resumed runs above) went through
    this pooler's one server connection of `postgres`; a later client gets it back clean."""
    assert moved.pooler is not None
    probes = {
        "user": "current_user",
        "session user": "session_user",
        "search_path": "current_setting('search_path')",
        "row_security": "current_setting('row_security')",
        "statement_timeout": "current_setting('statement_timeout')",
        "DateStyle": "current_setting('DateStyle')",
        "extra_float_digits": "current_setting('extra_float_digits')",
        "parallel workers": "current_setting('max_parallel_workers_per_gather')",
        "prepared": "(SELECT count(*) FROM pg_prepared_statements)",
        "cursors": "(SELECT count(*) FROM pg_cursors)",
        "advisory locks": "(SELECT count(*) FROM pg_locks"
        " WHERE pid = pg_backend_pid() AND locktype = 'advisory')",
        "server sessions": "(SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND usename = 'postgres')",
    }
    with psycopg.connect(moved.target, autocommit=True, prepare_threshold=None) as conn:
        row = conn.execute(
            sql.SQL("SELECT {}").format(sql.SQL(", ").join(map(sql.SQL, probes.values())))
        ).fetchone()
    assert row is not None
    assert dict(zip(probes, row, strict=True)) == {
        "user": "postgres",
        "session user": "postgres",
        "search_path": '"$user", public, extensions',
        "row_security": "on",
        "statement_timeout": "0",
        "DateStyle": "ISO, MDY",
        "extra_float_digits": "1",
        "parallel workers": "2",
        "prepared": 0,
        "cursors": 0,
        "advisory locks": 0,
        "server sessions": 1,
    }
