"""The live diagram's WebSocket: transport only.

On connect the consumer joins the cluster's group, then sends a snapshot (so no delta committed
in between can be missed), and forwards deltas strictly in resourceVersion order: an older or
duplicate delta is dropped, and a gap (two writers' broadcasts can cross in Redis) is filled from
the change log, which already holds every committed entry. A client that reconnects sends
``{"type": "resume", "rv": N}`` and gets the missed deltas, or a fresh snapshot if the change log
was compacted past N.

Follow mode: a leader's ``{"type": "follow", ...}`` view state (selection, panel, zoom) is
validated, remembered in Redis for late joiners and relayed to the group; each connection sends
a change once, whether it came from Redis at connect or live. ``{"type": "lesson"}`` tells
a dashboard to reload its Lesson panel; one about an answer goes only to non-students (only
they see the tally).

Only an actor who may see the cluster (``cluster.access``: the scope's user and session, from
Channels' auth middleware) gets in; anybody else is closed with 4404, as if it did not exist.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from cluster import access, broadcast, selectors
from cluster.models import Cluster


@database_sync_to_async
def _load_cluster(name: str, user: object, session: object) -> tuple[Cluster | None, bool, bool]:
    """The cluster if the scope's actor may see it, whether they may change it (lead), and
    whether they are a student."""
    cluster = Cluster.objects.filter(name=name).first()
    if cluster is None:
        return None, False, False
    actor = access.actor_of(user, session)
    facts = access.facts_of(cluster)
    open_mode = access.open_access()
    if not access.can_view(actor, facts, open_mode=open_mode):
        return None, False, False
    leads = access.can_act(actor, facts, open_mode=open_mode)
    return cluster, leads, actor.student_id is not None


# Redis only, no database: off the shared thread the ORM calls queue on.
_follow_last = sync_to_async(broadcast.follow_last, thread_sensitive=False)
_follow_remember = sync_to_async(broadcast.follow_remember, thread_sensitive=False)


@database_sync_to_async
def _snapshot(cluster: Cluster) -> dict:
    return selectors.snapshot(cluster=cluster)


@database_sync_to_async
def _changes_since(cluster_id: int, rv: int) -> list[dict] | None:
    return selectors.changes_since(cluster_id=cluster_id, rv=rv)


class ClusterConsumer(AsyncJsonWebsocketConsumer):
    cluster: Cluster | None = None
    last_rv: int = 0
    leads: bool = False  # may change the cluster: its selections are followed
    student: bool = False  # students do not see the answers' tally
    remembered: dict[str, dict]  # the follow state sent from Redis at connect, per kind

    async def connect(self) -> None:
        self.cluster, self.leads, self.student = await _load_cluster(
            self.scope["url_route"]["kwargs"]["name"],
            self.scope.get("user"),
            self.scope.get("session"),
        )
        if self.cluster is None:
            await self.close(code=4404)
            return
        self.group = broadcast.group_name(self.cluster.pk)
        self.remembered = {}
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._send_snapshot()
        if not self.leads:
            for message in await _follow_last(self.cluster):
                self.remembered[broadcast.follow_kind(message) or ""] = message
                await self.send_json(message)

    async def disconnect(self, code: int) -> None:
        if self.cluster is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: dict, **kwargs: object) -> None:
        if content.get("type") == "follow" and self.cluster is not None:
            # Only who may change the cluster leads; anybody else's report is dropped.
            message = broadcast.follow_message(content) if self.leads else None
            if message is not None:
                # Remembered first: a follower connecting in between gets it either way.
                await _follow_remember(self.cluster, message)
                await broadcast.follow_send(self.cluster.pk, message)
            return
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
            elif message.get("type") == "follow":
                await self._send_follow(message)
            elif message.get("type") == "lesson" and message.get("audience") == "tally":
                if not self.student:
                    await self.send_json(message)
            else:
                await self.send_json(message)

    async def _send_follow(self, message: dict) -> None:
        # A follower that connects while the lead changes its view reads the new state from
        # Redis and gets the live message too: the first live message of a kind equal to what
        # Redis gave is that same change, sent once. Later repeats go through (the teacher
        # selecting the same node again brings back a follower who looked elsewhere).
        if self.remembered.pop(broadcast.follow_kind(message) or "", None) == message:
            return
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
