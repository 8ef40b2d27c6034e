"""Each service's login role holds the limits of its stack: the connection limit refuses the
next session, and the statement timeout cancels a runaway query.

Correctness, not speed: nothing here asserts a duration (benchmarks/load measures throughput).
Runs on the replayed prod database; limits come from the plan compiled from Pulumi.prod.yaml.
"""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from edulink_db.project import Project
from tests.support.deploy import Deployment

SERVICES = ("auth", "institution", "user", "notification", "application", "internship")


def wait_until_no_session_of(prod: Deployment, role: str) -> None:
    """Backends of closed connections exit asynchronously; a lingering one would make the
    limit bite one connection early. A precondition, not a measurement."""
    with prod.superuser() as su:
        for _ in range(200):
            row = su.execute(
                "select count(*) from pg_stat_activity where usename = %s", [role]
            ).fetchone()
            if row == (0,):
                return
            time.sleep(0.05)
    pytest.fail(f"sessions of {role} are still open")


@pytest.mark.parametrize("service", SERVICES)
def test_the_connection_after_the_limit_is_refused(
    prod: Deployment, project: Project, service: str
) -> None:
    login = project.plan.service(service).login
    assert login.connection_limit > 0
    wait_until_no_session_of(prod, login.name)
    with contextlib.ExitStack() as stack:
        sessions = [stack.enter_context(prod.login(service)) for _ in range(login.connection_limit)]
        for session in sessions:
            assert session.execute("select session_user").fetchone() == (login.name,)
        with pytest.raises(psycopg.OperationalError) as refused:
            psycopg.connect(prod.login_dsn(service, login.name), connect_timeout=10).close()
        assert f'too many connections for role "{login.name}"' in str(refused.value)


@pytest.mark.parametrize("service", SERVICES)
def test_a_login_session_carries_the_planned_statement_timeout(
    prod: Deployment, project: Project, service: str
) -> None:
    login = project.plan.service(service).login
    assert login.statement_timeout_ms is not None
    with prod.login(service) as session:
        row = session.execute(
            "select setting::int from pg_settings where name = 'statement_timeout'"
        ).fetchone()
    assert row == (login.statement_timeout_ms,)


def test_a_runaway_query_is_cancelled_by_the_statement_timeout(
    prod: Deployment, project: Project
) -> None:
    """pg_sleep one second beyond each role's timeout, all services at once (so the test
    takes about as long as the longest timeout, not their sum); the session survives."""

    def run_away(service: str) -> tuple[Any, ...]:
        timeout_ms = project.plan.service(service).login.statement_timeout_ms
        assert timeout_ms is not None
        with prod.login(service) as session:
            try:
                session.execute("select pg_sleep(%s)", [timeout_ms / 1000 + 1])
            except psycopg.errors.QueryCanceled as error:
                session.rollback()
                alive = session.execute("select 1").fetchone()
                return error.sqlstate, error.diag.message_primary, alive
            return None, None, None

    with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:
        outcomes = dict(zip(SERVICES, pool.map(run_away, SERVICES), strict=True))
    assert outcomes == {
        service: ("57014", "canceling statement due to statement timeout", (1,))
        for service in SERVICES
    }
