"""Rollback of a moved service: its schema copied back into a standalone legacy-shaped
database by the inverse of its mapping, and compared row by row with the legacy source.

Notification goes back into a database made with its legacy DDL (as the legacy service's
own migrations made it): every column of every table comes back, exactly where the mapping
copied or reversibly emptied it (`nullif`), and as the mapping normalised it elsewhere
(`lower(status)`: the legacy spelling is not known, so those compare through the mapping).
Auth cannot go back into its legacy DDL (usernames, names and password hashes did not move),
which is refused before anything is written; into an empty database it comes back with
what can, and says what cannot.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql

from edulink_db.catalogue.load import load_catalogue
from edulink_db.datamove.mapping import load_mapping
from edulink_db.rollback.inverse import InverseColumn, InversePlan, invert_mapping
from tests.datamove.legacy_world import World, sections
from tests.operations.conftest import ROOT, Platform, moved_platform, operate
from tests.support.cluster import Cluster

CATALOGUE = load_catalogue(ROOT)


@pytest.fixture(scope="module")
def platform(pg_cluster: Cluster, world: World) -> Platform:
    return moved_platform(pg_cluster, world)


def inverse(service: str) -> InversePlan:
    return invert_mapping(load_mapping(ROOT, service, CATALOGUE))


def legacy_shaped(cluster: Cluster, service: str) -> str:
    """An empty database with the service's legacy tables; a superuser DSN to it."""
    database = cluster.create_database()
    dsn = cluster.superuser_dsn(database)
    ddl = sections()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(ddl["common"].encode())
        conn.execute(ddl[service].encode())
    return dsn


def _values(
    dsn: str, table: str, expressions: dict[str, sql.Composable]
) -> dict[str, tuple[Any, ...]]:
    """Rows of a legacy table by id, each expression's value as text."""
    query = sql.SQL("SELECT id::text, {} FROM {}").format(
        sql.SQL(", ").join(sql.SQL("({})::text").format(e) for e in expressions.values()),
        sql.Identifier("public", table),
    )
    with psycopg.connect(dsn) as conn:
        return {row[0]: tuple(row[1:]) for row in conn.execute(query).fetchall()}


def _compared(column: InverseColumn, transform: str | None) -> sql.Composable:
    """What to compare: the legacy column itself, or the mapping's transform of it where the
    rollback can only give back the normalised value."""
    if column.fidelity == "normalised" and transform is not None:
        return sql.SQL(transform)  # type: ignore[arg-type]
    return sql.Identifier(column.legacy)


def test_notification_rolls_back_into_its_legacy_schema_row_by_row(
    pg_cluster: Cluster, platform: Platform
) -> None:
    target = legacy_shaped(pg_cluster, "notification")
    code, stdout, stderr = operate(
        "rollback",
        "--service",
        "notification",
        "--to",
        target,
        "--root",
        str(ROOT),
        env={"EDULINK_DSN": platform.admin_dsn},
    )
    assert (code, stderr) == (0, ""), stdout
    lines = stdout.splitlines()
    assert lines[0].startswith(
        "notification_schema.notification_channels → public.notifications_channel (filled): "
    )
    assert lines[-2] == (
        "legacy tables the mapping skipped, not given back: django_migrations, "
        "django_content_type, django_admin_log, django_session"
    )
    plan = inverse("notification")
    loaded = load_mapping(ROOT, "notification", CATALOGUE)
    compared = 0
    for table in plan.tables:
        assert table.lost == ()  # notification loses nothing on the way back
        transforms = {
            c.target: (c.transform.sql if c.transform else None)
            for c in loaded.columns[table.target]
        }
        expressions = {c.legacy: _compared(c, transforms[c.target]) for c in table.columns}
        source = _values(platform.legacy["notification"], table.legacy, expressions)
        rolled = _values(target, table.legacy, expressions)
        assert rolled == source, table.legacy
        compared += len(source) * len(expressions)
    fidelity = {(t.legacy, c.legacy): c.fidelity for t in plan.tables for c in t.columns}
    assert fidelity[("notifications_notification", "status")] == "normalised"
    assert fidelity[("notifications_channel", "provider")] == "reversed"
    assert fidelity[("notifications_preference", "quiet_start")] == "exact"
    assert compared > 1000
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM django_migrations").fetchone() == (0,)


def test_a_legacy_schema_the_rollback_cannot_fill_is_refused_and_left_empty(
    pg_cluster: Cluster, platform: Platform
) -> None:
    target = legacy_shaped(pg_cluster, "auth")
    code, stdout, stderr = operate(
        "rollback",
        "--service",
        "auth",
        "--to",
        target,
        "--root",
        str(ROOT),
        env={"EDULINK_DSN": platform.admin_dsn},
    )
    assert (code, stdout) == (1, "")
    problems = stderr.splitlines()
    assert problems[-1] == "7 problem(s) found; nothing was changed"
    assert problems[:-1] == sorted(problems[:-1])
    text = "\n".join(problems)
    for column in ("username", "first_name", "last_name", "is_superuser"):
        assert (
            f"public.auth_user.{column} is NOT NULL without a default, and the rollback cannot "
            "give it back (dropped by the mapping)"
        ) in text
    assert (
        "public.auth_user.password is NOT NULL without a default, and the rollback cannot give "
        "it back (read by users.password_hash = CASE WHEN password = '' OR password LIKE '!%' "
        "THEN NULL ELSE password END: a searched CASE has no inverse)"
    ) in text
    assert "public.social_auth_usersocialauth.extra_data is NOT NULL" in text
    assert "public.accounts_securityevent.created is NOT NULL" in text
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM auth_user").fetchone() == (0,)


def test_auth_rolls_back_into_an_empty_database_with_what_can_come_back(
    pg_cluster: Cluster, platform: Platform
) -> None:
    target = pg_cluster.superuser_dsn(pg_cluster.create_database())
    code, stdout, stderr = operate(
        "rollback",
        "--service",
        "auth",
        "--to",
        target,
        "--root",
        str(ROOT),
        env={"EDULINK_DSN": platform.admin_dsn},
    )
    assert (code, stderr) == (0, ""), stdout
    lines = stdout.splitlines()
    assert lines[0].startswith("auth_schema.users → public.auth_user (created): 30 rows, checksum ")
    assert lines[0].endswith(" over 10 of 12 columns")
    assert "  not given back: username (dropped by the mapping)" in lines
    assert lines[-1].startswith(
        "auth: 6 table(s), 158 rows rolled back into supabase_admin@127.0.0.1:"
    )
    plan = inverse("auth")
    users = plan.table("users")
    assert users is not None
    exact = {c.legacy: sql.Identifier(c.legacy) for c in users.columns if c.fidelity == "exact"}
    assert _values(target, "auth_user", exact) == _values(
        platform.legacy["auth"], "auth_user", exact
    )
    with psycopg.connect(target) as conn:
        key = conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'public.auth_user'::regclass AND contype = 'p'"
        ).fetchone()
    assert key == ("PRIMARY KEY (id)",)
