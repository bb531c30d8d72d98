"""Services and EndpointSlices through the API (Django's test client): create with
allocation, the printed columns kubectl shows, the apiserver's refusals as Status objects, and
the label-selected slice list ``kubectl describe svc`` reads."""

from __future__ import annotations

import random

import pytest
from django.test import Client

from cluster import reconcile
from cluster.models import Cluster
from tests.api.test_api_views import BASE, assert_status, table
from tests.api.test_writes import send

pytestmark = pytest.mark.django_db

SERVICES = BASE + "/api/v1/namespaces/default/services"
SLICES = BASE + "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"


@pytest.fixture
def api(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}", "User-Agent": "kubectl/v1.32.4"})


def service(name: str = "nginx", **spec) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": "nginx"}, "ports": [{"port": 80, "targetPort": 8080}], **spec},
    }


def test_create_allocates_and_get_prints_kubectls_columns(api: Client, demo: Cluster) -> None:
    created = send(api, "post", SERVICES, service())
    assert created.status_code == 201, created.content
    spec = created.json()["spec"]
    assert spec["type"] == "ClusterIP" and spec["clusterIP"].startswith("10.")
    printed = table(api, SERVICES)
    assert [c["name"] for c in printed["columnDefinitions"]] == [
        "Name",
        "Type",
        "Cluster-IP",
        "External-IP",
        "Port(s)",
        "Age",
        "Selector",
    ]
    rows = {r["cells"][0]: r["cells"] for r in printed["rows"]}
    assert rows["kubernetes"][1:5] == ["ClusterIP", "10.96.0.1", "<none>", "443/TCP"]
    assert rows["nginx"][4] == "80/TCP" and rows["nginx"][6] == "app=nginx"


def test_node_port_prints_its_port_and_load_balancer_is_pending(api: Client, demo: Cluster) -> None:
    send(
        api,
        "post",
        SERVICES,
        service("np", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]),
    )
    send(api, "post", SERVICES, service("lb", type="LoadBalancer"))
    rows = {r["cells"][0]: r["cells"] for r in table(api, SERVICES)["rows"]}
    assert rows["np"][1] == "NodePort" and rows["np"][4] == "80:30080/TCP"
    assert rows["lb"][3] == "<pending>"


def test_cluster_ip_conflict_is_a_422_in_the_apiservers_words(api: Client, demo: Cluster) -> None:
    response = send(api, "post", SERVICES, service("x", clusterIP="10.96.0.1"))
    body = assert_status(response, 422, "Invalid")
    assert body["message"] == (
        'Service "x" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.1"}: '
        "failed to allocate IP 10.96.0.1: provided IP is already allocated"
    )
    assert body["details"]["kind"] == "Service"


def test_changing_the_cluster_ip_is_refused(api: Client, demo: Cluster) -> None:
    created = send(api, "post", SERVICES, service()).json()
    created["spec"]["clusterIP"] = "10.96.0.200"
    body = assert_status(send(api, "put", SERVICES + "/nginx", created), 422, "Invalid")
    assert "spec.clusterIP" in body["message"] and "field is immutable" in body["message"]


def test_endpointslices_by_service_label_with_kubectls_columns(api: Client, demo: Cluster) -> None:
    send(api, "post", SERVICES, service())
    reconcile.run_to(demo, demo.sim_now + 1, random.Random(3))
    printed = table(api, SLICES, labelSelector="kubernetes.io/service-name=nginx")
    assert [c["name"] for c in printed["columnDefinitions"]] == [
        "Name",
        "AddressType",
        "Ports",
        "Endpoints",
        "Age",
    ]
    [row] = printed["rows"]
    name, address_type, ports, endpoints, _ = row["cells"]
    assert name.startswith("nginx-") and address_type == "IPv4" and ports == "8080"
    assert endpoints.count(".") >= 3 and endpoints.endswith("+ 3 more...")
