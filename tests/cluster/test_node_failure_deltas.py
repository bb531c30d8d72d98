"""The live view stays exact through the node failure modes: the deltas each one broadcasts,
applied to the snapshot taken before, equal a fresh snapshot after (as test_live_protocol does
for the other actions)."""

from __future__ import annotations

import random

import pytest

from cluster import reconcile, selectors, services
from tests.cluster.test_live_protocol import T0, apply, fresh, queued_deltas

pytestmark = pytest.mark.django_db

ACTIONS = {
    "kubelet-stop-evict-start": lambda c, rng: (
        services.node_kubelet_stop(cluster=c, name="node-2"),
        reconcile.run_to(c, c.sim_now + 60, rng),
        services.node_kubelet_start(cluster=c, name="node-2"),
        reconcile.run_to(c, c.sim_now + 5, rng),
    ),
    "partition-and-heal": lambda c, rng: (
        services.node_partition(cluster=c, name="node-1"),
        reconcile.run_to(c, c.sim_now + 60, rng),
        services.node_heal(cluster=c, name="node-1"),
        reconcile.run_to(c, c.sim_now + 5, rng),
    ),
    "memory-pressure-evicts": lambda c, rng: (
        services.node_pressure_set(cluster=c, name="node-3", kind="memory", on=True),
        reconcile.run_to(c, c.sim_now + 10, rng),
    ),
    "drain": lambda c, rng: (
        services.node_drain(cluster=c, name="node-1"),
        reconcile.run_to(c, c.sim_now + 10, rng),
    ),
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_deltas_applied_to_snapshot_equal_fresh_snapshot(action) -> None:
    rng = random.Random(3)
    cluster = services.cluster_create(name="p", profile="classroom", wall_now=T0)
    for name in ("node-1", "node-2", "node-3"):
        services.node_add(cluster=cluster, name=name)
    services.deployment_create(cluster=cluster, name="nginx", image="nginx:1.27", replicas=6)
    reconcile.run_to(cluster, cluster.sim_now + 30, rng)
    before = selectors.snapshot(cluster=cluster)
    ACTIONS[action](cluster, rng)
    deltas = queued_deltas(before["rv"])
    assert deltas, "the action produced deltas"
    assert apply(before, deltas) == fresh(cluster)
