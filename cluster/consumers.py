"""The live diagram's WebSocket: transport only.

On connect the consumer joins the cluster's group, then sends a snapshot (so no delta committed
in between can be missed), and forwards deltas strictly in resourceVersion order: an older or
duplicate delta is dropped, and a gap (two writers' broadcasts can cross in Redis) is filled from
the change log, which already holds every committed entry. A client that reconnects sends
``{"type": "resume", "rv": N}`` and gets the missed deltas, or a fresh snapshot if the change log
was compacted past N.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from cluster import broadcast, selectors
from cluster.models import Cluster


@database_sync_to_async
def _load_cluster(name: str) -> Cluster | None:
    return Cluster.objects.filter(name=name).first()


@database_sync_to_async
def _snapshot(cluster: Cluster) -> dict:
    return selectors.snapshot(cluster=cluster)


@database_sync_to_async
def _changes_since(cluster_id: int, rv: int) -> list[dict] | None:
    return selectors.changes_since(cluster_id=cluster_id, rv=rv)


class ClusterConsumer(AsyncJsonWebsocketConsumer):
    cluster: Cluster | None = None
    last_rv: int = 0

    async def connect(self) -> None:
        self.cluster = await _load_cluster(self.scope["url_route"]["kwargs"]["name"])
        if self.cluster is None:
            await self.close(code=4404)
            return
        self.group = broadcast.group_name(self.cluster.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._send_snapshot()

    async def disconnect(self, code: int) -> None:
        if self.cluster is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: dict, **kwargs: object) -> None:
        if content.get("type") == "resume" and self.cluster is not None:
            try:
                rv = int(content.get("rv", 0))
            except (TypeError, ValueError):
                rv = 0
            missed = await _changes_since(self.cluster.pk, rv)
            if missed is None:
                await self._send_snapshot()
                return
            self.last_rv = rv
            for delta in missed:
                await self._forward(delta)

    async def cluster_messages(self, event: dict) -> None:
        for message in event["messages"]:
            if message.get("type") == "delta":
                await self._deliver(message)
            else:
                await self.send_json(message)

    async def _send_snapshot(self) -> None:
        snap = await _snapshot(self.cluster)
        self.last_rv = snap["rv"]
        await self.send_json(snap)

    async def _deliver(self, delta: dict) -> None:
        rv = delta["rv"]
        if rv <= self.last_rv:
            return
        if rv > self.last_rv + 1:
            missed = await _changes_since(self.cluster.pk, self.last_rv)
            if missed is None:
                await self._send_snapshot()
                return
            for earlier in missed:
                if earlier["rv"] < rv:
                    await self._forward(earlier)
        await self._forward(delta)

    async def _forward(self, delta: dict) -> None:
        if delta["rv"] <= self.last_rv:
            return
        self.last_rv = delta["rv"]
        await self.send_json(delta)
