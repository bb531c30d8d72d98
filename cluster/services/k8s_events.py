"""Kubernetes Events (``kubectl get events``), recorded as client-go's event recorder does.

The correlator aggregates a repeat of the same event (same involved object, reason, message,
source) seen within 10 minutes into the existing Event: count + 1 and a new lastTimestamp,
instead of a new object. Events are named ``<involved name>.<hex nanoseconds>``.
"""

from __future__ import annotations

import hashlib

from django.db.models import QuerySet

from cluster import k8s
from cluster.models import Cluster, KubeObject
from cluster.services import store

AGGREGATE_WINDOW = 600.0

NORMAL = "Normal"
WARNING = "Warning"


def _same_key(cluster: Cluster, key: str) -> QuerySet[KubeObject]:
    """Events with this correlation key: a handful at most (one per aggregation window until
    the TTL expires them). Deliberately without ORDER BY: sorting by stamp made the database
    walk every Event of the cluster in stamp order looking for the key, so each new Event cost
    grew with the cluster's history instead of staying one index seek."""
    return KubeObject.objects.filter(cluster=cluster, kind="Event", search_key=key)


def event_record(
    *,
    cluster: Cluster,
    involved: dict,
    reason: str,
    message: str,
    component: str,
    type_: str = NORMAL,
    host: str = "",
    field_path: str = "",
) -> KubeObject:
    """Record (or aggregate) an Event about ``involved`` (an object body) by ``component``."""
    meta = involved["metadata"]
    key = hashlib.sha1(
        "|".join((meta.get("uid", ""), reason, message, component, host, type_)).encode()
    ).hexdigest()
    now = cluster.sim_now
    existing = max(
        _same_key(cluster, key),
        key=lambda e: e.stamp if e.stamp is not None else float("-inf"),
        default=None,
    )
    if (
        existing is not None
        and existing.stamp is not None
        and now - existing.stamp <= AGGREGATE_WINDOW
    ):
        existing.body["count"] = int(existing.body.get("count", 1)) + 1
        existing.body["lastTimestamp"] = k8s.rfc3339(now)
        return store.object_update(obj=existing, actor=component)
    namespace = meta.get("namespace") or "default"
    involved_ref = {
        "kind": involved["kind"],
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "apiVersion": involved.get("apiVersion", "v1"),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    if meta.get("namespace"):
        involved_ref["namespace"] = meta["namespace"]
    if field_path:
        involved_ref["fieldPath"] = field_path
    body = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            # Nanoseconds of simulated time plus the cluster's write counter keep names unique
            # when one object gets several events in the same simulated instant.
            "name": f"{meta['name']}.{int(now * 1e9) + cluster.resource_version:x}",
            "namespace": namespace,
        },
        "involvedObject": involved_ref,
        "reason": reason,
        "message": message,
        "source": {"component": component, **({"host": host} if host else {})},
        "firstTimestamp": k8s.rfc3339(now),
        "lastTimestamp": k8s.rfc3339(now),
        "count": 1,
        "type": type_,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": host,
    }
    return store.object_create(cluster=cluster, body=body, actor=component, search_key=key)


def events_expire(*, cluster: Cluster, ttl: float, limit: int = 1000) -> int:
    """Delete Events whose lastTimestamp is older than the TTL (kube-apiserver --event-ttl, 1h),
    oldest first; each removal is logged as DELETED, as etcd's lease expiry shows in a watch."""
    horizon = cluster.sim_now - ttl
    expired = list(
        KubeObject.objects.filter(cluster=cluster, kind="Event", stamp__lt=horizon).order_by(
            "stamp"
        )[:limit]
    )
    for event in expired:
        event.cluster = cluster
        store.object_remove(obj=event, actor="kube-apiserver")
    return len(expired)
