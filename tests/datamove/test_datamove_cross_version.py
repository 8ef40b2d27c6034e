"""The legacy server and the target run different PostgreSQL majors (15 and 17, the majors
Supabase hosts; 15 for a 16 target): the checksums, computed by each server on its own, still
agree."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.datamove.conftest import make_legacy, move
from tests.datamove.legacy_world import World
from tests.support.cluster import Cluster, ClusterError, cluster_base_dir, start_cluster
from tests.support.deploy import deploy
from tests.support.program import recorded


@pytest.fixture
def other_major(pg_cluster: Cluster) -> Iterator[Cluster]:
    major = 17 if pg_cluster.major == 15 else 15
    # Not under pytest's basetemp: another pytest run makes it 0700 again (cluster_base_dir).
    with cluster_base_dir(major) as base:
        try:
            cluster = start_cluster(major, base)
        except ClusterError as error:  # pragma: no cover - a machine with one major only
            pytest.skip(f"no PostgreSQL {major} here: {error}")
        with cluster:
            yield cluster


def test_a_legacy_server_of_another_major_verifies_the_same(
    pg_cluster: Cluster, other_major: Cluster, world: World
) -> None:
    target = deploy(pg_cluster, recorded("prod"))
    for service in ("auth", "institution", "user"):
        code, stdout, stderr = move(service, make_legacy(other_major, service, world), target)
        assert (code, stderr) == (0, ""), service
        assert "copied and verified" in stdout.splitlines()[-1]
