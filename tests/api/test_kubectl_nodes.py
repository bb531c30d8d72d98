"""Real ``/usr/bin/kubectl`` against the node failure modes (docs/nodes.md), with a Celery worker
and beat reconciling: drain refuses a pod without a controller in kubectl's own words until
``--force``; cordon/uncordon; memory pressure seen through ``kubectl get/describe``."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest

from cluster import k8s, services
from cluster.models import Cluster, KubeObject

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BARE_POD = textwrap.dedent(
    """
    apiVersion: v1
    kind: Pod
    metadata:
      name: bare
    spec:
      nodeName: node-2
      containers:
      - name: c
        image: nginx:1.27
    """
)


@pytest.fixture
def cluster(kubectl, celery_worker_proc) -> Cluster:
    return Cluster.objects.get(name="demo")


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def pods_on(cluster: Cluster, node: str) -> set[str]:
    return set(
        KubeObject.objects.filter(cluster=cluster, kind="Pod", node_name=node).values_list(
            "name", flat=True
        )
    )


def test_drain_refuses_unmanaged_pod_until_forced(kubectl, cluster, tmp_path: Path) -> None:
    manifest = tmp_path / "bare.yaml"
    manifest.write_text(BARE_POD)
    assert ok(kubectl("apply", "-f", str(manifest))) == "pod/bare created"
    refused = kubectl("drain", "node-2", "--ignore-daemonsets", "--timeout=60s")
    assert refused.returncode != 0
    assert "node/node-2 cordoned" in refused.stdout
    assert "Pods declare no controller (use --force to override): default/bare" in (
        refused.stderr
    ) or "Pods that declare no controller (use --force to override): default/bare" in (
        refused.stderr
    )
    assert "bare" in pods_on(cluster, "node-2"), "nothing evicted after a refusal"
    out = ok(
        kubectl(
            "drain",
            "node-2",
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            "--force",
            "--timeout=90s",
        )
    )
    assert "node/node-2 already cordoned" in out
    assert "pod/bare evicted" in out
    assert out.endswith("node/node-2 drained")
    assert not pods_on(cluster, "node-2")
    nodes = ok(kubectl("get", "node", "node-2", "--no-headers"))
    assert "Ready,SchedulingDisabled" in nodes
    assert ok(kubectl("uncordon", "node-2")) == "node/node-2 uncordoned"


def test_memory_pressure_through_kubectl(kubectl, cluster) -> None:
    """The teacher's switch, then what kubectl shows: the MemoryPressure condition in
    describe, the memory-pressure taint, and the Node events."""
    services.node_pressure_set(cluster=cluster, name="node-3", kind="memory", on=True)

    def tainted() -> bool:
        node = KubeObject.objects.get(cluster=cluster, kind="Node", name="node-3")
        return any(
            t["key"] == "node.kubernetes.io/memory-pressure"
            for t in node.body["spec"].get("taints", [])
        )

    wait_for(tainted, what="memory-pressure taint")
    node = KubeObject.objects.get(cluster=cluster, kind="Node", name="node-3")
    assert k8s.get_condition(node.body["status"], "MemoryPressure")["status"] == "True"
    described = ok(kubectl("describe", "node", "node-3"))
    assert "node.kubernetes.io/memory-pressure:NoSchedule" in described
    assert "KubeletHasInsufficientMemory" in described
    assert "NodeHasInsufficientMemory" in described
