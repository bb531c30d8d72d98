"""The API while control-plane components are stopped, through Django's test client: a stopped
kube-apiserver answers every request with a 503 Status; a stopped etcd refuses writes with a
500 Status and still serves reads."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cluster import services
from cluster.models import Cluster

pytestmark = pytest.mark.django_db

PODS = "/clusters/demo/api/v1/namespaces/default/pods"


@pytest.fixture
def api(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize(
    "path", ["/clusters/demo/version", "/clusters/demo/api", PODS, f"{PODS}?watch=1"]
)
def test_stopped_apiserver_answers_503_everywhere(api: Client, demo: Cluster, path: str) -> None:
    services.component_stop(cluster=demo, name="kube-apiserver")
    response = api.get(path)
    assert response.status_code == 503
    body = response.json()
    assert (body["kind"], body["reason"], body["code"]) == ("Status", "ServiceUnavailable", 503)
    assert "the kube-apiserver of this cluster is stopped" in body["message"]


def test_stopped_etcd_refuses_writes_serves_reads(api: Client, demo: Cluster) -> None:
    services.component_stop(cluster=demo, name="etcd")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "x"},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    response = api.post(PODS, json.dumps(pod), content_type="application/json")
    assert response.status_code == 500
    body = response.json()
    assert (body["reason"], body["code"]) == ("InternalError", 500)
    assert body["message"].startswith("Internal error occurred: etcdserver: request timed out")
    listed = api.get(PODS)
    assert listed.status_code == 200
    assert len(listed.json()["items"]) == 6
    services.component_start(cluster=Cluster.objects.get(pk=demo.pk), name="etcd")
    response = api.post(PODS, json.dumps(pod), content_type="application/json")
    assert response.status_code == 201
