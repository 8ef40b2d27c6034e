"""Faults in the middle of an apply: nothing is left half-done, the next run converges, and
every dynamic provider can be run again over what a failed run left behind."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from components.row_level_security import RowLevelSecurityProvider
from edulink_db.connection import ConnectionSettings
from edulink_db.migrations.runner import MigrationError, apply_migrations, read_history
from edulink_db.project import Project
from edulink_db.rls.apply import SecurityState, read_state
from tests.support import scratch_service
from tests.support.cluster import Cluster
from tests.support.deploy import Deployment
from tests.support.provider_host import hosted
from tests.support.scratch_service import ROLE, SCHEMA, migrations_provider, provider_props, step


@pytest.fixture
def admin(pg_cluster: Cluster, database: str) -> ConnectionSettings:
    return scratch_service.create(pg_cluster, database)


def _terminate_when_sleeping(superuser_dsn: str, stop: threading.Event) -> None:
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        while not stop.is_set():
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'edulink-db' AND query LIKE '%pg_sleep%'"
                " AND state = 'active'"
            ).fetchone()
            if killed and killed[0]:
                return
            time.sleep(0.02)


def test_a_connection_killed_mid_migration_leaves_nothing_and_the_next_run_converges(
    admin: ConnectionSettings, pg_cluster: Cluster, database: str
) -> None:
    slow = step(
        2,
        "CREATE TABLE svc_schema.b (y int); SELECT pg_sleep(30); CREATE TABLE svc_schema.c (z int)",
    )
    steps = [step(1, "CREATE TABLE svc_schema.a (x int)"), slow]
    stop = threading.Event()
    killer = threading.Thread(
        target=_terminate_when_sleeping, args=(pg_cluster.superuser_dsn(database), stop)
    )
    killer.start()
    try:
        with pytest.raises(MigrationError) as failure:
            apply_migrations(admin, "svc", SCHEMA, ROLE, steps)
    finally:
        stop.set()
        killer.join()
    assert "migrations/svc/0002_step2.sql" in str(failure.value)
    # The server ends the session with a FATAL error that reaches the client before the
    # socket closes: the failing file is named with it, on every major.
    assert str(failure.value) == (
        "migrations/svc/0002_step2.sql failed: [57P01] terminating connection due to "
        "administrator command; nothing of this file was applied"
    )
    with psycopg.connect(admin.conninfo()) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (SCHEMA,)
        ).fetchall()
    assert tables == [("a",), ("edulink_migrations",)]  # 0001 committed, nothing of 0002
    assert [a.version for a in read_history(admin, SCHEMA) or []] == [1]
    quick = step(2, "CREATE TABLE svc_schema.b (y int); CREATE TABLE svc_schema.c (z int)")
    assert [a.version for a in apply_migrations(admin, "svc", SCHEMA, ROLE, [steps[0], quick])] == [
        1,
        2,
    ]


def test_migrations_create_over_a_partial_run_adopts_it(admin: ConnectionSettings) -> None:
    steps = [
        step(1, "CREATE TABLE svc_schema.a (x int)"),
        step(2, "CREATE TABLE svc_schema.b (x int)"),
    ]
    apply_migrations(admin, "svc", SCHEMA, ROLE, steps[:1])  # a run that stopped after 0001
    created = migrations_provider().create(provider_props(admin, steps, False))
    assert [line.split()[0] for line in created.outs["applied"]] == [
        "0001_step1.sql",
        "0002_step2.sql",
    ]


def test_migrations_delete_of_what_is_already_gone_succeeds(
    admin: ConnectionSettings, pg_cluster: Cluster, database: str
) -> None:
    props = provider_props(admin, [step(1, "CREATE TABLE svc_schema.a (x int)")], True)
    provider = migrations_provider()
    created = provider.create(props)
    with psycopg.connect(pg_cluster.superuser_dsn(database), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    provider.delete(created.id, created.outs)
    provider.delete(created.id, created.outs)


def test_row_security_create_adopts_delete_tolerates_and_read_reports(
    prod: Deployment, project: Project
) -> None:
    provider = hosted(RowLevelSecurityProvider(), "auth-row-level-security")
    plan = project.plan.service("auth")
    props = {
        "service": "auth",
        **SecurityState(plan.row_security, plan.policies).to_props(),
        "connection": prod.admin_connection(),
    }
    settings = ConnectionSettings.from_mapping(prod.admin_connection())
    # everything already exists after the deploy: adopted, no error
    created = provider.create(props)
    state = SecurityState.from_props(props)
    assert read_state(settings, state) == state
    with prod.superuser() as conn:
        conn.execute("ALTER TABLE auth_schema.users DISABLE ROW LEVEL SECURITY")
    drifted = provider.read(created.id, created.outs)
    assert provider.diff(created.id, drifted, props) is True  # the next up restores it
    outputs = provider.update(created.id, drifted, props)
    assert read_state(settings, state) == state
    provider.delete(created.id, outputs)
    provider.delete(created.id, outputs)  # already gone: still fine
    assert read_state(settings, state) == SecurityState()
    provider.create(props)
    assert read_state(settings, state) == state
