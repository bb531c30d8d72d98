"""``?watch=1``: a stream of ADDED / MODIFIED / DELETED / BOOKMARK events read from the change
log, as kube-apiserver's watch cache serves them from etcd's history.

Semantics followed (apiserver ``pkg/storage/cacher``, ``endpoints/handlers/watch.go``):

* ``resourceVersion`` unset or ``"0"``: first a synthetic ``ADDED`` for every object that
  matches now, then every later change. ``kubectl get NAME -w`` relies on this first event.
* ``resourceVersion=N``: only changes with rv > N. If the change log was compacted past N the
  stream carries one ``ERROR`` event, a ``410 Expired`` Status ("too old resource version"), and
  ends; reflectors then list again.
* Selectors are applied to the object before *and* after each change: an object that starts to
  match arrives as ``ADDED``, one that stops matching as ``DELETED`` (with its new state), as
  the cacher's ``watchCacheEvent.PrevObject`` filtering does.
* ``allowWatchBookmarks=true``: a ``BOOKMARK`` carrying only the current resourceVersion every
  minute, so a reflector can resume from a recent rv.
* Tables (kubectl's ``get -w``): every event's object is a one-row Table; the column
  definitions come only with the first event, as the real server's ``watchEmbeddedEncoder``
  does.
* The stream ends after ``timeoutSeconds``, or, without it, after 30-60 minutes (the API
  server's ``--min-request-timeout`` of 1800 s times [1, 2)).
* It also ends when the cluster's kube-apiserver is stopped (the real server's connections die
  with its process); the client's next request gets the 503 of a stopped apiserver. A stopped
  etcd does not end it (the watch cache keeps it open), it just carries no events.

A watcher sleeps on the cluster's channel-layer group (every committed write is broadcast
there, see :mod:`cluster.broadcast`) and reads the change log when woken, so an idle watch
costs one indexed query every few seconds. The database work runs in threads outside the
server's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from cluster import broadcast
from cluster.api import status, tables
from cluster.models import Change, Cluster, KubeObject

BATCH = 500
IDLE_POLL_SECONDS = 2.0
BOOKMARK_SECONDS = 60.0
MIN_REQUEST_TIMEOUT = 1800.0
TOO_OLD = "too old resource version: {rv} ({compacted})"


@dataclass
class WatchRequest:
    """What one watch asks for, already parsed and validated by the view."""

    cluster: Cluster
    kind: str
    api_version: str
    namespace: str | None
    labels: Callable[[dict], bool]
    fields: Callable[[dict], bool]
    since: int | None  # None: send the current state first
    bookmarks: bool
    timeout: float
    table_include: str | None = None  # "Metadata"/"Object"/"None" when kubectl asks for a Table
    bookmark_every: float = BOOKMARK_SECONDS

    def matches(self, body: dict) -> bool:
        return self.labels(body["metadata"].get("labels") or {}) and self.fields(body)


def default_timeout(rng: random.Random | None = None) -> float:
    return MIN_REQUEST_TIMEOUT * (1 + (rng or random).random())


@dataclass
class _State:
    rv: int
    matched: dict[str, bool] = field(default_factory=dict)  # uid -> matched as last seen
    columns_sent: bool = False


def _line(event_type: str, obj: dict) -> bytes:
    return (json.dumps({"type": event_type, "object": obj}, separators=(",", ":")) + "\n").encode()


def _expired(rv: int, compacted: int) -> bytes:
    body = status.status_body(
        code=410, reason="Expired", message=TOO_OLD.format(rv=rv, compacted=compacted)
    )
    return _line("ERROR", body)


# --- reads (run in worker threads) ---------------------------------------------------------------


def _initial(req: WatchRequest) -> tuple[int, list[dict], dict[str, bool]]:
    """The current objects and rv, read rv first (a change racing the read is sent twice at
    worst, as MODIFIED, never lost)."""
    cluster = req.cluster
    cluster.refresh_from_db(fields=["resource_version", "sim_now"])
    rows = KubeObject.objects.filter(cluster=cluster, kind=req.kind)
    if req.namespace is not None:
        rows = rows.filter(namespace=req.namespace)
    bodies = list(rows.order_by("namespace", "name").values_list("body", flat=True))
    matched = {b["metadata"]["uid"]: req.matches(b) for b in bodies}
    return cluster.resource_version, [b for b in bodies if matched[b["metadata"]["uid"]]], matched


def _compacted(cluster: Cluster) -> int:
    cluster.refresh_from_db(fields=["compacted_rv", "resource_version", "sim_now"])
    return cluster.compacted_rv


def _changes(req: WatchRequest, after: int) -> list[Change]:
    rows = Change.objects.filter(cluster=req.cluster, rv__gt=after, kind=req.kind)
    if req.namespace is not None:
        rows = rows.filter(namespace=req.namespace)
    return list(rows.order_by("rv")[:BATCH])


def _matched_before(req: WatchRequest, change: Change) -> bool:
    """Whether the object matched just before ``change``: its previous change-log entry.
    Unknown (first seen, or compacted away) counts as not matching, so it arrives as ADDED."""
    if change.type == Change.Type.ADDED:
        return False
    previous = (
        Change.objects.filter(cluster=req.cluster, uid=change.uid, rv__lt=change.rv)
        .order_by("-rv")
        .values_list("object", flat=True)
        .first()
    )
    return previous is not None and req.matches(previous)


def _translate(req: WatchRequest, state: _State, changes: list[Change]) -> list[tuple[str, dict]]:
    """Change-log entries as the watcher sees them through its selectors."""
    events = []
    for change in changes:
        uid = str(change.uid)
        before = state.matched.get(uid)
        if before is None:
            before = _matched_before(req, change)
        now = change.type != Change.Type.DELETED and req.matches(change.object)
        if change.type == Change.Type.DELETED:
            state.matched.pop(uid, None)
            if before or req.matches(change.object):
                events.append(("DELETED", change.object))
            continue
        state.matched[uid] = now
        if now and before:
            events.append(("MODIFIED", change.object))
        elif now:
            events.append(("ADDED", change.object))
        elif before:
            events.append(("DELETED", change.object))
    return events


def _render(req: WatchRequest, state: _State, event_type: str, body: dict) -> bytes:
    if req.table_include is None:
        return _line(event_type, body)
    rv = body["metadata"].get("resourceVersion", "")
    doc = tables.table(
        kind=req.kind,
        bodies=[body],
        now=req.cluster.sim_now,
        resource_version=rv,
        include=req.table_include,
    )
    if state.columns_sent:
        doc["columnDefinitions"] = None
    state.columns_sent = True
    return _line(event_type, doc)


def _bookmark(req: WatchRequest, rv: int) -> bytes:
    return _line(
        "BOOKMARK",
        {"kind": req.kind, "apiVersion": req.api_version, "metadata": {"resourceVersion": str(rv)}},
    )


# --- the stream ----------------------------------------------------------------------------------


def _db(fn: Callable, *args: object) -> asyncio.Future:
    """Database work off the event loop, in the shared executor (not the single thread that
    thread-sensitive calls share, which would serialise every watcher)."""
    return sync_to_async(fn, thread_sensitive=False)(*args)


async def stream(req: WatchRequest) -> AsyncIterator[bytes]:
    """The watch body, one JSON document per line."""
    # An empty first chunk makes the server send the response headers now: clients (client-go's
    # reflector) block on them, and a quiet watch would otherwise send none until a change.
    yield b""
    deadline = time.monotonic() + req.timeout
    if req.since is None:
        rv, bodies, matched = await _db(_initial, req)
        state = _State(rv=rv, matched=matched)
        for body in bodies:
            yield _render(req, state, "ADDED", body)
    else:
        compacted = await _db(_compacted, req.cluster)
        if req.since < compacted:
            yield _expired(req.since, compacted)
            return
        state = _State(rv=req.since)
    async with _wakeups(req.cluster) as wait_for_write:
        async for line in _follow(req, state, deadline, wait_for_write):
            yield line


async def _follow(
    req: WatchRequest, state: _State, deadline: float, wait_for_write: Callable
) -> AsyncIterator[bytes]:
    """Changes after ``state.rv`` until the deadline, bookmarks in between when asked."""
    next_bookmark = time.monotonic() + req.bookmark_every
    while True:
        if not await _db(_apiserver_running, req.cluster):
            return
        changes = await _db(_changes, req, state.rv)
        if changes:
            await _db(_refresh_clock, req.cluster)
            for event_type, body in await _db(_translate, req, state, changes):
                yield _render(req, state, event_type, body)
            state.rv = changes[-1].rv
            if len(changes) == BATCH:
                continue
        now = time.monotonic()
        if now >= deadline:
            return
        if req.bookmarks and now >= next_bookmark:
            current = await _db(_bookmark_rv, req, state.rv)
            if current is not None:
                state.rv = current
                yield _bookmark(req, current)
                next_bookmark = now + req.bookmark_every
        wait = min(IDLE_POLL_SECONDS, deadline - now)
        if req.bookmarks:
            wait = min(wait, max(0.0, next_bookmark - now))
        await wait_for_write(wait)


@contextlib.asynccontextmanager
async def _wakeups(cluster: Cluster) -> AsyncIterator[Callable]:
    """A function that sleeps until the cluster's next committed write (its broadcast on the
    channel layer) or the given seconds, whichever comes first."""
    layer = get_channel_layer()
    if layer is None:
        yield asyncio.sleep
        return
    group = broadcast.group_name(cluster.pk)
    channel = await layer.new_channel()
    await layer.group_add(group, channel)

    async def wait(seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(layer.receive(channel), timeout=seconds)

    try:
        yield wait
    finally:
        await layer.group_discard(group, channel)


def _apiserver_running(cluster: Cluster) -> bool:
    cluster.refresh_from_db(fields=["components"])
    return bool(cluster.components.get("kube-apiserver", True))


def _refresh_clock(cluster: Cluster) -> None:
    cluster.refresh_from_db(fields=["sim_now"])


def _bookmark_rv(req: WatchRequest, sent: int) -> int | None:
    """The cluster's newest rv if every change of the watched kind up to it has been sent
    (a bookmark must not skip one), else None: send those first. A committed rv implies its
    change-log entry and every earlier one are committed (writers hold the cluster row)."""
    req.cluster.refresh_from_db(fields=["resource_version"])
    newest = req.cluster.resource_version
    pending = Change.objects.filter(cluster=req.cluster, kind=req.kind, rv__gt=sent, rv__lte=newest)
    if req.namespace is not None:
        pending = pending.filter(namespace=req.namespace)
    return None if pending.exists() else max(newest, sent)
