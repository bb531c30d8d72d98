"""The one write path to the object store (our etcd).

Every create, update and delete of a Kubernetes object goes through :func:`object_create`,
:func:`object_update` or :func:`object_remove`. Each, inside the caller's transaction: bumps the
cluster's resourceVersion, writes the row with its typed index columns, appends an entry to the
change log (who did it, at what simulated time, the object after the change), and queues the
live delta that ``cluster.broadcast`` sends once the transaction commits.

The store refuses every write while the cluster's kube-apiserver or etcd is stopped
(:class:`~cluster.services.errors.ApiServerUnavailable`,
:class:`~cluster.services.errors.EtcdUnavailable`): this is the one place the outage is enforced,
for users, kubectl and controllers alike. Machines are exempt: they are the simulator's physical
computers, not API objects, so powering one on or off still works.

Updates use optimistic concurrency: the row is written only if its resourceVersion is still the
one the caller read, otherwise :class:`~cluster.services.errors.Conflict` is raised (409).
"""

from __future__ import annotations

import random
import uuid

from django.db import transaction
from django.db.models import F

from cluster import broadcast, k8s, presenters
from cluster.models import Change, Cluster, KubeObject
from cluster.scheduling.types import pod_requests
from cluster.services.errors import (
    APISERVER_STOPPED,
    CONFLICT,
    ETCD_STOPPED,
    RESOURCE_NAMES,
    AlreadyExists,
    ApiServerUnavailable,
    Conflict,
    EtcdUnavailable,
    Invalid,
    not_found,
)

_rng = random.SystemRandom()


#: Kinds that are not API objects but the simulator's own state: writable during an outage.
SIM_KINDS = frozenset({"Machine"})


def api_unavailable(components: dict) -> ApiServerUnavailable | EtcdUnavailable | None:
    """The error a write meets with these control-plane components running, if any."""
    if not components.get("kube-apiserver", True):
        return ApiServerUnavailable(APISERVER_STOPPED)
    if not components.get("etcd", True):
        return EtcdUnavailable(ETCD_STOPPED)
    return None


def next_resource_version(cluster: Cluster, *, kind: str = "") -> int:
    """Increment the cluster's counter. The row lock this takes serialises a cluster's writers,
    so change-log entries commit in resourceVersion order.

    It is also where a stopped kube-apiserver or etcd refuses the write: the components are
    read under that row lock, so a write that commits after a stop is impossible (the caller's
    transaction rolls back the increment)."""
    Cluster.objects.filter(pk=cluster.pk).update(resource_version=F("resource_version") + 1)
    rv, components = (
        Cluster.objects.filter(pk=cluster.pk).values_list("resource_version", "components").get()
    )
    if kind not in SIM_KINDS:
        error = api_unavailable(components or {})
        if error is not None:
            raise error
    cluster.resource_version = rv
    return rv


def object_row(*, cluster: Cluster, body: dict) -> KubeObject:
    """An unsaved row for ``body`` with its typed columns filled (bulk copies: an imported
    history's objects). Its resourceVersion is the body's."""
    obj = KubeObject(
        cluster=cluster,
        uid=body["metadata"]["uid"],
        resource_version=int(body["metadata"].get("resourceVersion") or 0),
        body=body,
    )
    _index_columns(obj)
    return obj


def _index_columns(obj: KubeObject) -> None:
    body = obj.body
    meta = body["metadata"]
    obj.kind = body["kind"]
    obj.name = meta["name"]
    obj.namespace = meta.get("namespace", "") or ""
    ref = k8s.controller_of(body)
    obj.owner_uid = uuid.UUID(ref["uid"]) if ref else None
    obj.node_name = body.get("spec", {}).get("nodeName", "") if obj.kind == "Pod" else ""
    status = body.get("status") or {}
    if obj.kind == "Pod":
        obj.phase = status.get("phase", "")
    elif obj.kind == "Node":
        obj.phase = k8s.node_ready_status(body)
    elif obj.kind == "Namespace":
        obj.phase = status.get("phase", "")
    else:
        obj.phase = ""
    obj.deleting = bool(meta.get("deletionTimestamp"))
    if obj.kind == "Pod":
        real, nonzero = pod_requests(body.get("spec", {}))
        obj.req_cpu, obj.req_memory = real.cpu, real.memory
        obj.nz_cpu, obj.nz_memory = nonzero.cpu, nonzero.memory
    elif obj.kind == "Lease":
        obj.stamp = k8s.parse_micro_time(body.get("spec", {}).get("renewTime"))
    elif obj.kind == "Event":
        obj.stamp = k8s.parse_time(body.get("lastTimestamp"))


def wake_controllers(cluster: Cluster) -> None:
    """A write from outside the reconcile loop (a user, kubectl) wakes the cluster's
    controllers once this transaction commits, instead of waiting for the next tick."""
    from cluster import reconcile, tasks  # noqa: PLC0415 - tasks import the services

    if reconcile.in_reconcile.get():
        return
    marker = getattr(transaction.get_connection(), "_k8sviz_wake", None)
    if marker is not None and any(
        entry[1] is marker for entry in transaction.get_connection().run_on_commit
    ):
        return

    def wake() -> None:
        tasks.reconcile_cluster.delay(cluster.pk)

    transaction.get_connection()._k8sviz_wake = wake  # type: ignore[attr-defined]
    transaction.on_commit(wake)


def _log(obj: KubeObject, *, change: str, actor: str, rv: int) -> None:
    cluster = obj.cluster
    wake_controllers(cluster)
    Change.objects.create(
        cluster=cluster,
        rv=rv,
        type=change,
        kind=obj.kind,
        namespace=obj.namespace,
        name=obj.name,
        uid=obj.uid,
        owner_uid=obj.owner_uid,
        node_name=obj.node_name,
        actor=actor,
        sim_time=cluster.sim_now,
        object=obj.body,
    )
    broadcast.queue_delta(
        cluster.pk,
        broadcast.delta_message(
            rv=rv,
            change=change,
            actor=actor,
            sim_time=cluster.sim_now,
            view=presenters.view(obj.body, sim=obj.sim),
        ),
    )


def object_get(*, cluster: Cluster, kind: str, namespace: str, name: str) -> KubeObject:
    """The stored row a write starts from, or NotFound (``pods "x" not found``)."""
    obj = KubeObject.objects.filter(
        cluster=cluster, kind=kind, namespace=namespace, name=name
    ).first()
    if obj is None:
        raise not_found(kind, name)
    obj.cluster = cluster
    return obj


def new_object(
    *, cluster: Cluster, body: dict, rv: int, sim: dict | None = None, search_key: str = ""
) -> KubeObject:
    """The unsaved row for a new object at resourceVersion ``rv``: the server-set metadata
    (uid, resourceVersion, creationTimestamp, generation) filled into ``body`` and the typed
    index columns copied from it. ``object_create`` saves and logs it; the tick-cost bench
    bulk-inserts many."""
    meta = body["metadata"]
    obj_uid = uuid.uuid4()
    meta["uid"] = str(obj_uid)
    meta["resourceVersion"] = str(rv)
    meta["creationTimestamp"] = k8s.rfc3339(cluster.sim_now)
    if "spec" in body and body["kind"] not in {"Node", "Namespace", "Lease", "Machine"}:
        meta["generation"] = 1
    obj = KubeObject(
        cluster=cluster,
        uid=obj_uid,
        resource_version=rv,
        body=body,
        sim=sim or {},
        search_key=search_key,
    )
    _index_columns(obj)
    return obj


def object_create(
    *,
    cluster: Cluster,
    body: dict,
    actor: str,
    sim: dict | None = None,
    rng: random.Random | None = None,
    search_key: str = "",
) -> KubeObject:
    """Store a new object: fill in server-set metadata (uid, creationTimestamp,
    resourceVersion, generation; a name from generateName) and log it as ADDED."""
    kind = body["kind"]
    body.setdefault("apiVersion", k8s.API_VERSIONS.get(kind, "v1"))
    meta = body.setdefault("metadata", {})
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = meta["generateName"] + k8s.random_suffix(rng or _rng)
    name = meta.get("name") or ""
    if not name:
        raise Invalid(
            f'{kind} "" is invalid: metadata.name: Required value: name or generateName is required',
            causes=[{"field": "metadata.name", "message": "Required value"}],
        )
    if kind in k8s.CLUSTER_SCOPED:
        meta.pop("namespace", None)
    else:
        meta.setdefault("namespace", "default")
    namespace = meta.get("namespace", "")
    if KubeObject.objects.filter(
        cluster=cluster, kind=kind, namespace=namespace, name=name
    ).exists():
        raise AlreadyExists(f'{RESOURCE_NAMES.get(kind, kind)} "{name}" already exists')
    with transaction.atomic():
        rv = next_resource_version(cluster, kind=kind)
        obj = new_object(cluster=cluster, body=body, rv=rv, sim=sim, search_key=search_key)
        obj.save(force_insert=True)
        _log(obj, change=Change.Type.ADDED, actor=actor, rv=rv)
    return obj


def object_update(
    *,
    obj: KubeObject,
    actor: str,
    spec_changed: bool = False,
) -> KubeObject:
    """Write ``obj.body``/``obj.sim`` back if nobody else changed the row since it was read.

    ``spec_changed`` bumps metadata.generation, as the API server does for spec writes.
    """
    cluster = obj.cluster
    with transaction.atomic():
        old_rv = obj.resource_version
        rv = next_resource_version(cluster, kind=obj.kind)
        meta = obj.body["metadata"]
        meta["resourceVersion"] = str(rv)
        if spec_changed and "generation" in meta:
            meta["generation"] = int(meta["generation"]) + 1
        obj.resource_version = rv
        _index_columns(obj)
        updated = KubeObject.objects.filter(pk=obj.pk, resource_version=old_rv).update(
            resource_version=rv,
            body=obj.body,
            sim=obj.sim,
            owner_uid=obj.owner_uid,
            node_name=obj.node_name,
            phase=obj.phase,
            deleting=obj.deleting,
            search_key=obj.search_key,
            stamp=obj.stamp,
            req_cpu=obj.req_cpu,
            req_memory=obj.req_memory,
            nz_cpu=obj.nz_cpu,
            nz_memory=obj.nz_memory,
        )
        if not updated:
            raise Conflict(
                CONFLICT.format(resource=RESOURCE_NAMES.get(obj.kind, obj.kind), name=obj.name)
            )
        _log(obj, change=Change.Type.MODIFIED, actor=actor, rv=rv)
    return obj


def object_remove(*, obj: KubeObject, actor: str) -> None:
    """Remove the object from the store for good and log it as DELETED."""
    cluster = obj.cluster
    with transaction.atomic():
        old_rv = obj.resource_version
        rv = next_resource_version(cluster, kind=obj.kind)
        obj.body["metadata"]["resourceVersion"] = str(rv)
        deleted, _ = KubeObject.objects.filter(pk=obj.pk, resource_version=old_rv).delete()
        if not deleted:
            raise Conflict(
                CONFLICT.format(resource=RESOURCE_NAMES.get(obj.kind, obj.kind), name=obj.name)
            )
        obj.resource_version = rv
        _log(obj, change=Change.Type.DELETED, actor=actor, rv=rv)


def object_sim_update(*, obj: KubeObject) -> None:
    """Persist simulator-only state (never served by the API, no resourceVersion bump)."""
    KubeObject.objects.filter(pk=obj.pk).update(sim=obj.sim)
