"""The whole stack for real: Redis, a Celery worker (4 threads) and beat, daphne.

Actions are taken through the services in this process (committed, so the subprocesses see
them); the worker's reconcile ticks must then converge the cluster on their own, and a WebSocket
client must see every change in resourceVersion order.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Callable

import pytest
import websockets

from cluster import k8s, reconcile, services
from cluster.models import Cluster, KubeObject

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def running_pods(cluster: Cluster) -> list[KubeObject]:
    return [
        p
        for p in KubeObject.objects.filter(cluster=cluster, kind="Pod")
        if p.phase == "Running" and not p.deleting and k8s.pod_is_ready(p.body)
    ]


def fast_cluster(name: str, workers: int = 3) -> Cluster:
    cluster = services.cluster_create(name=name, profile="classroom", speed=60)
    services.node_add(cluster=cluster, name="control-plane", control_plane=True)
    for i in range(1, workers + 1):
        services.node_add(cluster=cluster, name=f"node-{i}")
    return cluster


def test_deployment_converges_to_six_running_pods(stack) -> None:
    """Beat ticks and the worker's reconciles alone bring 6 replicas to Running, exactly 6."""
    cluster = fast_cluster("live")
    services.deployment_create(
        cluster=cluster,
        name="nginx",
        image="nginx:1.27",
        replicas=6,
        cpu_request="100m",
        memory_request="128Mi",
    )
    wait_for(lambda: len(running_pods(cluster)) == 6, 60, "6 Running pods")
    time.sleep(2)  # a few more ticks: nothing extra appears
    assert KubeObject.objects.filter(cluster=cluster, kind="Pod").count() == 6
    # Which workers get them depends on when each kubelet registered (the unit tests pin the
    # spread on a fixed clock); never the tainted control plane.
    assert "control-plane" not in {p.node_name for p in running_pods(cluster)}


def test_power_off_moves_pods_to_surviving_nodes(stack) -> None:
    """After the simulated timeline, exactly 6 Running pods on the other nodes and none left
    active on the dead one (the evicted ones stay Terminating, as in Kubernetes)."""
    cluster = fast_cluster("heal")
    services.deployment_create(
        cluster=cluster,
        name="nginx",
        image="nginx:1.27",
        replicas=6,
        cpu_request="100m",
        memory_request="128Mi",
    )
    wait_for(lambda: len(running_pods(cluster)) == 6, 60, "6 Running pods")
    # Which workers got the pods depends on when each kubelet registered, so the victim is the
    # busiest worker: powering off an empty node would prove nothing.
    per_node: dict[str, int] = {}
    for p in running_pods(cluster):
        per_node[p.node_name] = per_node.get(p.node_name, 0) + 1
    victim = max(sorted(per_node), key=lambda n: per_node[n])
    assert per_node[victim] >= 2
    services.node_power_off(cluster=cluster, name=victim)

    def node_ready(name: str) -> str:
        node = KubeObject.objects.get(cluster=cluster, kind="Node", name=name)
        return k8s.node_ready_status(node.body)

    # The kubelet stops posting status; after the grace period the controller marks it Unknown.
    wait_for(lambda: node_ready(victim) == "Unknown", 60, f"{victim} Ready=Unknown")

    def healed() -> bool:
        running = running_pods(cluster)
        return len(running) == 6 and all(p.node_name != victim for p in running)

    wait_for(healed, 90, f"6 Running pods off {victim}")
    active_on_dead = [
        p
        for p in KubeObject.objects.filter(cluster=cluster, kind="Pod", node_name=victim)
        if not p.deleting
    ]
    assert active_on_dead == []
    assert node_ready(victim) == "Unknown"
    assert (
        KubeObject.objects.filter(cluster=cluster, kind="Pod").exclude(node_name=victim).count()
        == 6
    )

    services.node_power_on(cluster=cluster, name=victim)
    wait_for(
        lambda: (
            node_ready(victim) == "True"
            and not KubeObject.objects.filter(
                cluster=cluster, kind="Pod", node_name=victim
            ).exists()
        ),
        60,
        f"{victim} Ready again with its terminating pods finalised",
    )


def test_crashed_worker_loses_nothing(stack) -> None:
    """Kill the worker, act while it is down, restart it: the cluster converges anyway."""
    cluster = fast_cluster("crash")
    services.deployment_create(cluster=cluster, name="web", image="nginx:1.27", replicas=3)
    wait_for(lambda: len(running_pods(cluster)) == 3, 60, "3 Running pods")
    stack.celery.stop(crash=True)
    services.deployment_scale(cluster=cluster, namespace="default", name="web", replicas=7)
    time.sleep(1)
    assert len(running_pods(cluster)) == 3
    stack.celery.start()
    wait_for(lambda: len(running_pods(cluster)) == 7, 60, "7 Running pods after the restart")
    assert KubeObject.objects.filter(cluster=cluster, kind="Pod").count() == 7


def test_concurrent_reconciles_never_act_twice(stack) -> None:
    """Many reconciles of one cluster at once (the worker's 4 threads, plus 4 threads here):
    the per-cluster lock lets one act at a time, so there are never duplicate pods or bindings."""
    cluster = fast_cluster("race", workers=4)
    services.deployment_create(cluster=cluster, name="web", image="nginx:1.27", replicas=20)
    stop = time.monotonic() + 8
    errors: list[BaseException] = []

    def hammer() -> None:
        from django.db import connection

        try:
            while time.monotonic() < stop:
                reconcile.advance(cluster.pk, rng=random.Random())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    wait_for(lambda: len(running_pods(cluster)) == 20, 60, "20 Running pods")
    pods = list(KubeObject.objects.filter(cluster=cluster, kind="Pod"))
    assert len(pods) == 20
    scheduled = [
        e
        for e in KubeObject.objects.filter(cluster=cluster, kind="Event").values_list(
            "body", flat=True
        )
        if e["reason"] == "Scheduled"
    ]
    assert sum(e["count"] for e in scheduled) == 20, "each pod bound exactly once"


def test_websocket_gets_snapshot_then_ordered_deltas(stack) -> None:
    """The consumer sends a snapshot, then deltas whose resourceVersions follow it without gaps
    or reordering, even with the worker's threads and this process writing at once."""
    cluster = fast_cluster("ws")
    services.deployment_create(cluster=cluster, name="web", image="nginx:1.27", replicas=2)
    received: list[dict] = []

    async def listen() -> None:
        async with websockets.connect(
            f"{stack.ws_url}/ws/clusters/ws/", origin=stack.url, open_timeout=10
        ) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            received.append(first)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 12
            scaled = False
            while loop.time() < deadline:
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 1))
                except TimeoutError:
                    continue
                received.append(message)
                if not scaled:
                    scaled = True
                    await asyncio.to_thread(_scale_up, cluster)

    asyncio.run(listen())
    snapshot = received[0]
    assert snapshot["type"] == "snapshot"
    assert {o["kind"] for o in snapshot["objects"]} >= {
        "Node",
        "Machine",
        "Namespace",
        "Deployment",
    }
    deltas = [m for m in received[1:] if m["type"] == "delta"]
    assert len(deltas) > 20
    rvs = [d["rv"] for d in deltas]
    assert rvs == list(range(snapshot["rv"] + 1, snapshot["rv"] + 1 + len(rvs))), (
        "gapless, in order"
    )
    assert any(m["type"] == "clock" for m in received[1:])
    kinds = {(d["object"]["kind"], d["actor"]) for d in deltas}
    assert ("Pod", "default-scheduler") in kinds or ("Pod", "replicaset-controller") in kinds


def _scale_up(cluster: Cluster) -> None:
    from django.db import connection

    try:
        services.deployment_scale(cluster=cluster, namespace="default", name="web", replicas=8)
    finally:
        connection.close()
