"""The dashboard's behaviour control: the describe panel offers it for a pod, the POST sets the
annotation on the pod (or on its Deployment's template) and rejects bad input with a toast."""

from __future__ import annotations

import html
import random

import pytest
from django.test import Client

from cluster import reconcile, services
from cluster.models import Cluster, KubeObject

pytestmark = pytest.mark.django_db

T0 = 1_800_000_000.0


@pytest.fixture
def cluster() -> Cluster:
    cluster = services.cluster_create(name="demo", profile="kubernetes", wall_now=T0)
    services.node_add(cluster=cluster, name="node-1")
    services.deployment_create(cluster=cluster, name="web", image="nginx:1.27", replicas=1)
    reconcile.run_to(cluster, cluster.sim_now + 10, random.Random(1))
    return cluster


def the_pod(cluster: Cluster) -> KubeObject:
    return KubeObject.objects.get(cluster=cluster, kind="Pod")


def post(client: Client, url: str, data: dict):
    response = client.post(url, data, headers={"HX-Request": "true"})
    return response.status_code, html.unescape(response.content.decode())


def test_describe_offers_the_behaviour_control(client: Client, cluster: Cluster) -> None:
    pod = the_pod(cluster)
    body = client.get(f"/clusters/demo/describe/pod/default/{pod.name}/").content.decode()
    assert 'data-testid="behavior-form"' in body
    assert "deployment web (rolls out)" in body


def test_set_behaviour_on_the_pod(client: Client, cluster: Cluster) -> None:
    pod = the_pod(cluster)
    url = f"/clusters/demo/pods/default/{pod.name}/behavior/"
    code, text = post(client, url, {"mode": "crash", "params": "after=10s exit=2"})
    assert code == 200 and "crash after=10s exit=2" in text
    pod.refresh_from_db()
    assert pod.body["metadata"]["annotations"]["k8sviz.io/behavior"] == "crash after=10s exit=2"
    code, _ = post(client, url, {"mode": "healthy", "params": ""})
    pod.refresh_from_db()
    assert "k8sviz.io/behavior" not in (pod.body["metadata"].get("annotations") or {})


def test_bad_parameters_are_an_error_toast(client: Client, cluster: Cluster) -> None:
    pod = the_pod(cluster)
    url = f"/clusters/demo/pods/default/{pod.name}/behavior/"
    code, text = post(client, url, {"mode": "crash", "params": "after=soon"})
    assert code == 422 and 'class="toast error"' in text and '"soon" is not a duration' in text
    code, text = post(client, url, {"mode": "explode"})
    assert code == 422 and "Select a valid choice" in text


def test_set_behaviour_on_the_deployment_rolls_out(client: Client, cluster: Cluster) -> None:
    pod = the_pod(cluster)
    url = f"/clusters/demo/pods/default/{pod.name}/behavior/"
    code, text = post(
        client, url, {"mode": "never-ready", "params": "", "target": "deployment"}
    )
    assert code == 200 and "deployment web" in text
    deployment = KubeObject.objects.get(cluster=cluster, kind="Deployment", name="web")
    template_meta = deployment.body["spec"]["template"]["metadata"]
    assert template_meta["annotations"]["k8sviz.io/behavior"] == "never-ready"
    assert deployment.body["metadata"]["generation"] == 2
