""" "Until settled" (issue 6): the clock pauses, a worker advances it until every controller is
idle (nothing but heartbeats changes, no pod on its way), then every open dashboard is told how
long it took, over the real channel layer; a cluster that cannot settle stops at the budget
and says so."""

from __future__ import annotations

import random
from html import unescape

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from cluster import broadcast, services, tasks
from cluster.models import Cluster, KubeObject
from cluster.services import clusters as cluster_services
from tests.cluster.sim import deploy_nginx, make_cluster

pytestmark = pytest.mark.django_db


def listen(cluster: Cluster):
    """A channel in the cluster's group (what a dashboard's WebSocket joins) and a reader of
    its messages."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(broadcast.group_name(cluster.pk), channel)

    def notices() -> list[dict]:
        found = []
        while True:
            try:
                event = async_to_sync(_receive)(layer, channel)
            except TimeoutError:
                return found
            found += [m for m in event["messages"] if m["type"] == "notice"]

    return notices


async def _receive(layer, channel):
    import asyncio

    return await asyncio.wait_for(layer.receive(channel), 1)


def running(cluster: Cluster) -> int:
    return KubeObject.objects.filter(
        cluster=cluster, kind="Pod", phase="Running", deleting=False
    ).count()


def test_until_settled_runs_a_paused_cluster_until_idle(django_capture_on_commit_callbacks) -> None:
    cluster = deploy_nginx(make_cluster(), random.Random(1), replicas=3)
    services.deployment_scale(cluster=cluster, namespace="default", name="nginx", replicas=9)
    services.cluster_settle(cluster=cluster)
    cluster.refresh_from_db()
    assert cluster.paused and running(cluster) == 3
    start = cluster.sim_now
    notices = listen(cluster)

    with django_capture_on_commit_callbacks(execute=True):
        tasks.settle_cluster(cluster.pk)

    cluster.refresh_from_db()
    assert cluster.paused and running(cluster) == 9
    assert 0 < cluster.sim_now - start < cluster_services.SETTLE_BUDGET
    [notice] = notices()
    assert notice["text"].startswith("settled after ") and not notice["error"]


def test_a_cluster_that_cannot_settle_stops_at_the_budget(
    django_capture_on_commit_callbacks, monkeypatch
) -> None:
    monkeypatch.setattr(cluster_services, "SETTLE_BUDGET", 20.0)
    cluster = make_cluster()
    services.deployment_create(
        cluster=cluster, name="huge", image="nginx:1.27", replicas=1, cpu_request="64"
    )
    services.cluster_settle(cluster=cluster)
    notices = listen(cluster)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.settle_cluster(cluster.pk)
    [notice] = notices()
    assert notice["error"] and notice["text"].startswith("still busy after 20s")


def test_the_button_pauses_and_answers(client) -> None:
    services.cluster_create(name="demo")
    response = client.post("/clusters/demo/settle/")
    assert response.status_code == 200
    assert "advancing until every controller is idle" in unescape(response.content.decode())
    assert Cluster.objects.get(name="demo").paused
    html = client.get("/clusters/demo/").content.decode()
    assert 'data-testid="settle"' in html
