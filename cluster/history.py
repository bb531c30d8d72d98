"""Time travel (docs/replay.md): any resourceVersion still in a cluster's history, rebuilt.

The history is a base state (``HistoryBase``: every object at some rv; none means an empty
cluster at rv 0) and the change log after it; each Change holds the whole object as it was
written. The state at rv N is the base with every change up to N applied in order (ADDED and
MODIFIED put the object, DELETED removes it), exactly what the live dashboard saw at N.

``replay_snapshot`` shapes that state like the live snapshot (``selectors.snapshot``), so the
same diagram draws it. ``export`` / ``history_import`` (in services) carry a history to a file and
back.
"""

from __future__ import annotations

from collections.abc import Iterable

from cluster import presenters
from cluster.models import Change, Cluster, HistoryBase
from cluster.selectors import SNAPSHOT_EVENTS, SNAPSHOT_KINDS

Key = tuple[str, str, str]
FORMAT = "k8sviz-history/v1"


def _key(body: dict) -> Key:
    meta = body.get("metadata") or {}
    return body.get("kind", ""), meta.get("namespace", "") or "", meta.get("name", "")


def fold(base: Iterable[dict], changes: Iterable[tuple[str, dict]]) -> dict[Key, dict]:
    """Pure: the objects after applying ``changes`` ((type, object) in rv order) to ``base``."""
    state = {_key(body): body for body in base}
    for change_type, body in changes:
        key = _key(body)
        if change_type == Change.Type.DELETED:
            state.pop(key, None)
        else:
            state[key] = body
    return state


def base_of(cluster: Cluster) -> tuple[int, float, list[dict]]:
    """(rv, simulated time, objects) the history starts from."""
    base = HistoryBase.objects.filter(cluster=cluster).first()
    if base is None:
        return 0, 0.0, []
    return base.rv, base.sim_time, list(base.bodies)


def history_range(*, cluster: Cluster) -> dict:
    """The replayable span: the first and last resourceVersion and simulated time. A history
    compacted before bases were kept cannot be rebuilt: ``available`` is then False."""
    first_rv, first_time, _ = base_of(cluster)
    if cluster.compacted_rv > first_rv:
        rv = cluster.resource_version
        return {
            "first": rv,
            "last": rv,
            "firstTime": cluster.sim_now,
            "lastTime": cluster.sim_now,
            "available": False,
        }
    changes = Change.objects.filter(cluster=cluster, rv__gt=first_rv)
    first = changes.order_by("rv").values_list("rv", "sim_time").first()
    last = changes.order_by("-rv").values_list("rv", "sim_time").first()
    if first is None:
        return {
            "first": first_rv,
            "last": first_rv,
            "firstTime": first_time,
            "lastTime": first_time,
            "available": True,
        }
    start = (first_rv, first_time) if first_rv else first
    return {
        "first": start[0],
        "last": last[0],
        "firstTime": start[1],
        "lastTime": last[1],
        "available": True,
    }


def state_at(*, cluster: Cluster, rv: int) -> tuple[dict[Key, dict], float]:
    """Every object at ``rv`` and the simulated time of the last change up to it."""
    base_rv, base_time, base = base_of(cluster)
    rows = list(
        Change.objects.filter(cluster=cluster, rv__gt=base_rv, rv__lte=rv)
        .order_by("rv")
        .values_list("type", "object", "sim_time")
    )
    state = fold(base, ((t, body) for t, body, _ in rows))
    return state, (rows[-1][2] if rows else base_time)


def replay_snapshot(*, cluster: Cluster, rv: int) -> dict:
    """The diagram's snapshot of the cluster as it was at ``rv`` (paused, no traffic)."""
    span = history_range(cluster=cluster)
    rv = max(span["first"], min(int(rv), span["last"]))
    state, sim_time = state_at(cluster=cluster, rv=rv)
    bodies = sorted(state.values(), key=_key)
    objects = [presenters.view(b) for b in bodies if b.get("kind") in SNAPSHOT_KINDS]
    events = [b for b in bodies if b.get("kind") == "Event"]
    events.sort(
        key=lambda b: (b.get("lastTimestamp") or "", int(b["metadata"].get("resourceVersion") or 0))
    )
    objects.extend(presenters.view(b) for b in events[-SNAPSHOT_EVENTS:])
    return {
        "type": "snapshot",
        "rv": rv,
        "cluster": {
            "name": cluster.name,
            "simNow": sim_time,
            "speed": cluster.speed,
            "paused": True,
            "profile": cluster.profile,
            "timings": cluster.timings,
            "components": cluster.components,
        },
        "objects": objects,
        "traffic": None,
        "trafficHistory": [],
        "replay": span,
    }
