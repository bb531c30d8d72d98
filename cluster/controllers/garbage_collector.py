"""Garbage collector and pod GC (kube-controller-manager).

Models k8s-reference §3.2 and §1.4:

- Background cascading deletion: once an owner is gone, each dependent whose ownerReferences
  all point at vanished owners is deleted (a pod gracefully, so a running one terminates first).
  Dependents that still have a living owner only lose the dangling reference.
- Pod GC: a pod bound to a node that no longer exists is an orphan; it is marked ``Failed`` and
  removed at once (the node is gone, nobody can confirm its termination).
- Foreground deletion (``foregroundDeletion`` finalizer, ``kubectl delete --cascade=foreground``):
  the owner stays, with its deletionTimestamp, while the collector deletes its dependents, each
  in the foreground in turn (a ReplicaSet waits for its pods, which terminate gracefully); once
  none is left the finalizer is removed and the owner goes (``processDeletingDependentsItem``).
- Orphan deletion (``orphan`` finalizer, ``--cascade=orphan``): the dependents lose their
  ownerReference to the owner, then the finalizer is removed and the owner goes
  (``orphanDependents``): the ReplicaSets and pods of a Deployment deleted this way stay.

And the namespace controller's part of kube-controller-manager (``pkg/controller/namespace``):
a Namespace being deleted (phase Terminating) has everything in it deleted, pods gracefully;
when nothing is left its ``kubernetes`` finalizer is removed and it goes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from cluster import k8s
from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change, KubeObject
from cluster.services import store
from cluster.services.pods import pod_delete


FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
NAMESPACE_RECHECK_SECONDS = 5.0


class GarbageCollector(Controller):
    name = "garbage-collector"
    watches = (
        "Deployment",
        "ReplicaSet",
        "Pod",
        "Node",
        "Lease",
        "Namespace",
        "Service",
        "EndpointSlice",
    )

    def keys_for(self, change: Change) -> Iterable[str]:
        if change.type == Change.Type.DELETED:
            if change.kind != "Event":
                yield f"owner:{change.uid}"
            if change.kind == "Node":
                yield f"node:{change.name}"
            if change.owner_uid:
                yield f"finalize:{change.owner_uid}"  # an owner may be waiting for it
            if change.namespace:
                yield f"namespace:{change.namespace}"
            return
        if change.type == Change.Type.ADDED and change.owner_uid:
            yield f"dependent:{change.uid}"
        meta = change.object.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            if change.kind == "Namespace":
                yield f"namespace:{change.name}"
            elif {FOREGROUND, ORPHAN} & set(meta.get("finalizers") or ()):
                yield f"finalize:{change.uid}"

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
        for obj in KubeObject.objects.filter(cluster=ctx.cluster, deleting=True).exclude(
            kind="Pod"
        ):
            if obj.kind == "Namespace":
                yield f"namespace:{obj.name}"
            elif {FOREGROUND, ORPHAN} & set(obj.body["metadata"].get("finalizers") or ()):
                yield f"finalize:{obj.uid}"
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
        elif kind == "finalize":
            obj = ctx.get_uid(rest)
            if obj is not None and obj.deleting:
                self._finalize(ctx, obj)
        elif kind == "namespace":
            self._terminate_namespace(ctx, rest)
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

    def _finalize(self, ctx: SyncContext, owner: KubeObject) -> None:
        owner.cluster = ctx.cluster
        meta = owner.body["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        dependents = list(KubeObject.objects.filter(cluster=ctx.cluster, owner_uid=owner.uid))
        if ORPHAN in finalizers:
            for dependent in dependents:
                dependent.cluster = ctx.cluster
                refs = dependent.body["metadata"].get("ownerReferences") or []
                dependent.body["metadata"]["ownerReferences"] = [
                    r for r in refs if r.get("uid") != str(owner.uid)
                ]
                if not dependent.body["metadata"]["ownerReferences"]:
                    del dependent.body["metadata"]["ownerReferences"]
                store.object_update(obj=dependent, actor=self.name)
            finalizers.remove(ORPHAN)
        elif FOREGROUND in finalizers:
            for dependent in dependents:
                if not dependent.deleting:
                    self._delete_in_foreground(ctx, dependent)
            if dependents:
                return  # their deletions bring this owner back here
            finalizers.remove(FOREGROUND)
        else:
            return
        if finalizers:
            meta["finalizers"] = finalizers
            store.object_update(obj=owner, actor=self.name)
        else:
            store.object_remove(obj=owner, actor=self.name)

    def _delete_in_foreground(self, ctx: SyncContext, obj: KubeObject) -> None:
        obj.cluster = ctx.cluster
        if obj.kind == "Pod":
            pod_delete(cluster=ctx.cluster, pod=obj, actor=self.name)
            return
        meta = obj.body["metadata"]
        meta["finalizers"] = [*(meta.get("finalizers") or []), FOREGROUND]
        meta["deletionTimestamp"] = k8s.rfc3339(ctx.now)
        meta["deletionGracePeriodSeconds"] = 0
        store.object_update(obj=obj, actor=self.name)

    def _terminate_namespace(self, ctx: SyncContext, name: str) -> None:
        namespace = ctx.get("Namespace", name)
        if namespace is None or not namespace.deleting:
            return
        remaining = 0
        for obj in KubeObject.objects.filter(cluster=ctx.cluster, namespace=name):
            remaining += 1
            if obj.deleting:
                continue
            obj.cluster = ctx.cluster
            if obj.kind == "Pod":
                pod_delete(cluster=ctx.cluster, pod=obj, actor="namespace-controller")
            else:
                store.object_remove(obj=obj, actor="namespace-controller")
        if remaining:
            ctx.reschedule(f"namespace:{name}", ctx.now + NAMESPACE_RECHECK_SECONDS)
            return
        namespace.cluster = ctx.cluster
        store.object_remove(obj=namespace, actor="namespace-controller")

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
