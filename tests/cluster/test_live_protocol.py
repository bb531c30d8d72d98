"""Snapshot + deltas, proven consistent (STYLE.md #6, after Zulip's verify_action).

For each action, the deltas the services queue for broadcast, applied to the snapshot taken
before, must give exactly a fresh snapshot taken after."""

from __future__ import annotations

import random

import pytest
from django.db import connection

from cluster import broadcast, reconcile, selectors, services
from cluster.models import Cluster

pytestmark = pytest.mark.django_db

T0 = 1_800_000_000.0


def apply(snapshot: dict, deltas: list[dict]) -> dict[tuple[str, str], dict]:
    state = {(o["kind"], o["uid"]): o for o in snapshot["objects"] if o["kind"] != "Event"}
    rv = snapshot["rv"]
    for d in deltas:
        assert d["rv"] == rv + 1, "deltas are gapless and in resourceVersion order"
        rv = d["rv"]
        obj = d["object"]
        if obj["kind"] == "Event":
            continue
        if d["change"] == "DELETED":
            state.pop((obj["kind"], obj["uid"]), None)
        else:
            state[(obj["kind"], obj["uid"])] = obj
    return state


def fresh(cluster: Cluster) -> dict[tuple[str, str], dict]:
    return {
        (o["kind"], o["uid"]): o
        for o in selectors.snapshot(cluster=cluster)["objects"]
        if o["kind"] != "Event"
    }


def queued_deltas(after_rv: int) -> list[dict]:
    """Deltas waiting for the (test-wrapped, never committed) transaction to commit."""
    out: list[dict] = []
    for _, callback, _ in connection.run_on_commit:
        if isinstance(callback, broadcast._Pending):
            for messages in callback.by_cluster.values():
                out.extend(m for m in messages if m["type"] == "delta" and m["rv"] > after_rv)
    return sorted(out, key=lambda m: m["rv"])


ACTIONS = {
    "power-off-and-evict": lambda c, rng: (
        services.node_power_off(cluster=c, name="node-2"),
        reconcile.run_to(c, c.sim_now + 400, rng),
    ),
    "scale-up": lambda c, rng: (
        services.deployment_scale(cluster=c, namespace="default", name="nginx", replicas=9),
        reconcile.run_to(c, c.sim_now + 20, rng),
    ),
    "delete-deployment": lambda c, rng: (
        services.deployment_delete(cluster=c, namespace="default", name="nginx"),
        reconcile.run_to(c, c.sim_now + 20, rng),
    ),
    "cordon-and-add-node": lambda c, rng: (
        services.node_cordon(cluster=c, name="node-1"),
        services.node_add(cluster=c, name="node-9"),
        reconcile.run_to(c, c.sim_now + 5, rng),
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
