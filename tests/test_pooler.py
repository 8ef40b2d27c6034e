"""Through Supabase's kind of transaction pooler (PgBouncer, transaction mode, one server
connection per user): the platform's own code assumes no session state.

What makes that hold: every statement runs inside an explicit transaction; role and
search_path are `SET LOCAL`; advisory locks are transaction-scoped (`pg_advisory_xact_lock`);
psycopg never prepares statements (`prepare_threshold=None`); service roles carry their
search_path and timeouts on the role itself. The postgresql provider's own resources are not
run through the pooler: its `SET statement_timeout` is session-level (provider notes §1.2),
so the admin connection Pulumi uses stays direct.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from edulink_db.audit.run import run_audit
from edulink_db.connection import ConnectionSettings
from edulink_db.migrations.runner import apply_migrations, read_history
from edulink_db.project import Project
from edulink_db.rls.apply import SecurityState, apply_changes, plan_changes, read_state
from tests.support.cluster import ADMIN_PASSWORD, ADMIN_ROLE, Cluster
from tests.support.deploy import Deployment, admin_connection
from tests.support.pgbouncer import Pooler, settings_through, transaction_pooler
from tests.support.probes import probe_matrix
from tests.support.program import recorded
from tests.support.replay import replay


@pytest.fixture(scope="module")
def pooled(pg_cluster: Cluster) -> Iterator[tuple[Deployment, Pooler]]:
    """prod replayed with every dynamic resource (migrations, RLS) going through PgBouncer."""
    recording = recorded("prod")
    pg_cluster.reset()
    database = pg_cluster.create_database()
    passwords = {ADMIN_ROLE: ADMIN_PASSWORD}
    passwords |= {
        str(r.inputs["name"]): str(r.inputs["password"])
        for r in recording.of_type("postgresql:index/role:Role")
        if r.inputs.get("password")
    }
    with transaction_pooler(pg_cluster, passwords) as pooler:
        through = settings_through(pooler, admin_connection(pg_cluster, database))
        log = replay(recording, pg_cluster.admin_dsn(database), through)
        yield Deployment(pg_cluster, database, recording, log), pooler


def test_a_deploy_through_the_pooler_yields_the_planned_matrix(
    pooled: tuple[Deployment, Pooler], project: Project
) -> None:
    deployment, _ = pooled
    report = probe_matrix(deployment.cluster, deployment.database, deployment.recording, project)
    assert report.mismatches == []


def test_nothing_leaks_into_the_shared_server_session(pooled: tuple[Deployment, Pooler]) -> None:
    deployment, pooler = pooled
    settings = ConnectionSettings.from_mapping(
        settings_through(pooler, deployment.admin_connection())
    )
    migrations = deployment.recording.of_type("pulumi-python:dynamic/edulink-db:ServiceMigrations")
    plan_steps = {
        str(m.inputs["schema"]): [
            (s["version"], s["name"], s["checksum"]) for s in m.inputs["steps"]
        ]
        for m in migrations
    }
    assert len(plan_steps) == 6 and all(plan_steps.values())
    # the deploy above ran through this very pooler: every planned file is recorded applied
    applied = {
        schema: [(a.version, a.name, a.checksum) for a in read_history(settings, schema) or []]
        for schema in plan_steps
    }
    assert applied == plan_steps
    with psycopg.connect(settings.conninfo(), autocommit=True, prepare_threshold=None) as conn:
        state = conn.execute(
            "SELECT current_user, current_setting('search_path'), current_setting('statement_timeout'),"
            " (SELECT count(*) FROM pg_prepared_statements)"
        ).fetchone()
    assert state == ("postgres", '"$user", public, extensions', "0", 0)


def test_migrations_serialise_through_the_pooler(
    pooled: tuple[Deployment, Pooler], project: Project
) -> None:
    """Two applies at once, both through PgBouncer: the transaction-scoped lock holds."""
    deployment, pooler = pooled
    settings = ConnectionSettings.from_mapping(
        settings_through(pooler, deployment.admin_connection())
    )
    service = project.plan.service("institution")
    steps = list(service.migrations.steps)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            apply_migrations(settings, service.name, service.schema.name, service.group.name, steps)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [a.version for a in read_history(settings, service.schema.name) or []] == [
        s.version for s in steps
    ]


def test_row_security_changes_and_reads_through_the_pooler(
    pooled: tuple[Deployment, Pooler], project: Project
) -> None:
    deployment, pooler = pooled
    settings = ConnectionSettings.from_mapping(
        settings_through(pooler, deployment.admin_connection())
    )
    plan = project.plan.service("user")
    state = SecurityState(plan.row_security, plan.policies)
    assert read_state(settings, state) == state
    without = SecurityState(plan.row_security, plan.policies[1:])
    apply_changes(settings, plan_changes(state, without))
    assert read_state(settings, state) == without
    apply_changes(settings, plan_changes(without, state))
    assert read_state(settings, state) == state


def test_a_service_keeps_its_pinned_settings_through_the_pooler(
    pooled: tuple[Deployment, Pooler], project: Project
) -> None:
    deployment, pooler = pooled
    service = project.plan.service("auth")
    dsn = pooler.dsn(service.login.name, deployment.login_password("auth"), deployment.database)
    with psycopg.connect(dsn, autocommit=True, prepare_threshold=None) as conn:
        row: Any = conn.execute(
            "SELECT current_user, current_setting('search_path'),"
            " (SELECT setting FROM pg_settings WHERE name = 'statement_timeout')"
        ).fetchone()
    assert row == (service.group.name, service.schema.name, str(service.login.statement_timeout_ms))


def test_the_audit_runs_through_the_pooler(
    pooled: tuple[Deployment, Pooler], project: Project
) -> None:
    """One read-only transaction with savepoints and no prepared statements: pooler-safe."""
    deployment, pooler = pooled
    dsn = pooler.dsn(ADMIN_ROLE, ADMIN_PASSWORD, deployment.database)
    report = run_audit(dsn, project.plan, project.catalogue.shapes)
    assert report.findings == [] and report.not_evaluated == []
    assert report.queries == 11
