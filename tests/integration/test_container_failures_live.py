"""A crash-looping pod on the real stack (Redis, Celery worker and beat, daphne): the worker's
ticks alone drive its restarts, and a WebSocket client sees them arrive as deltas."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from cluster import services
from cluster.models import Cluster

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def crashing_cluster() -> Cluster:
    cluster = services.cluster_create(name="crashy", profile="classroom", speed=60)
    services.node_add(cluster=cluster, name="node-1")
    services.deployment_create(cluster=cluster, name="web", image="nginx:1.27", replicas=1)
    services.deployment_behavior_set(
        cluster=cluster, namespace="default", name="web", behavior="crash after=3s exit=1"
    )
    return cluster


def test_crash_loop_restarts_reach_the_websocket(stack) -> None:
    crashing_cluster()
    seen: list[tuple[str, int]] = []

    async def listen() -> None:
        async with websockets.connect(
            f"{stack.ws_url}/ws/clusters/crashy/", origin=stack.url, open_timeout=10
        ) as ws:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 40
            while loop.time() < deadline:
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), 1))
                except TimeoutError:
                    continue
                objects = (
                    message.get("objects", [])
                    if message["type"] == "snapshot"
                    else [message.get("object", {})] if message["type"] == "delta" else []
                )
                for view in objects:
                    if view.get("kind") == "Pod" and view.get("restarts") is not None:
                        seen.append((view["status"], view["restarts"]))
                if any(s == "CrashLoopBackOff" and r >= 2 for s, r in seen):
                    return

    asyncio.run(listen())
    statuses = {s for s, _ in seen}
    assert "CrashLoopBackOff" in statuses, seen
    assert "Running" in statuses, seen
    assert max(r for _, r in seen) >= 2, seen
