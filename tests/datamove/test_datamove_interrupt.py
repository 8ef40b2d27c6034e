"""A run interrupted mid-table keeps no partial table, and a resumed run completes.

The CLI runs in a subprocess (`running`) on a legacy auth database with 300,000 security
events; the test waits until PostgreSQL's own COPY progress view shows rows of that table
arriving, then interrupts: by killing the process, by terminating one of its server
sessions, or by restarting or crashing the target or the legacy server (a second server of
the same major, started for this module, so the session's server is never restarted under
other tests).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any, Literal

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from edulink_db.datamove.run import APPLICATION_NAME
from tests.datamove.conftest import (
    PROCESS_TIMEOUT_S,
    make_legacy,
    move,
    running,
    target_dsn,
    wait_for,
)
from tests.datamove.legacy_world import World
from tests.support.cluster import (
    ADMIN_PASSWORD,
    ADMIN_ROLE,
    Cluster,
    cluster_base_dir,
    start_cluster,
)
from tests.support.deploy import Deployment, deploy
from tests.support.pgbouncer import transaction_pooler
from tests.support.program import recorded
from tests.support.report import register_secret

BULK_EVENTS = 300_000


@pytest.fixture
def target(pg_cluster: Cluster) -> Deployment:
    return deploy(pg_cluster, recorded("prod"))


@pytest.fixture
def big_legacy(pg_cluster: Cluster, target: Deployment, world: World) -> str:
    return bulk_legacy(pg_cluster, world)


@pytest.fixture(scope="module")
def spare(pg_cluster: Cluster) -> Iterator[Cluster]:
    """A server of the session's major that tests may restart and crash."""
    with (
        cluster_base_dir(pg_cluster.major) as base,
        start_cluster(pg_cluster.major, base) as server,
    ):
        register_secret(conninfo_to_dict(server.superuser_dsn()).get("password", ""))
        yield server


def bulk_legacy(cluster: Cluster, world: World) -> str:
    """A legacy auth database on `cluster` with BULK_EVENTS more security events."""
    dsn = make_legacy(cluster, "auth", world)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO accounts_securityevent (id, user_id, event, level, ip_address,"
            " user_agent, details, created)"
            " SELECT gen_random_uuid(), u.ids[1 + n %% array_length(u.ids, 1)], 'LOGIN_FAILED',"
            " 'Warning', '198.51.100.7', 'bulk ✓', '{\"n\": ' || n || '}',"
            " timestamp '2023-01-01' + n * interval '1 second'"
            " FROM generate_series(1, %s) n, (SELECT array_agg(id) AS ids FROM auth_user) u",
            (BULK_EVENTS,),
        )
    return dsn


def copy_in_progress(deployment: Deployment) -> int:
    """The pid of the target session copying security_logs, once 10,000 rows arrived."""
    return int(
        wait_for(
            deployment,
            "SELECT pid FROM pg_stat_progress_copy"
            " WHERE relid = 'auth_schema.security_logs'::regclass AND tuples_processed >= 10000",
        )
    )


def sessions_gone(deployment: Deployment) -> None:
    wait_for(
        deployment,
        "SELECT true WHERE NOT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = %s)",
        (APPLICATION_NAME,),
    )


def state(deployment: Deployment) -> dict[str, Any]:
    with deployment.superuser() as conn:
        return {
            "security_logs": conn.execute(
                "SELECT count(*) FROM auth_schema.security_logs"
            ).fetchone(),
            "users": conn.execute("SELECT count(*) FROM auth_schema.users").fetchone(),
            "recorded": [
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM auth_schema.edulink_data_migrations ORDER BY 1"
                )
            ],
            "forced": conn.execute(
                "SELECT relforcerowsecurity FROM pg_class"
                " WHERE oid = 'auth_schema.security_logs'::regclass"
            ).fetchone(),
        }


INTERRUPTED_END = (
    "); the table's transaction was rolled back, nothing of it was kept. Run again with "
    "--resume to continue\n"
)
DONE_BEFORE = [
    "email_verification_tokens",
    "oauth_providers",
    "password_reset_tokens",
    "user_sessions",
    "users",
]


def assert_resumes(deployment: Deployment, source: str, target: str | None = None) -> None:
    code, stdout, stderr = move("auth", source, deployment, "--resume", target=target)
    assert (code, stderr) == (0, "")
    assert stdout.splitlines()[-1] == (
        f"auth: 1 table(s) copied and verified, {BULK_EVENTS + 60:,} rows; "
        "5 skipped (verified by an earlier run)"
    )
    after = state(deployment)
    assert after["security_logs"] == (BULK_EVENTS + 60,)
    assert after["recorded"] == sorted([*DONE_BEFORE, "security_logs"])
    assert after["forced"] == (True,)


def test_killing_the_process_mid_table_keeps_no_partial_table(
    target: Deployment, big_legacy: str
) -> None:
    with running("auth", big_legacy, target_dsn(target)) as process:
        copy_in_progress(target)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=PROCESS_TIMEOUT_S)
    sessions_gone(target)
    assert state(target) == {
        "security_logs": (0,),
        "users": (30,),
        "recorded": DONE_BEFORE,
        "forced": (True,),
    }
    assert_resumes(target, big_legacy)


@pytest.mark.parametrize("side", ["target", "legacy"])
def test_a_terminated_session_ends_the_run_with_a_clear_message(
    target: Deployment, big_legacy: str, side: str
) -> None:
    with running("auth", big_legacy, target_dsn(target)) as process:
        pid = copy_in_progress(target)
        if side == "legacy":
            with psycopg.connect(big_legacy, autocommit=True) as legacy:
                row = legacy.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
                    " AND datname = current_database() AND query LIKE 'COPY (%%'",
                    (APPLICATION_NAME,),
                ).fetchone()
                assert row is not None
                pid = row[0]
        with target.superuser() as conn:
            assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        stdout, stderr = process.communicate(timeout=PROCESS_TIMEOUT_S)
    assert process.returncode == 2
    assert stdout.splitlines()[-1].startswith("auth_schema.oauth_providers: 8 rows copied")
    assert stderr.startswith(
        f"error: auth_schema.security_logs: the copy was interrupted: the {side} connection "
        "was lost ("
    )
    assert stderr.endswith(INTERRUPTED_END)
    sessions_gone(target)
    assert state(target)["security_logs"] == (0,)
    assert state(target)["recorded"] == DONE_BEFORE
    assert_resumes(target, big_legacy)


@pytest.mark.parametrize(
    ("restarted", "mode", "through_pooler"),
    [
        pytest.param("target", "fast", False, id="target-restarted"),
        pytest.param("target", "immediate", False, id="target-crashed"),
        pytest.param("legacy", "immediate", False, id="legacy-crashed"),
        pytest.param("target", "fast", True, id="target-restarted-behind-pgbouncer"),
    ],
)
def test_a_server_restart_mid_table_keeps_no_partial_table(
    pg_cluster: Cluster,
    spare: Cluster,
    world: World,
    restarted: str,
    mode: Literal["fast", "immediate"],
    through_pooler: bool,
) -> None:
    """The restarted server is `spare`; the other side lives on the session's server. Behind
    PgBouncer, the pooler stays up while the server restarts, as Supabase's does, and the
    resumed run goes through the same pooler."""
    target_cluster, legacy_cluster = (
        (spare, pg_cluster) if restarted == "target" else (pg_cluster, spare)
    )
    deployment = deploy(target_cluster, recorded("prod"))
    source = bulk_legacy(legacy_cluster, world)
    with ExitStack() as stack:
        target = target_dsn(deployment)
        if through_pooler:
            pooler = stack.enter_context(
                transaction_pooler(target_cluster, {ADMIN_ROLE: ADMIN_PASSWORD})
            )
            target = pooler.dsn(ADMIN_ROLE, ADMIN_PASSWORD, deployment.database)
        with running("auth", source, target) as process:
            copy_in_progress(deployment)
            spare.restart(mode)
            stdout, stderr = process.communicate(timeout=PROCESS_TIMEOUT_S)
        assert process.returncode == 2, stderr
        assert stdout.splitlines()[-1].startswith("auth_schema.oauth_providers: 8 rows copied")
        assert stderr.startswith(
            "error: auth_schema.security_logs: the copy was interrupted: the "
            f"{restarted} connection was lost ("
        ), stderr
        assert stderr.endswith(INTERRUPTED_END)
        assert state(deployment) == {
            "security_logs": (0,),
            "users": (30,),
            "recorded": DONE_BEFORE,
            "forced": (True,),
        }
        assert_resumes(deployment, source, target)
