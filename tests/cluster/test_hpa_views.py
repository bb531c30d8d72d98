"""The dashboard's autoscaling panel through Django's test client: the panel without and with
an HPA, create / edit / delete, the CPU burn control (a template change), and the refusals."""

from __future__ import annotations

import pytest
from django.test import Client

from cluster import services
from cluster.models import Cluster, KubeObject

pytestmark = pytest.mark.django_db

BASE = "/clusters/demo"


@pytest.fixture
def demo() -> Cluster:
    return services.demo_cluster_ensure(name="demo")


def hpas(cluster: Cluster) -> list[KubeObject]:
    return list(KubeObject.objects.filter(cluster=cluster, kind="HorizontalPodAutoscaler"))


def test_panel_create_edit_delete(client: Client, demo: Cluster) -> None:
    page = client.get(f"{BASE}/autoscaling/")
    assert page.status_code == 200
    assert b"No HorizontalPodAutoscaler for nginx" in page.content

    url = f"{BASE}/deployments/default/nginx/hpa/"
    made = client.post(url, {"min_replicas": 2, "max_replicas": 8, "cpu_percent": 50})
    assert made.status_code == 200 and b"deployment nginx autoscaled" in made.content
    assert b'id="hpa-status"' in made.content and b'hx-swap-oob="true"' in made.content
    [hpa] = hpas(demo)
    assert (hpa.spec["minReplicas"], hpa.spec["maxReplicas"]) == (2, 8)

    panel = client.get(f"{BASE}/autoscaling/default/nginx/?part=status").content.decode()
    assert "&lt;unknown&gt;" in panel and 'target <b data-testid="hpa-target">50%</b>' in panel

    edited = client.post(url, {"min_replicas": 1, "max_replicas": 4, "cpu_percent": 70})
    assert b"horizontalpodautoscaler nginx updated" in edited.content
    [hpa] = hpas(demo)
    assert hpa.spec["metrics"][0]["resource"]["target"]["averageUtilization"] == 70

    refused = client.post(url, {"min_replicas": 5, "max_replicas": 2, "cpu_percent": 70})
    assert refused.status_code == 422
    assert b"must be greater than or equal to Min pods" in refused.content

    deleted = client.post(f"{BASE}/deployments/default/nginx/hpa/delete/")
    assert b"horizontalpodautoscaler nginx deleted" in deleted.content
    assert hpas(demo) == []


def test_cpu_burn_sets_the_template_clause(client: Client, demo: Cluster) -> None:
    url = f"{BASE}/deployments/default/nginx/cpu-burn/"
    answer = client.post(url, {"cpu": "300m"})
    assert b"each pod burns 300m of CPU" in answer.content
    dep = KubeObject.objects.get(cluster=demo, kind="Deployment", name="nginx")
    annotations = dep.spec["template"]["metadata"]["annotations"]
    assert annotations["k8sviz.io/behavior"] == "cpu 300m"
    assert b'value="300m"' in client.get(f"{BASE}/autoscaling/default/nginx/").content

    bad = client.post(url, {"cpu": "lots"})
    assert bad.status_code == 422 and b"cpu: &quot;lots&quot; is not a CPU quantity" in bad.content

    client.post(url, {"cpu": ""})
    dep = KubeObject.objects.get(cluster=demo, kind="Deployment", name="nginx")
    assert "k8sviz.io/behavior" not in (dep.spec["template"]["metadata"].get("annotations") or {})
