"""Snapshot + deltas, proven consistent (STYLE.md #6, after Zulip's verify_action).

For each action, the deltas the services queue for broadcast, applied to the snapshot taken
before, must give exactly a fresh snapshot taken after."""

from __future__ import annotations

import random

import pytest
from django.db import connection

from cluster import broadcast, reconcile, selectors, services
from cluster.models import Cluster, KubeObject
from cluster.services.objects import object_create, object_delete, object_replace

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


def shop_ingress(service: str = "nginx") -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "shop", "namespace": "default"},
        "spec": {
            "rules": [
                {
                    "host": "shop.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": service, "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ]
        },
    }


def _ingress_replace(cluster: Cluster, body: dict) -> None:
    current = KubeObject.objects.get(cluster=cluster, kind="Ingress", name="shop").body
    body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    object_replace(
        cluster=cluster, kind="Ingress", namespace="default", name="shop", body=body, actor="t"
    )


INGRESS_ACTIONS = {
    # Created, then ingress-nginx publishes its address into the status (a second delta).
    "create-ingress": lambda c, rng: (
        object_create(cluster=c, body=shop_ingress(), namespace="default", actor="t"),
        reconcile.run_to(c, c.sim_now + 5, rng),
    ),
    "change-ingress-rule": lambda c, rng: (
        object_create(cluster=c, body=shop_ingress(), namespace="default", actor="t"),
        reconcile.run_to(c, c.sim_now + 5, rng),
        _ingress_replace(c, shop_ingress(service="web")),
        reconcile.run_to(c, c.sim_now + 5, rng),
    ),
    "delete-ingress": lambda c, rng: (
        object_create(cluster=c, body=shop_ingress(), namespace="default", actor="t"),
        reconcile.run_to(c, c.sim_now + 5, rng),
        object_delete(cluster=c, kind="Ingress", namespace="default", name="shop", actor="t"),
        reconcile.run_to(c, c.sim_now + 5, rng),
    ),
}


@pytest.mark.parametrize("action", list(INGRESS_ACTIONS))
def test_ingress_deltas_applied_to_snapshot_equal_fresh_snapshot(action) -> None:
    """Ingresses are a snapshot kind (the traffic lane draws them): their deltas, including
    the controller's status write, keep a snapshot taken before equal to one taken after."""
    rng = random.Random(3)
    cluster = services.cluster_create(name="p", profile="classroom", wall_now=T0)
    services.node_add(cluster=cluster, name="node-1")
    services.deployment_create(cluster=cluster, name="nginx", image="nginx:1.27", replicas=2)
    services.service_expose_deployment(
        cluster=cluster, namespace="default", deployment="nginx", port=80
    )
    reconcile.run_to(cluster, cluster.sim_now + 30, rng)
    before = selectors.snapshot(cluster=cluster)
    INGRESS_ACTIONS[action](cluster, rng)
    deltas = queued_deltas(before["rv"])
    assert [d["object"]["kind"] for d in deltas if d["object"]["kind"] == "Ingress"]
    after = fresh(cluster)
    assert apply(before, deltas) == after
    drawn = [o for o in after.values() if o["kind"] == "Ingress"]
    if action == "delete-ingress":
        assert drawn == []
    else:
        (view,) = drawn
        assert view["address"] == "203.0.113.1", "the controller's status write reached the view"
        wanted = "web" if action == "change-ingress-rule" else "nginx"
        assert view["rules"][0]["backend"] == {"service": wanted, "port": 80}
