"""Real ``/usr/bin/kubectl top`` against the simulated metrics-server (metrics.k8s.io/v1beta1):
pods (one namespace, all namespaces, per container, by label), nodes, and the API's own shape
and refusals."""

from __future__ import annotations

import random
import re

import pytest

from cluster import reconcile, services
from cluster.models import Cluster, KubeObject
from tests.api.test_kubectl_writes import ok

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cluster(kubectl) -> Cluster:
    """The demo cluster 30 simulated seconds on: its pods ran a full metrics window."""
    cluster = Cluster.objects.get(name="demo")
    reconcile.run_to(cluster, cluster.sim_now + 30, random.Random(5))
    return cluster


def nginx_pods(cluster: Cluster) -> list[str]:
    return sorted(
        KubeObject.objects.filter(cluster=cluster, kind="Pod", namespace="default").values_list(
            "name", flat=True
        )
    )


def test_top_pods_shows_cpu_burn(kubectl, cluster: Cluster) -> None:
    burner, *others = nginx_pods(cluster)
    services.pod_behavior_set(
        cluster=cluster, namespace="default", name=burner, behavior="cpu 300m"
    )

    lines = ok(kubectl("top", "pods")).splitlines()
    assert lines[0].split() == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert sorted(rows) == [burner, *others]
    assert rows[burner] == ["301m", "4Mi"]
    assert all(rows[name] == ["1m", "4Mi"] for name in others)

    containers = ok(kubectl("top", "pods", burner, "--containers")).splitlines()
    assert containers[0].split() == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert containers[1].split() == [burner, "nginx", "301m", "4Mi"]

    everywhere = ok(kubectl("top", "pods", "-A")).splitlines()
    assert everywhere[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert {line.split()[1] for line in everywhere[1:]} == set(rows)

    assert len(ok(kubectl("top", "pods", "-l", "app=nginx")).splitlines()) == 1 + len(rows)
    assert kubectl("top", "pods", "-l", "app=nope").stderr.strip() == (
        "No resources found in default namespace."
    )


def test_top_nodes(kubectl, cluster: Cluster) -> None:
    lines = ok(kubectl("top", "nodes")).splitlines()
    assert lines[0].split() == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    names = sorted(
        KubeObject.objects.filter(cluster=cluster, kind="Node").values_list("name", flat=True)
    )
    assert sorted(line.split()[0] for line in lines[1:]) == names
    for line in lines[1:]:
        assert re.fullmatch(r"\S+\s+\d+m\s+\d+%\s+\d+Mi\s+\d+%", line.strip()), line


def test_top_missing_pod_and_discovery(kubectl, cluster: Cluster) -> None:
    missing = kubectl("top", "pod", "nope")
    assert missing.returncode == 1
    assert missing.stderr.strip() == (
        'Error from server (NotFound): podmetrics.metrics.k8s.io "nope" not found'
    )
    resources = ok(kubectl("api-resources", "--api-group=metrics.k8s.io")).splitlines()
    assert [line.split()[0] for line in resources[1:]] == ["nodes", "pods"]
