"""Shared fixtures: real PostgreSQL servers emulating Supabase, one per major under test (15
and 17 by default, the majors Supabase hosts; `EDULINK_PG_VERSIONS=15,16,17` adds pgserver's
16). Also what the session reports at the end, merged from pytest-xdist's workers under `-n`."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg.conninfo import conninfo_to_dict

from edulink_db.project import Project, load_project
from tests.support.cluster import ADMIN_PASSWORD as CLUSTER_ADMIN_PASSWORD
from tests.support.cluster import (
    DSN_ENV,
    Cluster,
    cluster_base_dir,
    open_cluster,
    versions_to_test,
)
from tests.support.deploy import Deployment, deploy
from tests.support.program import recorded, stack_config, with_admin_password
from tests.support.report import KNOWN_SECRETS, LEAKS, PROBE_COUNTS, register_secret, scan


@pytest.fixture(scope="session", params=versions_to_test(), ids=lambda v: f"pg{v}")
def pg_cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """One server per PostgreSQL major for the whole session, or the one in EDULINK_TEST_DSN.

    Roles are cluster-wide, so tests that deploy reset the server first (tests/support/deploy),
    and fixtures drop what they made (`Cluster.isolated`). Leaving the block stops a started
    server, or resets an attached one.
    """
    major: int = request.param
    with cluster_base_dir(major) as base_dir, open_cluster(major, base_dir) as server:
        if server.major != major:
            pytest.skip(f"{DSN_ENV} points at PostgreSQL {server.major}, not {major}")
        register_secret(conninfo_to_dict(server.superuser_dsn()).get("password", ""))
        yield server


@pytest.fixture
def database(pg_cluster: Cluster) -> Iterator[str]:
    """A fresh database with the Supabase emulation; the roles and databases the test made are
    dropped afterwards, and nothing else (a module's `prod` deployment stays)."""
    with pg_cluster.isolated():
        yield pg_cluster.create_database()


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def project(project_root: Path) -> Project:
    """The prod stack's catalogue, settings and plan, as the program compiles them."""
    config, secret = with_admin_password(stack_config("prod"))
    return load_project(project_root, "prod", config, secret)


@pytest.fixture(scope="module")
def prod(pg_cluster: Cluster) -> Iterator[Deployment]:
    """The prod program replayed onto a fresh database; one per test module, since modules
    tamper with it (each restores what it changed). Dropped when the module ends; until then
    the `database` tests of the module leave it standing, whatever their order."""
    with pg_cluster.isolated():
        yield deploy(pg_cluster, recorded("prod"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a server, so `-m "not database"` runs the rest."""
    for item in items:
        if "pg_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.database)


register_secret(CLUSTER_ADMIN_PASSWORD)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Secrets must never reach output, logs or error texts: scan what each test produced."""
    for title, content in report.sections:
        scan(f"{report.nodeid} ({title})", content)
    if report.failed:
        scan(f"{report.nodeid} (failure)", report.longreprtext)


_WORKER_SECRETS: set[str] = set()
"""Under xdist: digests of the secrets the workers registered (the controller's own are in
KNOWN_SECRETS); digests, so no secret crosses a process boundary."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the controller what it found
        workeroutput["edulink_probe_counts"] = {v: dict(c) for v, c in PROBE_COUNTS.items()}
        workeroutput["edulink_leaks"] = list(LEAKS)
        workeroutput["edulink_secrets"] = sorted(_digest(s) for s in KNOWN_SECRETS)
    if LEAKS and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """xdist's controller: take over a finished worker's probe counts, leaks and secrets, so
    the summary and the exit status are those of the whole run. Leaks are found by the worker
    that knew the secret; the controller only fails the session for them."""
    output = getattr(node, "workeroutput", {})
    for version, counts in output.get("edulink_probe_counts", {}).items():
        PROBE_COUNTS[version] = Counter(counts)
    LEAKS.extend(output.get("edulink_leaks", []))
    _WORKER_SECRETS.update(output.get("edulink_secrets", []))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if LEAKS:
        terminalreporter.section("secrets found in test output", red=True)
        for leak in dict.fromkeys(LEAKS):  # under xdist, worker and controller both scan
            terminalreporter.write_line(leak)
    else:
        secrets = {_digest(s) for s in KNOWN_SECRETS} | _WORKER_SECRETS
        terminalreporter.write_line(
            f"secret scan: {len(secrets)} secrets, none in any test's output"
        )
    if not PROBE_COUNTS:
        return
    terminalreporter.section("access matrix probes")
    for version, counts in sorted(PROBE_COUNTS.items()):
        parts = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        terminalreporter.write_line(
            f"{version}: {sum(counts.values())} cells probed ({parts}); 0 disagree with the plan"
        )
