"""Forking a cluster: a private copy of its current state (docs/classroom.md#sandboxes).

A fork copies the cluster's clock, timings and switches, every object (the API's and the
simulator's), the controllers' cursors and memory and their pending wakeups, so the copy goes
on exactly as the original would have. Objects get new UIDs (a UID names one object in one
cluster); every reference to an old UID inside the copy (ownerReferences, an EndpointSlice's
targetRef, an Event's involvedObject, the typed ``owner_uid`` column) is rewritten. The change
log is not copied: the copy's history starts at the fork (``compacted_rv`` is set to the fork's
resourceVersion, so a controller whose cursor lagged relists, and a watch from before the fork
gets 410 Gone, as after a compaction).

``classroom_sandboxes_create`` forks one cluster for every student of a class who has no
sandbox of it yet, in one action.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction

from cluster.models import (
    Classroom,
    Cluster,
    ControllerState,
    HistoryBase,
    KubeObject,
    Student,
    Wakeup,
)
from cluster.services.clusters import cluster_create
from cluster.services.errors import LimitExceeded

SANDBOX_PREFIX = "sb"
TOO_MANY = "{count} sandboxes would pass the installation's limit of {limit} clusters"


def rewrite_uids(value: Any, uids: dict[str, str]) -> Any:
    """``value`` with every string that is an old UID replaced by its new one."""
    if isinstance(value, str):
        return uids.get(value, value)
    if isinstance(value, list):
        return [rewrite_uids(v, uids) for v in value]
    if isinstance(value, dict):
        return {k: rewrite_uids(v, uids) for k, v in value.items()}
    return value


def cluster_fork(
    *,
    source: Cluster,
    name: str,
    owner_id: int | None = None,
    sandbox_of_id: int | None = None,
    wall_now: float | None = None,
) -> Cluster:
    """A new cluster named ``name`` holding a copy of ``source`` as it is now."""
    now = time.time() if wall_now is None else wall_now
    with transaction.atomic():
        # The source's row lock: no write lands in it while it is copied.
        source = Cluster.objects.select_for_update().get(pk=source.pk)
        fork = cluster_create(
            name=name,
            profile=source.profile,
            speed=source.speed,
            wall_now=now,
            dual_stack=source.dual_stack,
            owner_id=owner_id,
            sandbox_of_id=sandbox_of_id,
            bare=True,
        )
        Cluster.objects.filter(pk=fork.pk).update(
            resource_version=source.resource_version,
            compacted_rv=source.resource_version,
            sim_now=source.sim_now,
            clock_wall=now,
            paused=source.paused,
            timings=source.timings,
            components=source.components,
            proxy_mode=source.proxy_mode,
            lesson=source.lesson,
            lesson_step=source.lesson_step,
        )
        objects = list(KubeObject.objects.filter(cluster=source).order_by("pk"))
        uids = {str(o.uid): str(uuid.uuid4()) for o in objects}
        copies = []
        for o in objects:
            copies.append(
                KubeObject(
                    cluster=fork,
                    kind=o.kind,
                    namespace=o.namespace,
                    name=o.name,
                    uid=uids[str(o.uid)],
                    resource_version=o.resource_version,
                    owner_uid=uids.get(str(o.owner_uid), o.owner_uid) if o.owner_uid else None,
                    node_name=o.node_name,
                    phase=o.phase,
                    deleting=o.deleting,
                    search_key=o.search_key,
                    stamp=o.stamp,
                    req_cpu=o.req_cpu,
                    req_memory=o.req_memory,
                    nz_cpu=o.nz_cpu,
                    nz_memory=o.nz_memory,
                    body=rewrite_uids(o.body, uids),
                    sim=rewrite_uids(o.sim, uids),
                )
            )
        KubeObject.objects.bulk_create(copies, batch_size=500)
        # The fork's history starts here (time travel replays from this state).
        HistoryBase.objects.create(
            cluster=fork,
            rv=source.resource_version,
            sim_time=source.sim_now,
            bodies=[c.body for c in copies],
        )
        ControllerState.objects.bulk_create(
            [
                ControllerState(
                    cluster=fork,
                    controller=s.controller,
                    cursor_rv=s.cursor_rv,
                    last_resync=s.last_resync,
                    data=rewrite_uids(s.data, uids),
                )
                for s in ControllerState.objects.filter(cluster=source)
            ]
        )
        Wakeup.objects.bulk_create(
            [
                Wakeup(cluster=fork, controller=w.controller, key=w.key, due=w.due)
                for w in Wakeup.objects.filter(cluster=source)
            ]
        )
    return Cluster.objects.get(pk=fork.pk)


def sandbox_name(classroom: Classroom, student: Student) -> str:
    return f"{SANDBOX_PREFIX}-{classroom.join_code.lower()}-{student.pk}"


def classroom_sandboxes_create(*, classroom: Classroom, source: Cluster) -> list[Cluster]:
    """A sandbox of ``source`` for every student of the class without one yet (an existing
    sandbox is replaced by a new fork: "hand out a fresh copy")."""
    students = list(classroom.students.all())
    existing = {c.sandbox_of_id: c for c in Cluster.objects.filter(sandbox_of__classroom=classroom)}
    new = sum(1 for s in students if s.pk not in existing)
    limit = settings.K8SVIZ_MAX_CLUSTERS
    if Cluster.objects.count() + new > limit:
        raise LimitExceeded(TOO_MANY.format(count=new, limit=limit))
    made = []
    now = time.time()
    for student in students:
        old = existing.get(student.pk)
        if old is not None:
            old.delete()
        made.append(
            cluster_fork(
                source=source,
                name=sandbox_name(classroom, student),
                sandbox_of_id=student.pk,
                wall_now=now,
            )
        )
    return made
