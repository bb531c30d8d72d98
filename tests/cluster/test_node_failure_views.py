"""The dashboard's node failure-mode controls (docs/nodes.md): each POST reaches its service,
answers a toast, and a service refusal is an error toast, never a 500."""

from __future__ import annotations

import html
import random

import pytest
from django.test import Client

from cluster import reconcile, services
from cluster.models import Cluster, KubeObject

pytestmark = pytest.mark.django_db

T0 = 1_800_000_000.0
BASE = "/clusters/demo"


@pytest.fixture
def cluster() -> Cluster:
    cluster = services.cluster_create(name="demo", wall_now=T0)
    for name in ("node-1", "node-2"):
        services.node_add(cluster=cluster, name=name)
    return cluster


def post(client: Client, url: str):
    return client.post(url, {}, headers={"HX-Request": "true"})


def text(response) -> str:
    return html.unescape(response.content.decode())


def machine_spec(cluster: Cluster, name: str) -> dict:
    return KubeObject.objects.get(cluster=cluster, kind="Machine", name=name).body["spec"]


@pytest.mark.parametrize(
    ("action", "field", "value", "toast"),
    [
        ("kubelet-stop", "kubelet", False, "kubelet on node-2 stopped"),
        ("partition", "partitioned", True, "node-2 cut off from the control plane"),
        ("memory-pressure-on", "memoryPressure", True, "node-2 is low on memory"),
        ("disk-pressure-on", "diskPressure", True, "node-2 is low on disk"),
    ],
)
def test_failure_action_flips_the_machine(
    client: Client, cluster: Cluster, action: str, field: str, value: bool, toast: str
) -> None:
    response = post(client, f"{BASE}/nodes/node-2/{action}/")
    assert response.status_code == 200
    assert toast in text(response)
    assert machine_spec(cluster, "node-2")[field] is value


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("kubelet-start", "kubelet on node-2 is already running"),
        ("heal", "node-2 is not partitioned"),
        ("memory-pressure-off", "node-2 is not under memory pressure"),
    ],
)
def test_a_refused_failure_action_is_an_error_toast(
    client: Client, cluster: Cluster, action: str, message: str
) -> None:
    response = post(client, f"{BASE}/nodes/node-2/{action}/")
    assert response.status_code == 422
    assert 'class="toast error"' in text(response) and message in text(response)


def test_drain_answers_kubectls_lines(client: Client, cluster: Cluster) -> None:
    reconcile.run_to(cluster, cluster.sim_now + 5, random.Random(1))
    response = post(client, f"{BASE}/nodes/node-1/drain/")
    assert response.status_code == 200
    assert "node/node-1 cordoned" in text(response)
    assert "node/node-1 drained" in text(response)


def test_drain_of_an_unregistered_node_is_an_error_toast(client: Client, cluster: Cluster) -> None:
    response = post(client, f"{BASE}/nodes/node-1/drain/")
    assert response.status_code == 404
