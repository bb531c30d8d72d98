"""Control-plane outages on the whole stack: Redis, a Celery worker and beat, daphne.

Each component is stopped and started through the service in this process (committed, so the
worker sees it); the worker's reconciles alone must then hold the outage and catch up after it.
The clock runs at 60x, so a few wall seconds are minutes of simulated time.
"""

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


def fresh(cluster: Cluster) -> Cluster:
    return Cluster.objects.get(pk=cluster.pk)


def pods(cluster: Cluster):
    return KubeObject.objects.filter(cluster=cluster, kind="Pod", deleting=False)


def running(cluster: Cluster) -> int:
    return sum(1 for p in pods(cluster) if p.phase == "Running" and k8s.pod_is_ready(p.body))


def sim_wait(cluster: Cluster, seconds: float) -> None:
    """Let the worker run the cluster's clock on by ``seconds`` of simulated time."""
    start = fresh(cluster).sim_now
    wait_for(lambda: fresh(cluster).sim_now >= start + seconds, 30, f"{seconds} simulated s")


@pytest.fixture
def cluster(stack) -> Cluster:
    cluster = services.cluster_create(name="cp", profile="classroom", speed=60)
    services.node_add(cluster=cluster, name="control-plane", control_plane=True)
    for i in (1, 2):
        services.node_add(cluster=cluster, name=f"node-{i}")
    services.deployment_create(
        cluster=cluster, name="web", image="nginx:1.27", replicas=4, cpu_request="100m"
    )
    wait_for(lambda: running(cluster) == 4, 60, "4 running pods")
    return fresh(cluster)


def test_scheduler_outage(cluster: Cluster) -> None:
    """Scheduler stopped: a scale-up's pods stay Pending for a minute of simulated time;
    started, they are bound and run."""
    services.component_stop(cluster=cluster, name="kube-scheduler")
    services.deployment_scale(cluster=cluster, namespace="default", name="web", replicas=6)
    wait_for(lambda: pods(cluster).count() == 6, 20, "6 pods created")
    sim_wait(cluster, 60)
    assert pods(cluster).filter(node_name="").count() == 2
    assert pods(cluster).filter(node_name="", phase="Pending").count() == 2
    services.component_start(cluster=fresh(cluster), name="kube-scheduler")
    wait_for(lambda: running(cluster) == 6, 30, "6 running pods after the restart")


def test_controller_manager_outage(cluster: Cluster) -> None:
    """Controller manager stopped: a deleted pod is not replaced; started, it is."""
    services.component_stop(cluster=cluster, name="kube-controller-manager")
    victim = pods(cluster).first()
    services.pod_delete(cluster=cluster, namespace="default", name=victim.name, grace_period=0)
    sim_wait(cluster, 60)
    assert pods(cluster).count() == 3
    services.component_start(cluster=fresh(cluster), name="kube-controller-manager")
    wait_for(lambda: running(cluster) == 4, 30, "the deleted pod replaced")


@pytest.mark.parametrize("component", ["etcd", "kube-apiserver"])
def test_api_outage(cluster: Cluster, component: str) -> None:
    """etcd or kube-apiserver stopped: a write is refused, the store freezes for minutes of
    simulated time while pods keep running and no node goes NotReady; started, a write works
    and the controllers act on it."""
    services.component_stop(cluster=cluster, name=component)
    rv = fresh(cluster).resource_version
    with pytest.raises(services.Unavailable):
        services.deployment_scale(cluster=cluster, namespace="default", name="web", replicas=5)
    sim_wait(cluster, 120)
    assert fresh(cluster).resource_version == rv
    assert running(cluster) == 4
    services.component_start(cluster=fresh(cluster), name=component)
    services.deployment_scale(cluster=fresh(cluster), namespace="default", name="web", replicas=5)
    wait_for(lambda: running(cluster) == 5, 30, "5 running pods after the restart")
    nodes = KubeObject.objects.filter(cluster=cluster, kind="Node")
    assert all(k8s.node_ready_status(n.body) == "True" for n in nodes)
    assert not KubeObject.objects.filter(
        cluster=cluster, kind="Event", body__reason="NodeNotReady"
    ).exists()
