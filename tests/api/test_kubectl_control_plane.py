"""Real ``/usr/bin/kubectl`` against a cluster whose etcd or kube-apiserver is stopped, with a
Celery worker and beat reconciling: the errors kubectl prints, reads while etcd is down, an open
watch ended by a stopped apiserver, and everything working again once they are started."""

from __future__ import annotations

import time

import pytest

from cluster import services
from cluster.models import Cluster, KubeObject
from cluster.services.errors import APISERVER_STOPPED

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cluster(kubectl, celery_worker_proc) -> Cluster:
    return Cluster.objects.get(name="demo")


def wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def replicas(cluster: Cluster) -> int:
    body = KubeObject.objects.get(cluster=cluster, kind="Deployment", name="nginx").body
    return int(body["spec"]["replicas"])


def test_etcd_stopped_writes_fail_reads_work(kubectl, cluster: Cluster) -> None:
    """etcd stopped: ``kubectl scale`` and ``kubectl create`` exit 1 with the apiserver's
    InternalError wrapping "etcdserver: request timed out" and saying etcd is stopped; ``kubectl
    get pods`` still lists the six Running pods (served as from the watch cache). Started
    again, the same scale goes through and the controllers act on it."""
    services.component_stop(cluster=cluster, name="etcd")
    scale = kubectl("scale", "deployment/nginx", "--replicas=8")
    assert scale.returncode == 1
    assert "Error from server (InternalError)" in scale.stderr
    assert "etcdserver: request timed out" in scale.stderr
    assert "etcd of this cluster is stopped" in scale.stderr
    create = kubectl("create", "deployment", "web", "--image=nginx")
    assert create.returncode == 1
    assert "etcdserver: request timed out" in create.stderr
    pods = kubectl("get", "pods", "--no-headers")
    assert pods.returncode == 0, pods.stderr
    assert [line.split()[2] for line in pods.stdout.splitlines()] == ["Running"] * 6
    assert replicas(cluster) == 6

    services.component_start(cluster=Cluster.objects.get(pk=cluster.pk), name="etcd")
    scale = kubectl("scale", "deployment/nginx", "--replicas=8")
    assert scale.returncode == 0, scale.stderr
    wait_for(
        lambda: (
            KubeObject.objects.filter(cluster=cluster, kind="Pod", phase="Running").count() == 8
        ),
        what="8 running pods after etcd returned",
    )


def test_apiserver_stopped_refuses_everything_and_ends_watches(
    kubectl, kubectl_popen, cluster: Cluster
) -> None:
    """kube-apiserver stopped: an open ``kubectl get pods -w`` ends; ``kubectl get`` and
    ``kubectl scale`` exit 1 with the 503 saying the apiserver is stopped. Started again, both
    work."""
    with kubectl_popen("get", "pods", "-w") as watch:
        first = watch.stdout.readline()
        assert first.split()[:1] == ["NAME"]
        services.component_stop(cluster=cluster, name="kube-apiserver")
        watch.wait(timeout=20)
        assert watch.returncode is not None
    get = kubectl("get", "pods")
    assert get.returncode == 1
    assert "ServiceUnavailable" in get.stderr
    assert APISERVER_STOPPED.split(":")[0] in get.stderr
    scale = kubectl("scale", "deployment/nginx", "--replicas=7")
    assert scale.returncode == 1
    assert APISERVER_STOPPED.split(":")[0] in scale.stderr
    assert replicas(cluster) == 6

    services.component_start(cluster=Cluster.objects.get(pk=cluster.pk), name="kube-apiserver")
    get = kubectl("get", "pods", "--no-headers")
    assert get.returncode == 0, get.stderr
    assert len(get.stdout.splitlines()) == 6
    scale = kubectl("scale", "deployment/nginx", "--replicas=7")
    assert scale.returncode == 0, scale.stderr
    wait_for(
        lambda: (
            KubeObject.objects.filter(cluster=cluster, kind="Pod", phase="Running").count() == 7
        ),
        what="7 running pods after the apiserver returned",
    )
