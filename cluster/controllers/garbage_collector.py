"""Garbage collector and pod GC (kube-controller-manager).

Models k8s-reference §3.2 and §1.4:

- Background cascading deletion: once an owner is gone, each dependent whose ownerReferences
  all point at vanished owners is deleted (a pod gracefully, so a running one terminates first).
  Dependents that still have a living owner only lose the dangling reference.
- Pod GC: a pod bound to a node that no longer exists is an orphan; it is marked ``Failed`` and
  removed at once (the node is gone, nobody can confirm its termination).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from cluster import k8s
from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change, KubeObject
from cluster.services import store
from cluster.services.pods import pod_delete


class GarbageCollector(Controller):
    name = "garbage-collector"
    watches = ("Deployment", "ReplicaSet", "Pod", "Node", "Lease")

    def keys_for(self, change: Change) -> Iterable[str]:
        if change.type == Change.Type.DELETED:
            yield f"owner:{change.uid}"
            if change.kind == "Node":
                yield f"node:{change.name}"
        elif change.type == Change.Type.ADDED and change.owner_uid:
            yield f"dependent:{change.uid}"

    def all_keys(self, ctx: SyncContext) -> Iterable[str]:
        live = set(
            str(u)
            for u in KubeObject.objects.filter(cluster=ctx.cluster).values_list("uid", flat=True)
        )
        for uid, owner in (
            ctx.objects("Pod").exclude(owner_uid=None).values_list("uid", "owner_uid")
        ):
            if str(owner) not in live:
                yield f"dependent:{uid}"
        for uid, owner in (
            ctx.objects("ReplicaSet").exclude(owner_uid=None).values_list("uid", "owner_uid")
        ):
            if str(owner) not in live:
                yield f"dependent:{uid}"
        nodes = set(ctx.objects("Node").values_list("name", flat=True))
        for node in (
            set(ctx.objects("Pod").exclude(node_name="").values_list("node_name", flat=True))
            - nodes
        ):
            yield f"node:{node}"

    def sync(self, ctx: SyncContext, key: str) -> None:
        kind, _, rest = key.partition(":")
        if kind == "owner":
            for dependent in KubeObject.objects.filter(
                cluster=ctx.cluster, owner_uid=uuid.UUID(rest)
            ):
                self._collect(ctx, dependent)
            # Objects with a non-controller reference to it are found by the resync.
        elif kind == "dependent":
            obj = ctx.get_uid(rest)
            if obj is not None:
                self._collect(ctx, obj)
        elif kind == "node":
            if ctx.get("Node", rest) is None:
                for pod in ctx.objects("Pod").filter(node_name=rest):
                    self._orphan_pod(ctx, pod)
                # The node's Lease names the Node as a (non-controller) owner.
                lease = ctx.get("Lease", rest, "kube-node-lease")
                if lease is not None:
                    store.object_remove(obj=lease, actor=self.name)

    def _collect(self, ctx: SyncContext, obj: KubeObject) -> None:
        obj.cluster = ctx.cluster
        refs = obj.body["metadata"].get("ownerReferences") or []
        if not refs:
            return
        alive = set(
            str(u)
            for u in KubeObject.objects.filter(
                cluster=ctx.cluster, uid__in=[r["uid"] for r in refs]
            ).values_list("uid", flat=True)
        )
        if alive == {r["uid"] for r in refs}:
            return
        if alive:
            obj.body["metadata"]["ownerReferences"] = [r for r in refs if r["uid"] in alive]
            store.object_update(obj=obj, actor=self.name)
            return
        if obj.deleting:
            return
        if obj.kind == "Pod":
            pod_delete(cluster=ctx.cluster, pod=obj, actor=self.name)
        else:
            store.object_remove(obj=obj, actor=self.name)

    def _orphan_pod(self, ctx: SyncContext, pod: KubeObject) -> None:
        """PodGC gcOrphaned: Failed, then force-deleted."""
        pod.cluster = ctx.cluster
        if pod.phase not in k8s.TERMINAL_PHASES:
            pod.status["phase"] = "Failed"
            k8s.set_condition(
                pod.status,
                "DisruptionTarget",
                "True",
                now=ctx.now,
                reason="DeletionByPodGC",
                message="PodGC: node no longer exists",
            )
            store.object_update(obj=pod, actor="pod-garbage-collector")
        store.object_remove(obj=pod, actor="pod-garbage-collector")
