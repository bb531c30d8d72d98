"""Traffic on the whole stack (Redis, a Celery worker and beat, daphne): a generator turned on
through the service in this process is sampled by the worker's reconcile ticks alone, and each
sample reaches a WebSocket client as a ``traffic`` message with per-pod rates."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets

from cluster import services, traffic_selectors
from cluster.models import KubeObject

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def test_a_traffic_message_reaches_a_websocket_client(stack) -> None:
    cluster = services.cluster_create(name="tr", profile="classroom", speed=10)
    services.node_add(cluster=cluster, name="control-plane", control_plane=True)
    services.node_add(cluster=cluster, name="node-1")
    services.deployment_create(cluster=cluster, name="web", image="nginx:1.27", replicas=2)
    services.service_expose_deployment(
        cluster=cluster, namespace="default", deployment="web", port=80
    )

    def endpoints_ready() -> bool:
        return len(
            traffic_selectors.service_rules(cluster=cluster).get("default/web", ())
        ) == 2

    wait_for(endpoints_ready, 60, "two ready endpoints")
    pods = set(
        KubeObject.objects.filter(cluster=cluster, kind="Pod").values_list("name", flat=True)
    )
    received: list[dict] = []

    async def listen() -> None:
        async with websockets.connect(
            f"{stack.ws_url}/ws/clusters/tr/", origin=stack.url, open_timeout=10
        ) as ws:
            snapshot = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert snapshot["type"] == "snapshot" and snapshot["traffic"] is None
            assert any(o["kind"] == "Service" and o["name"] == "web" for o in snapshot["objects"])
            await asyncio.to_thread(_turn_on, cluster)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while loop.time() < deadline:
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 1))
                except TimeoutError:
                    continue
                if message["type"] == "traffic":
                    received.append(message)
                    return

    asyncio.run(listen())
    assert received, "no traffic message within 20 s"
    message = received[0]
    web = message["services"]["default/web"]
    assert web["rps"] == 40 and web["errors"] == {} and web["requests"] > 0
    assert {key.split("/")[1] for key in message["pods"]} == pods
    assert all(entry["rps"] > 0 and entry["latencyMs"] > 0 for entry in message["pods"].values())


def _turn_on(cluster) -> None:
    from django.db import connection

    try:
        services.service_traffic_set(cluster=cluster, namespace="default", name="web", rps=40)
    finally:
        connection.close()
