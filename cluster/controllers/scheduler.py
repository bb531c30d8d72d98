"""kube-scheduler: binds pending pods to nodes.

Models the default profile (k8s-reference §4): the pure filter and score plugins live in
``cluster.scheduling``; this module is the queue and the binder around them.

- Active queue: unscheduled pods (no ``spec.nodeName``, not being deleted, ``schedulerName``
  default-scheduler), taken in priority order, then oldest first.
- One scheduling cycle works on a snapshot of node usage (one SQL aggregate of the requests of
  the pods bound to each node) updated after each binding, like the scheduler's cache.
- Success: the Binding (``spec.nodeName``, PodScheduled=True) and a ``Scheduled`` event.
- Failure: PodScheduled=False reason ``Unschedulable`` with the FitError message, a Warning
  ``FailedScheduling`` event, and the pod parks in the unschedulable set. A cluster event that may
  make it schedulable (any Node change, a pod deleted or unbound) moves it back once its back-off
  (1 s doubling to 10 s per attempt) has passed; without one it is retried after 5 minutes.
- A restarted scheduler starts with an empty queue filled by its informers' relist: every
  pending pod is tried at once, whatever back-off it collected before the restart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from django.db.models import Q, Sum

from cluster import k8s
from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change, KubeObject
from cluster.scheduling.framework import schedule_one
from cluster.scheduling.quantity import parse_cpu, parse_memory
from cluster.scheduling.types import (
    NodeInfo,
    PodInfo,
    Resources,
    pod_info_from_body,
    taint_from_dict,
)
from cluster.services import store
from cluster.services.components import STARTED_AT
from cluster.services.k8s_events import WARNING, event_record
from cluster.services.pods import pod_bind

SCHEDULER_NAME = "default-scheduler"
FLUSH_KEY = "flush-unschedulable"


def backoff(attempts: int, initial: float, maximum: float) -> float:
    """Per-pod back-off after ``attempts`` failed attempts: initial × 2^(attempts−1), capped."""
    if attempts <= 0:
        return 0.0
    return min(initial * (2 ** (attempts - 1)), maximum)


def node_infos(ctx: SyncContext) -> dict[str, NodeInfo]:
    usage = {
        row["node_name"]: row
        for row in ctx.objects("Pod")
        .exclude(Q(node_name="") | Q(phase__in=k8s.TERMINAL_PHASES))
        .values("node_name")
        .annotate(
            cpu=Sum("req_cpu"),
            memory=Sum("req_memory"),
            nz_cpu=Sum("nz_cpu"),
            nz_memory=Sum("nz_memory"),
            pods=Sum(1),
        )
    }
    infos: dict[str, NodeInfo] = {}
    for name, body in ctx.objects("Node").values_list("name", "body"):
        alloc = body.get("status", {}).get("allocatable") or {}
        used = usage.get(name) or {}
        count = int(used.get("pods") or 0)
        infos[name] = NodeInfo(
            name=name,
            allocatable=Resources(
                cpu=parse_cpu(alloc.get("cpu", "0")),
                memory=parse_memory(alloc.get("memory", "0")),
                pods=int(alloc.get("pods", 0)),
            ),
            requested=Resources(
                cpu=int(used.get("cpu") or 0), memory=int(used.get("memory") or 0), pods=count
            ),
            nonzero_requested=Resources(
                cpu=int(used.get("nz_cpu") or 0), memory=int(used.get("nz_memory") or 0), pods=count
            ),
            taints=tuple(taint_from_dict(t) for t in body.get("spec", {}).get("taints") or []),
            unschedulable=bool(body.get("spec", {}).get("unschedulable")),
            labels=body["metadata"].get("labels") or {},
        )
    return infos


class Scheduler(Controller):
    name = "default-scheduler"
    component = "kube-scheduler"
    watches = ("Pod", "Node")

    def keys_for(self, change: Change) -> Iterable[str]:
        if change.actor == self.name:
            return  # Its own bindings and status writes are no news to the queue.
        if change.kind == "Node" or (change.kind == "Pod" and change.type == Change.Type.DELETED):
            yield FLUSH_KEY
        elif change.kind == "Pod" and not change.node_name and change.type != Change.Type.DELETED:
            yield f"{change.namespace}/{change.name}"

    def all_keys(self, ctx: SyncContext) -> Iterable[str]:
        return (f"{ns}/{name}" for ns, name in self._pending(ctx).values_list("namespace", "name"))

    def _pending(self, ctx: SyncContext):
        return (
            ctx.objects("Pod")
            .filter(node_name="", deleting=False)
            .exclude(phase__in=k8s.TERMINAL_PHASES)
        )

    def sync_many(self, ctx: SyncContext, keys: list[str]) -> None:
        candidates: list[KubeObject] = []
        if FLUSH_KEY in keys:
            keys = [k for k in keys if k != FLUSH_KEY]
            candidates = list(self._pending(ctx))
        wanted = {tuple(k.split("/", 1)) for k in keys}
        if wanted and len(candidates) == 0:
            q = Q()
            for ns, name in wanted:
                q |= Q(namespace=ns, name=name)
            candidates = list(self._pending(ctx).filter(q))
        pods = []
        for pod in candidates:
            if pod.spec.get("schedulerName", SCHEDULER_NAME) != SCHEDULER_NAME:
                continue
            last_attempt = pod.sim.get("last_attempt", 0.0)
            if last_attempt < float(ctx.state.get(STARTED_AT, float("-inf"))):
                pods.append(pod)  # its back-off lived in the previous process
                continue
            ready_at = last_attempt + backoff(
                int(pod.sim.get("attempts", 0)),
                ctx.timings["scheduler_backoff_initial"],
                ctx.timings["scheduler_backoff_max"],
            )
            if ready_at <= ctx.now:
                pods.append(pod)
            else:
                ctx.reschedule(pod.key, ready_at)
        if not pods:
            return
        pods.sort(
            key=lambda p: (
                -int(p.spec.get("priority", 0)),
                p.body["metadata"].get("creationTimestamp", ""),
                p.pk,
            )
        )
        infos = node_infos(ctx)
        for pod in pods:
            pod.cluster = ctx.cluster
            info = pod_info_from_body(pod.body)
            nodes = list(infos.values())
            start = int(ctx.state.get("next_start", 0)) % max(len(nodes), 1)
            result = schedule_one(info, nodes, ctx.rng, start_index=start)
            # nextStartNodeIndex: large clusters do not always filter the same nodes first.
            ctx.state["next_start"] = result.next_start_index
            if result.node_name:
                pod_bind(pod=pod, node_name=result.node_name, actor=self.name)
                ctx.cancel(pod.key)
                node = infos[result.node_name]
                infos[result.node_name] = dataclasses.replace(
                    node,
                    requested=node.requested + info.requests,
                    nonzero_requested=node.nonzero_requested + info.nonzero_requests,
                )
            else:
                self._unschedulable(ctx, pod, info, result.message)

    def _unschedulable(
        self, ctx: SyncContext, pod: KubeObject, info: PodInfo, message: str
    ) -> None:
        status = pod.body.setdefault("status", {})
        k8s.set_condition(
            status, "PodScheduled", "False", now=ctx.now, reason="Unschedulable", message=message
        )
        pod.sim["attempts"] = int(pod.sim.get("attempts", 0)) + 1
        pod.sim["last_attempt"] = ctx.now
        store.object_update(obj=pod, actor=self.name)
        event_record(
            cluster=ctx.cluster,
            involved=pod.body,
            reason="FailedScheduling",
            message=message,
            component=self.name,
            type_=WARNING,
        )
        ctx.reschedule(pod.key, ctx.now + ctx.timings["unschedulable_flush_seconds"])
