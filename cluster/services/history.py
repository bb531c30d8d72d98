"""Writes of time travel (docs/replay.md): the history's base state (kept when compaction drops
old changes and when a fork starts a history), and exporting / importing a history file."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from django.db import transaction

from cluster import history
from cluster.models import Change, Cluster, HistoryBase, KubeObject
from cluster.services import store
from cluster.services.clusters import cluster_create
from cluster.services.errors import Invalid
from cluster.services.sandboxes import rewrite_uids

MAX_IMPORT_BYTES = 64 * 1024 * 1024
ERR_NOT_HISTORY = "not a k8sviz history file ({detail})"
CHANGE_TYPES = {t.value for t in Change.Type}


def history_base_save(*, cluster: Cluster, rv: int) -> None:
    """Make the state at ``rv`` the start of the cluster's history."""
    state, sim_time = history.state_at(cluster=cluster, rv=rv)
    HistoryBase.objects.update_or_create(
        cluster=cluster,
        defaults={"rv": rv, "sim_time": sim_time, "bodies": list(state.values())},
    )


def history_export(*, cluster: Cluster) -> dict:
    """The cluster's whole replayable history as one JSON document."""
    base_rv, base_time, base = history.base_of(cluster)
    changes = [
        {"rv": rv, "type": t, "actor": actor, "simTime": sim_time, "object": body}
        for rv, t, actor, sim_time, body in Change.objects.filter(cluster=cluster, rv__gt=base_rv)
        .order_by("rv")
        .values_list("rv", "type", "actor", "sim_time", "object")
    ]
    return {
        "format": history.FORMAT,
        "cluster": {
            "name": cluster.name,
            "profile": cluster.profile,
            "timings": cluster.timings,
            "speed": cluster.speed,
            "dualStack": cluster.dual_stack,
            "components": cluster.components,
            "proxyMode": cluster.proxy_mode,
            "resourceVersion": cluster.resource_version,
            "simNow": cluster.sim_now,
        },
        "base": {"rv": base_rv, "simTime": base_time, "objects": base},
        "changes": changes,
    }


def _bad(detail: str) -> Invalid:
    return Invalid(ERR_NOT_HISTORY.format(detail=detail))


def _parse(raw: bytes) -> dict:
    if len(raw) > MAX_IMPORT_BYTES:
        raise _bad(f"larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB")
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as err:
        raise _bad(f"not JSON: {err}") from None
    if not isinstance(doc, dict) or doc.get("format") != history.FORMAT:
        raise _bad(f'"format" must be "{history.FORMAT}"')
    base, changes = doc.get("base"), doc.get("changes")
    if not isinstance(base, dict) or not isinstance(base.get("objects"), list):
        raise _bad('"base.objects" must be a list')
    if not isinstance(changes, list):
        raise _bad('"changes" must be a list')
    last = int(base.get("rv") or 0)
    for i, change in enumerate(changes):
        ok = (
            isinstance(change, dict)
            and change.get("type") in CHANGE_TYPES
            and isinstance(change.get("object"), dict)
            and isinstance(change.get("rv"), int)
            and change["rv"] > last
        )
        if not ok:
            raise _bad(f"changes[{i}] is not a change in resourceVersion order")
        last = change["rv"]
    return doc


def _uid_map(doc: dict) -> dict[str, str]:
    """A new UID for every object the history names (UIDs are unique in an installation, and
    the original cluster may live here too)."""
    bodies = [*doc["base"]["objects"], *(c["object"] for c in doc["changes"])]
    uids = {(b.get("metadata") or {}).get("uid") for b in bodies}
    return {uid: str(uuid.uuid4()) for uid in uids if isinstance(uid, str) and uid}


def history_import(
    *, raw: bytes, name: str, owner_id: int | None = None, wall_now: float | None = None
) -> Cluster:
    """A new, paused cluster holding an exported history: its objects as they were at the
    end, and the whole history to replay. (Its objects get new UIDs as a fork's do.)"""
    doc = _parse(raw)
    uids = _uid_map(doc)
    doc = {
        **doc,
        "base": {**doc["base"], "objects": rewrite_uids(doc["base"]["objects"], uids)},
        "changes": rewrite_uids(doc["changes"], uids),
    }
    info = doc.get("cluster") or {}
    base, changes = doc["base"], doc["changes"]
    now = time.time() if wall_now is None else wall_now
    with transaction.atomic():
        cluster = cluster_create(
            name=name,
            profile=str(info.get("profile") or "classroom"),
            dual_stack=bool(info.get("dualStack")),
            owner_id=owner_id,
            wall_now=now,
            bare=True,
        )
        final = history.fold(base["objects"], ((c["type"], c["object"]) for c in changes))
        end_rv = changes[-1]["rv"] if changes else int(base.get("rv") or 0)
        end_time = changes[-1].get("simTime", 0.0) if changes else float(base.get("simTime") or 0)
        Cluster.objects.filter(pk=cluster.pk).update(
            resource_version=end_rv,
            compacted_rv=int(base.get("rv") or 0),
            sim_now=float(end_time or cluster.sim_now),
            paused=True,
            components=info.get("components") or cluster.components,
            timings=info.get("timings") if isinstance(info.get("timings"), dict) else {},
        )
        rows = [store.object_row(cluster=cluster, body=body) for body in final.values()]
        KubeObject.objects.bulk_create(rows, batch_size=500)
        HistoryBase.objects.create(
            cluster=cluster,
            rv=int(base.get("rv") or 0),
            sim_time=float(base.get("simTime") or 0),
            bodies=base["objects"],
        )
        Change.objects.bulk_create([_change(cluster, c) for c in changes], batch_size=500)
    return Cluster.objects.get(pk=cluster.pk)


def _change(cluster: Cluster, change: dict[str, Any]) -> Change:
    body = change["object"]
    meta = body.get("metadata") or {}
    return Change(
        cluster=cluster,
        rv=change["rv"],
        type=change["type"],
        kind=body.get("kind", ""),
        namespace=meta.get("namespace", "") or "",
        name=meta.get("name", ""),
        uid=meta.get("uid") or "00000000-0000-0000-0000-000000000000",
        node_name=(body.get("spec") or {}).get("nodeName", "") or "",
        actor=str(change.get("actor") or "import")[:100],
        sim_time=float(change.get("simTime") or 0),
        object=body,
    )
