"""The dashboard's side of dual-stack: the "New cluster" form (name, dual-stack) creates and
settles a demo cluster and sends the browser to it, refusing bad or taken names with a toast;
a dual-stack cluster is badged, and its Services panel offers the IP family policy and lists
both ClusterIPs."""

from __future__ import annotations

from html import unescape

import pytest

from cluster import services
from cluster.models import Cluster, KubeObject

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def lab(client) -> Cluster:
    response = client.post("/clusters/", {"name": "lab", "dual_stack": "on"}, **HTMX)
    assert response.status_code == 200, response.content
    assert response["HX-Redirect"] == "/clusters/lab/"
    return Cluster.objects.get(name="lab")


def test_new_cluster_form_creates_a_settled_dual_stack_cluster(client, lab) -> None:
    assert lab.dual_stack
    running = KubeObject.objects.filter(cluster=lab, kind="Pod", phase="Running")
    assert running.count() == 6
    assert all(len(p.body["status"]["podIPs"]) == 2 for p in running)
    html = client.get("/clusters/lab/").content.decode()
    assert 'data-testid="dual-stack-badge"' in html and 'data-testid="new-cluster"' in html


def test_dual_stack_services_panel_exposes_with_a_family_policy(client, lab) -> None:
    panel = client.get("/clusters/lab/services/").content.decode()
    assert 'data-testid="expose-policy"' in panel
    response = client.post(
        "/clusters/lab/services/expose/",
        {
            "deployment": "default/nginx",
            "port": "80",
            "type": "ClusterIP",
            "ip_family_policy": "RequireDualStack",
        },
    )
    body = unescape(response.content.decode())
    spec = KubeObject.objects.get(cluster=lab, kind="Service", name="nginx").body["spec"]
    assert spec["ipFamilies"] == ["IPv4", "IPv6"]
    assert f"service/nginx exposed: {spec['clusterIPs'][0]}, {spec['clusterIPs'][1]}" in body
    assert f"{spec['clusterIPs'][0]}, {spec['clusterIPs'][1]}" in body  # the redrawn panel
    assert "RequireDualStack" in body


def test_single_stack_panel_has_no_family_choice_and_refuses_require_dual_stack(client) -> None:
    services.demo_cluster_ensure(name="demo")
    assert (
        'data-testid="expose-policy"' not in client.get("/clusters/demo/services/").content.decode()
    )
    html = client.get("/clusters/demo/").content.decode()
    assert 'data-testid="dual-stack-badge"' not in html
    response = client.post(
        "/clusters/demo/services/expose/",
        {
            "deployment": "default/nginx",
            "port": "80",
            "type": "ClusterIP",
            "ip_family_policy": "RequireDualStack",
        },
    )
    assert response.status_code == 422
    assert "this cluster is not configured for dual-stack services" in unescape(
        response.content.decode()
    )


@pytest.mark.parametrize(
    ("name", "status", "text"),
    [
        ("Lab_1", 422, "a lowercase RFC 1123 label"),
        ("", 422, "This field is required"),
    ],
)
def test_new_cluster_form_refuses_bad_names(client, name, status, text) -> None:
    response = client.post("/clusters/", {"name": name}, **HTMX)
    assert response.status_code == status
    assert text in unescape(response.content.decode())
    assert not Cluster.objects.exists()


def test_new_cluster_form_refuses_a_taken_name(client) -> None:
    services.cluster_create(name="lab")
    response = client.post("/clusters/", {"name": "lab"}, **HTMX)
    assert response.status_code == 409
    assert 'cluster "lab" already exists' in unescape(response.content.decode())
    assert Cluster.objects.count() == 1
