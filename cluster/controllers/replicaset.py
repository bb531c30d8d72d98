"""ReplicaSet controller: keeps ``spec.replicas`` active pods for every ReplicaSet.

Models ``pkg/controller/replicaset/replica_set.go`` (k8s-reference §3.1):

- active pods are the owned pods that are neither terminal nor being deleted (``FilterActivePods``),
  so a replacement never waits for an evicted pod to finish terminating;
- missing pods are created from the template with ``generateName: <rs>-``, a controller
  ownerReference and a ``SuccessfulCreate`` event, at most ``BurstReplicas`` (500) per sync;
- surplus pods are deleted in ``ActivePodsWithRanks`` order (unassigned, then Pending < Unknown <
  Running, not-ready before ready, deletion cost, more pods of the same Deployment on the node,
  ready for less time, more restarts, newer), with ``SuccessfulDelete`` events;
- status (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas, observedGeneration)
  is written only when it changed.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from cluster import k8s
from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change, KubeObject
from cluster.services import store
from cluster.services.k8s_events import event_record
from cluster.services.pods import pod_create, pod_delete

BURST_REPLICAS = 500
DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


@dataclass(frozen=True)
class RankedPod:
    """What ActivePodsWithRanks.Less compares, extracted from a pod."""

    name: str
    uid: str
    assigned: bool
    phase_rank: int
    ready: bool
    deletion_cost: int
    colocated: int  # active pods of the same Deployment on this pod's node
    ready_since: float | None
    restarts: int
    created: float


def rank_key(pod: RankedPod) -> tuple:
    """Sort key: pods that sort first are deleted first."""
    return (
        pod.assigned,
        pod.phase_rank,
        pod.ready,
        pod.deletion_cost,
        -pod.colocated,
        -(pod.ready_since or 0.0) if pod.ready else 0.0,
        -pod.restarts,
        -pod.created,
        pod.uid,
    )


def plan_deletions(pods: list[RankedPod], count: int) -> list[str]:
    """Names of the ``count`` pods to delete, in deletion order."""
    return [p.name for p in sorted(pods, key=rank_key)[:count]]


def ranked(pod: dict, colocated: Counter[str]) -> RankedPod:
    meta, status = pod["metadata"], pod.get("status", {})
    ready_cond = k8s.get_condition(status, "Ready")
    node = pod.get("spec", {}).get("nodeName", "")
    try:
        cost = int((meta.get("annotations") or {}).get(DELETION_COST, 0))
    except ValueError:
        cost = 0
    return RankedPod(
        name=meta["name"],
        uid=meta.get("uid", ""),
        assigned=bool(node),
        phase_rank=PHASE_RANK.get(status.get("phase", "Pending"), 0),
        ready=k8s.pod_is_ready(pod),
        deletion_cost=cost,
        colocated=colocated[node] if node else 0,
        ready_since=k8s.parse_time(ready_cond.get("lastTransitionTime")) if ready_cond else None,
        restarts=k8s.pod_restarts(pod),
        created=k8s.parse_time(meta.get("creationTimestamp")) or 0.0,
    )


def pod_from_template(rs: dict) -> dict:
    template = k8s.json_copy(rs["spec"]["template"])
    meta = template.get("metadata") or {}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": f"{rs['metadata']['name']}-",
            "namespace": rs["metadata"]["namespace"],
            "labels": meta.get("labels") or {},
            **({"annotations": meta["annotations"]} if meta.get("annotations") else {}),
            "ownerReferences": [k8s.controller_ref(rs)],
        },
        "spec": template.get("spec") or {},
    }


class ReplicaSetController(Controller):
    name = "replicaset-controller"
    watches = ("ReplicaSet", "Pod")

    def keys_for(self, change: Change) -> Iterable[str]:
        if change.kind == "ReplicaSet":
            yield str(change.uid)
        elif change.owner_uid:
            yield str(change.owner_uid)

    def all_keys(self, ctx: SyncContext) -> Iterable[str]:
        return (str(u) for u in ctx.objects("ReplicaSet").order_by("pk").values_list("uid", flat=True))

    def sync(self, ctx: SyncContext, key: str) -> None:
        rs = ctx.get_uid(key)
        if rs is None or rs.kind != "ReplicaSet" or rs.deleting:
            return
        pods = list(ctx.objects("Pod").filter(owner_uid=uuid.UUID(key)))
        active = [p for p in pods if k8s.pod_is_active(p.body)]
        desired = int(rs.spec.get("replicas", 1))
        diff = desired - len(active)
        if diff > 0:
            for _ in range(min(diff, BURST_REPLICAS)):
                pod = pod_create(
                    cluster=ctx.cluster,
                    body=pod_from_template(rs.body),
                    actor=self.name,
                    rng=ctx.rng,
                )
                event_record(
                    cluster=ctx.cluster,
                    involved=rs.body,
                    reason="SuccessfulCreate",
                    message=f"Created pod: {pod.name}",
                    component=self.name,
                )
                active.append(pod)
        elif diff < 0:
            colocated = self._colocated(ctx, rs)
            victims = plan_deletions(
                [ranked(p.body, colocated) for p in active], min(-diff, BURST_REPLICAS)
            )
            by_name = {p.name: p for p in active}
            for name in victims:
                pod = by_name[name]
                pod.cluster = ctx.cluster
                pod_delete(cluster=ctx.cluster, pod=pod, actor=self.name)
                event_record(
                    cluster=ctx.cluster,
                    involved=rs.body,
                    reason="SuccessfulDelete",
                    message=f"Deleted pod: {name}",
                    component=self.name,
                )
                active.remove(pod)
        self._update_status(ctx, rs, active)

    def _colocated(self, ctx: SyncContext, rs: KubeObject) -> Counter[str]:
        """Active pods per node of every ReplicaSet owned by the same Deployment (the
        "related pods" that the rank counts), or of this ReplicaSet alone."""
        owner = rs.owner_uid
        rs_uids = (
            list(ctx.objects("ReplicaSet").filter(owner_uid=owner).values_list("uid", flat=True))
            if owner
            else [rs.uid]
        )
        counts: Counter[str] = Counter()
        related = (
            ctx.objects("Pod")
            .filter(owner_uid__in=rs_uids, deleting=False)
            .exclude(Q(node_name="") | Q(phase__in=k8s.TERMINAL_PHASES))
        )
        for node in related.values_list("node_name", flat=True):
            counts[node] += 1
        return counts

    def _update_status(self, ctx: SyncContext, rs: KubeObject, active: list[KubeObject]) -> None:
        selector_labels = (rs.spec.get("template", {}).get("metadata") or {}).get("labels") or {}
        min_ready = int(rs.spec.get("minReadySeconds", 0))
        ready = [p for p in active if k8s.pod_is_ready(p.body)]
        available = 0
        for p in ready:
            cond = k8s.get_condition(p.body.get("status", {}), "Ready") or {}
            since = k8s.parse_time(cond.get("lastTransitionTime")) or ctx.now
            if min_ready == 0 or since + min_ready <= ctx.now:
                available += 1
            else:
                ctx.wake(str(rs.uid), since + min_ready)
        labelled = sum(
            1
            for p in active
            if all(
                (p.body["metadata"].get("labels") or {}).get(k) == v
                for k, v in selector_labels.items()
            )
        )
        status = {
            "replicas": len(active),
            "fullyLabeledReplicas": labelled,
            "readyReplicas": len(ready),
            "availableReplicas": available,
            "observedGeneration": rs.body["metadata"].get("generation", 1),
        }
        # Kubernetes omits zero counters (omitempty); keep replicas, which is always present.
        status = {k: v for k, v in status.items() if v or k == "replicas"}
        current = {k: v for k, v in rs.status.items() if k != "conditions"}
        if current != status:
            conditions = rs.status.get("conditions")
            rs.body["status"] = {**status, **({"conditions": conditions} if conditions else {})}
            store.object_update(obj=rs, actor=self.name)
