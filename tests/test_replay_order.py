"""`pulumi up` runs independent resources in parallel; the result must not depend on it.

Every stack's recording is replayed in dependency order without a retry, and the prod
program replayed in several random orders that respect the dependencies reaches the same
privileges, ownerships, roles and foreign keys.
"""

from __future__ import annotations

import pytest

from tests.support.cluster import Cluster
from tests.support.deploy import deploy
from tests.support.program import recorded
from tests.support.snapshot import snapshot

SEEDS = (11, 23, 97)


def _state(
    pg_cluster: Cluster, stack: str, seed: int | None
) -> dict[str, list[tuple[object, ...]]]:
    recording = recorded(stack)
    deployment = deploy(pg_cluster, recording, seed)
    roles = sorted(str(r.inputs["name"]) for r in recording.of_type("postgresql:index/role:Role"))
    schemas = sorted(
        str(r.inputs["name"]) for r in recording.of_type("postgresql:index/schema:Schema")
    )
    with deployment.superuser() as conn:
        return snapshot(conn, [*roles, "postgres"], schemas)


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_each_stack_replays_in_dependency_order(pg_cluster: Cluster, stack: str) -> None:
    state = _state(pg_cluster, stack, None)
    assert len(state["roles"]) == 13  # 6 groups, 6 logins, postgres
    assert {row[0] for row in state["tables"]} == {row[0] for row in state["schemas"]}


def test_shuffled_orders_reach_the_same_database(pg_cluster: Cluster) -> None:
    reference = _state(pg_cluster, "prod", None)
    assert reference["columns"], "column grants must exist for the comparison to mean anything"
    for seed in SEEDS:
        assert _state(pg_cluster, "prod", seed) == reference, f"seed {seed}"
