"""The only module that touches the channel layer; it defines the live messages' payloads.

Services queue deltas while their transaction runs; the queue is flushed to the cluster's group
once the outermost transaction commits (nothing is sent for a write that rolls back). Deltas
carry the resourceVersion so each consumer can forward them in order (see consumers.py).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction

from cluster import timings

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
