"""The only module that touches the channel layer; it defines the live messages' payloads.

Services queue deltas while their transaction runs; the queue is flushed to the cluster's group
once the outermost transaction commits (nothing is sent for a write that rolls back). Deltas
carry the resourceVersion so each consumer can forward them in order (see consumers.py).

Follow mode (docs/classroom.md): a teacher's dashboard reports what it selects; the consumer
relays it here to every dashboard of the cluster, and read-only followers mirror it. The last
one is kept in Redis for students who connect later.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection, transaction

from cluster import timings

if TYPE_CHECKING:
    from cluster.models import Cluster

logger = logging.getLogger(__name__)

CHUNK = 200


def group_name(cluster_id: int) -> str:
    return f"cluster.{cluster_id}"


def delta_message(*, rv: int, change: str, actor: str, sim_time: float, view: dict) -> dict:
    return {
        "type": "delta",
        "rv": rv,
        "change": change,
        "actor": actor,
        "simTime": sim_time,
        "object": view,
    }


def clock_message(cluster: Any, *, backlog: dict | None = None) -> dict:
    """The clock tick. ``backlog`` (``selectors.component_backlog``) says what waits on each
    stopped control-plane component; absent means "unchanged since the last message"."""
    message = {
        "type": "clock",
        "simNow": cluster.sim_now,
        "speed": cluster.speed,
        "paused": cluster.paused,
        "profile": cluster.profile,
        "timings": cluster.timings,
        "timingsKey": timings.signature(cluster.profile, cluster.timings),
        "components": cluster.components,
        "proxyMode": getattr(cluster, "proxy_mode", "iptables"),
    }
    if backlog is not None:
        message["backlog"] = backlog
    return message


class _Pending:
    """Deltas of one transaction, flushed by the on_commit callback registered with them."""

    def __init__(self) -> None:
        self.by_cluster: dict[int, list[dict]] = {}

    def __call__(self) -> None:
        for cluster_id, messages in self.by_cluster.items():
            _send(cluster_id, messages)


def queue_delta(cluster_id: int, message: dict) -> None:
    """Queue a delta for sending when the current transaction commits (at once outside one)."""
    if not connection.in_atomic_block:
        _send(cluster_id, [message])
        return
    pending = getattr(connection, "_k8sviz_pending", None)
    # A pending batch is only reusable while its callback is still registered: a rolled-back
    # transaction (or savepoint) discards the callback, and with it the deltas it would send.
    if pending is None or not any(entry[1] is pending for entry in connection.run_on_commit):
        pending = _Pending()
        connection._k8sviz_pending = pending  # type: ignore[attr-defined]
        transaction.on_commit(pending)
    pending.by_cluster.setdefault(cluster_id, []).append(message)


def send_clock(cluster: Any, *, backlog: dict | None = None) -> None:
    transaction.on_commit(lambda: _send(cluster.pk, [clock_message(cluster, backlog=backlog)]))


def traffic_message(data: dict) -> dict:
    """One traffic sample (``services.traffic``): per Service its requests, errors by reason,
    p50/p95 and the split per node and pod; per pod its rps and mean latency."""
    return {"type": "traffic", **data}


def send_traffic(cluster_id: int, data: dict) -> None:
    """Send a traffic sample once the current transaction commits."""
    message = traffic_message(data)
    transaction.on_commit(lambda: _send(cluster_id, [message]))


def send_notice(cluster_id: int, text: str, *, error: bool = False) -> None:
    """A line every open dashboard of the cluster shows as a toast (e.g. "settled after 42 s"),
    sent once the current transaction commits."""
    message = {"type": "notice", "text": text, "error": error}
    transaction.on_commit(lambda: _send(cluster_id, [message]))


def send_lesson(cluster_id: int, *, tally_only: bool = False) -> None:
    """The Lesson panel changed: every dashboard of the cluster reloads it (a step ran, a
    reveal), or, for a student's answer, only the ones that show the tally (``tally_only``:
    the teacher's and the projector's, not the other students'), after the commit."""
    message = {"type": "lesson", "audience": "tally" if tally_only else "all"}
    transaction.on_commit(lambda: _send(cluster_id, [message]))


FOLLOW_KINDS = ("Node", "Pod")
FOLLOW_TTL = 6 * 3600  # seconds a teacher's last selection is remembered for late joiners


FOLLOW_PANEL = re.compile(r"^[a-z][a-z-]{0,39}$")


def follow_message(content: dict) -> dict | None:
    """The teacher's view state a follower mirrors, validated: ``{"type": "follow",
    "selected": {kind, namespace, name}}`` (a node or pod), ``{"type": "follow", "panel":
    id}`` (the side panel in view) or ``{"type": "follow", "zoom": 0.5-2}`` (the diagram's
    zoom); None when the content is not one."""
    panel = content.get("panel")
    if isinstance(panel, str) and FOLLOW_PANEL.match(panel):
        return {"type": "follow", "panel": panel}
    zoom = content.get("zoom")
    if isinstance(zoom, (int, float)) and not isinstance(zoom, bool) and 0.5 <= zoom <= 2:
        return {"type": "follow", "zoom": round(float(zoom), 1)}
    selected = content.get("selected")
    if not isinstance(selected, dict):
        return None
    kind, name = selected.get("kind"), selected.get("name")
    namespace = selected.get("namespace") or ""
    well_formed = (
        kind in FOLLOW_KINDS
        and isinstance(name, str)
        and isinstance(namespace, str)
        and 0 < len(name) <= 253
        and len(namespace) <= 63
    )
    if not well_formed:
        return None
    return {"type": "follow", "selected": {"kind": kind, "namespace": namespace, "name": name}}


def _redis() -> Any:
    import redis  # noqa: PLC0415 - only the follow state needs a plain client

    return redis.Redis.from_url(settings.REDIS_URL)


FOLLOW_STATE = ("selected", "panel", "zoom")


def follow_kind(message: dict) -> str | None:
    """Which part of the view a follow message sets (``FOLLOW_STATE``), or None (a move to
    another cluster)."""
    return next((k for k in FOLLOW_STATE if k in message), None)


def _follow_prefix(cluster: Cluster) -> str:
    # The creation time as well as the id: a database created anew (a fresh `make run`, a
    # test run) reuses ids, and Redis may outlive it; another cluster's state must not leak.
    return f"k8sviz:follow:{cluster.pk}:{int(cluster.created_at.timestamp() * 1_000_000)}"


def follow_remember(cluster: Cluster, message: dict) -> None:
    """Keep the teacher's last selection, panel and zoom so a student who connects later
    starts there."""
    kind = follow_kind(message) or "selected"
    try:
        _redis().set(f"{_follow_prefix(cluster)}:{kind}", json.dumps(message), ex=FOLLOW_TTL)
    except Exception:  # a lost follow state only means a late joiner starts unselected
        logger.warning("cluster %s: could not store the follow state", cluster.pk)


def follow_last(cluster: Cluster) -> list[dict]:
    """The remembered follow messages (selection, panel, zoom), in that order."""
    prefix = _follow_prefix(cluster)
    try:
        client = _redis()
        raws = [client.get(f"{prefix}:{kind}") for kind in FOLLOW_STATE]
    except Exception:
        return []
    return [json.loads(raw) for raw in raws if raw]


async def follow_send(cluster_id: int, message: dict) -> None:
    """Send a follow message to every dashboard of the cluster (from the consumer's loop)."""
    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(
            group_name(cluster_id), {"type": "cluster.messages", "messages": [message]}
        )


def send_follow_cluster(cluster_id: int, cluster_name: str) -> None:
    """The class now follows another cluster: followers on this one move there."""
    message = {"type": "follow", "cluster": cluster_name}
    transaction.on_commit(lambda: _send(cluster_id, [message]))


def _send(cluster_id: int, messages: list[dict]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for start in range(0, len(messages), CHUNK):
        try:
            _run_sync(
                layer.group_send,
                group_name(cluster_id),
                {"type": "cluster.messages", "messages": messages[start : start + CHUNK]},
            )
        except Exception:
            # Browsers recover: the consumer fills gaps from the change log on the next delta.
            logger.exception("broadcast to cluster %s failed", cluster_id)


def _run_sync(func: Any, *args: Any) -> None:
    """``async_to_sync(func)(*args)``, also from sync code that runs inside an event loop's
    thread (a sync library driving its own loop, such as Playwright's sync API in the browser
    tests), where async_to_sync refuses to run: there it runs on a short-lived thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(func)(*args)
        return
    errors: list[BaseException] = []

    def target() -> None:
        try:
            async_to_sync(func)(*args)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, name="broadcast")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
