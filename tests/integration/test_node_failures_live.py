"""Node failure modes on the real stack (Redis, a Celery worker and beat, daphne): the worker's
reconcile ticks alone must carry a network partition through Unknown, eviction and healing."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from cluster import k8s, services
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


def node_ready(cluster: Cluster, name: str) -> str:
    node = KubeObject.objects.get(cluster=cluster, kind="Node", name=name)
    return k8s.node_ready_status(node.body)


def test_partition_then_heal_converges(stack) -> None:
    """Partition the busiest worker: Unknown, its pods replaced elsewhere while they stay
    Terminating; heal: Ready again, the Terminating pods killed, 6 pods in all, no restarts."""
    cluster = services.cluster_create(name="split", profile="classroom", speed=60)
    services.node_add(cluster=cluster, name="control-plane", control_plane=True)
    for i in (1, 2, 3):
        services.node_add(cluster=cluster, name=f"node-{i}")
    services.deployment_create(
        cluster=cluster,
        name="nginx",
        image="nginx:1.27",
        replicas=6,
        cpu_request="100m",
        memory_request="128Mi",
    )
    wait_for(lambda: len(running_pods(cluster)) == 6, 60, "6 Running pods")
    per_node: dict[str, int] = {}
    for p in running_pods(cluster):
        per_node[p.node_name] = per_node.get(p.node_name, 0) + 1
    victim = max(sorted(per_node), key=lambda n: per_node[n])
    services.node_partition(cluster=cluster, name=victim)

    wait_for(lambda: node_ready(cluster, victim) == "Unknown", 60, f"{victim} Unknown")

    def moved() -> bool:
        running = running_pods(cluster)
        return len(running) == 6 and all(p.node_name != victim for p in running)

    wait_for(moved, 90, f"6 Running pods off {victim}")
    stuck = KubeObject.objects.filter(cluster=cluster, kind="Pod", node_name=victim)
    assert stuck.exists() and all(p.deleting for p in stuck)

    services.node_heal(cluster=cluster, name=victim)
    wait_for(
        lambda: (
            node_ready(cluster, victim) == "True"
            and not KubeObject.objects.filter(cluster=cluster, kind="Pod", node_name=victim).exists()
        ),
        60,
        f"{victim} Ready and its Terminating pods finalised",
    )
    assert KubeObject.objects.filter(cluster=cluster, kind="Pod").count() == 6
    assert all(k8s.pod_restarts(p.body) == 0 for p in running_pods(cluster))
