"""Shared fixtures: real PostgreSQL servers (15 and 16) and recordings of the real program."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import Cluster, open_cluster, versions_to_test
from tests.support.program import Recording, run_program
from tests.support.report import PROBE_COUNTS



@pytest.fixture(scope="session", params=versions_to_test(), ids=lambda v: f"pg{v}")
def pg_cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    major = int(request.param)
    cluster = open_cluster(major, tmp_path_factory.mktemp(f"pg{major}"))
    try:
        if cluster.major != major:
            pytest.skip(f"EDULINK_TEST_DSN points at PostgreSQL {cluster.major}, not {major}")
        yield cluster
    finally:
        cluster.reset() if not cluster.owns_server else cluster.stop()


_RECORDINGS: dict[str, Recording] = {}


def recorded(stack: str) -> Recording:
    """The real program's registrations for a stack, recorded once per session."""
    if stack not in _RECORDINGS:
        _RECORDINGS[stack] = run_program(stack)
    return _RECORDINGS[stack]


@pytest.fixture(scope="session")
def project_root() -> Path:
    return Path(__file__).resolve().parents[1]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not PROBE_COUNTS:
        return
    terminalreporter.section("access matrix probes")
    for version, counts in sorted(PROBE_COUNTS.items()):
        parts = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        terminalreporter.write_line(f"{version}: {sum(counts.values())} cells ({parts}); 0 disagree with the plan")
