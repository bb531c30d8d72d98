"""metrics.k8s.io/v1beta1 through Django's test client: discovery (legacy and aggregated),
PodMetrics and NodeMetrics lists and gets, label selectors, the not-found wording, and the refusal
of writes."""

from __future__ import annotations

import random

import pytest
from django.test import Client

from cluster import reconcile, services
from cluster.api import resources
from cluster.models import Cluster, KubeObject

pytestmark = pytest.mark.django_db

BASE = "/clusters/demo/apis/metrics.k8s.io/v1beta1"


@pytest.fixture
def api(demo: Cluster, token: str) -> Client:
    reconcile.run_to(demo, demo.sim_now + 30, random.Random(3))
    return Client(headers={"Authorization": f"Bearer {token}"})


def pod_names(demo: Cluster) -> list[str]:
    return sorted(
        KubeObject.objects.filter(cluster=demo, kind="Pod", namespace="default").values_list(
            "name", flat=True
        )
    )


def test_discovery_lists_the_metrics_group(api: Client) -> None:
    groups = api.get("/clusters/demo/apis").json()["groups"]
    metrics = next(g for g in groups if g["name"] == "metrics.k8s.io")
    assert metrics["preferredVersion"]["groupVersion"] == "metrics.k8s.io/v1beta1"
    listed = api.get(BASE).json()["resources"]
    assert {(r["name"], r["kind"], r["namespaced"]) for r in listed} == {
        ("pods", "PodMetrics", True),
        ("nodes", "NodeMetrics", False),
    }
    assert all(r["verbs"] == ["get", "list"] for r in listed)
    aggregated = api.get(
        "/clusters/demo/apis", headers={"Accept": resources.AGGREGATED_CONTENT_TYPE}
    ).json()
    assert "metrics.k8s.io" in {item["metadata"]["name"] for item in aggregated["items"]}


def test_pod_metrics_list_get_and_selectors(api: Client, demo: Cluster) -> None:
    first = pod_names(demo)[0]
    services.pod_behavior_set(cluster=demo, namespace="default", name=first, behavior="cpu 250m")
    body = api.get(f"{BASE}/namespaces/default/pods").json()
    assert body["kind"] == "PodMetricsList"
    assert sorted(i["metadata"]["name"] for i in body["items"]) == pod_names(demo)
    one = api.get(f"{BASE}/namespaces/default/pods/{first}").json()
    assert one["kind"] == "PodMetrics" and one["window"] == "15s"
    assert one["containers"][0]["usage"]["cpu"] == "251000000n"
    assert one["timestamp"].endswith("Z")
    assert len(api.get(f"{BASE}/pods").json()["items"]) == len(pod_names(demo))
    assert api.get(f"{BASE}/pods", {"labelSelector": "app=none"}).json()["items"] == []

    missing = api.get(f"{BASE}/namespaces/default/pods/nope")
    assert missing.status_code == 404
    assert missing.json()["message"] == 'podmetrics.metrics.k8s.io "nope" not found'
    assert api.post(f"{BASE}/namespaces/default/pods", {}).status_code == 405


def test_node_metrics(api: Client, demo: Cluster) -> None:
    items = api.get(f"{BASE}/nodes").json()["items"]
    nodes = KubeObject.objects.filter(cluster=demo, kind="Node")
    assert sorted(i["metadata"]["name"] for i in items) == sorted(n.name for n in nodes)
    assert all(
        i["usage"]["cpu"].endswith("n") and i["usage"]["memory"].endswith("Ki") for i in items
    )


def test_just_started_pods_have_no_metrics(demo: Cluster, token: str) -> None:
    """Right after the demo settles its pods have run less than a window: no samples yet."""
    api = Client(headers={"Authorization": f"Bearer {token}"})
    assert api.get(f"{BASE}/namespaces/default/pods").json()["items"] == []


def test_hpa_autoscaling_v1_create_and_read(demo: Cluster, token: str) -> None:
    """An autoscaling/v1 HPA is stored as v2 and read back as v1; v2 reads see the metric."""
    api = Client(headers={"Authorization": f"Bearer {token}"})
    v1 = "/clusters/demo/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers"
    body = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "nginx"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "nginx"},
            "maxReplicas": 8,
            "targetCPUUtilizationPercentage": 40,
        },
    }
    created = api.post(v1, body, content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["apiVersion"] == "autoscaling/v1"
    assert created.json()["spec"]["targetCPUUtilizationPercentage"] == 40
    assert api.get(f"{v1}/nginx").json()["spec"]["minReplicas"] == 1
    assert [i["apiVersion"] for i in api.get(v1).json()["items"]] == ["autoscaling/v1"]
    v2 = api.get(v1.replace("/v1/", "/v2/") + "/nginx").json()
    assert v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 40
    assert api.put(f"{v1}/nginx", body, content_type="application/json").status_code == 405
