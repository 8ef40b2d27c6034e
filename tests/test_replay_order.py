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
    pg_cluster: Cluster, stack: str, seed: int | None, workers: int = 1
) -> dict[str, list[tuple[object, ...]]]:
    recording = recorded(stack)
    deployment = deploy(pg_cluster, recording, seed, workers)
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


def test_parallel_applies_never_race_and_reach_the_same_database(pg_cluster: Cluster) -> None:
    """Everything whose dependencies are met runs at once, as `pulumi up` does: no
    "tuple concurrently updated", because grants on one object are chained and the admin's
    memberships exist before any grant needs them."""
    reference = _state(pg_cluster, "prod", None)
    for seed in SEEDS:
        assert _state(pg_cluster, "prod", seed, workers=16) == reference, f"seed {seed}"
