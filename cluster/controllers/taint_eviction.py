"""Taint eviction controller: deletes pods from nodes with NoExecute taints they do not tolerate.

Models ``pkg/controller/tainteviction/taint_eviction.go`` (k8s-reference §1.3):

- a pod that does not tolerate every NoExecute taint of its node is deleted at once;
- otherwise it is deleted once the smallest matching ``tolerationSeconds`` has passed since the
  taint was added (``timeAdded``); no tolerationSeconds means it stays forever. Every pod carries
  the 300 s not-ready/unreachable tolerations of the DefaultTolerationSeconds admission plugin,
  hence the classic "pods leave a dead node after 5 minutes";
- before deleting: Normal event ``TaintManagerEviction`` "Marking for deletion Pod ns/name" and the
  pod condition ``DisruptionTarget=True`` (reason ``DeletionByTaintManager``); if the taint goes
  away first: "Cancelling deletion of Pod ns/name".
"""

from __future__ import annotations

from collections.abc import Iterable

from cluster import k8s
from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change
from cluster.scheduling.tolerations import eviction_delay
from cluster.scheduling.types import taint_from_dict, toleration_from_dict
from cluster.services import store
from cluster.services.k8s_events import event_record
from cluster.services.pods import pod_delete

EVENT_COMPONENT = "taint-eviction-controller"


def eviction_time(node: dict, pod: dict) -> float | None:
    """When the pod must go (simulated seconds), or None if its tolerations keep it forever."""
    taints = [t for t in node.get("spec", {}).get("taints") or [] if t.get("effect") == "NoExecute"]
    if not taints:
        return None
    tolerations = [toleration_from_dict(t) for t in pod.get("spec", {}).get("tolerations") or []]
    delay = eviction_delay([taint_from_dict(t) for t in taints], tolerations)
    if delay is None:
        return None
    added = [k8s.parse_time(t.get("timeAdded")) for t in taints if t.get("timeAdded")]
    start = min(a for a in added if a is not None) if added else 0.0
    return start + float(delay)


class TaintEvictionController(Controller):
    name = "taint-eviction-controller"
    watches = ("Node", "Pod")

    def keys_for(self, change: Change) -> Iterable[str]:
        if change.kind == "Node":
            yield f"node:{change.name}"
        elif change.node_name and change.type != Change.Type.DELETED and change.actor != self.name:
            yield f"pod:{change.namespace}/{change.name}"

    def all_keys(self, ctx: SyncContext) -> Iterable[str]:
        return (f"node:{n}" for n in ctx.objects("Node").order_by("pk").values_list("name", flat=True))

    def sync(self, ctx: SyncContext, key: str) -> None:
        kind, _, rest = key.partition(":")
        if kind == "node":
            node = ctx.get("Node", rest)
            for ns, name in (
                ctx.objects("Pod")
                .filter(node_name=rest, deleting=False)
                .values_list("namespace", "name")
            ):
                self._sync_pod(ctx, ns, name, node.body if node else None)
        else:
            ns, _, name = rest.partition("/")
            pod = ctx.get("Pod", name, ns)
            if pod is not None and pod.node_name:
                node = ctx.get("Node", pod.node_name)
                self._sync_pod(ctx, ns, name, node.body if node else None)

    def _sync_pod(self, ctx: SyncContext, ns: str, name: str, node: dict | None) -> None:
        pod = ctx.get("Pod", name, ns)
        key = f"pod:{ns}/{name}"
        if pod is None or pod.deleting:
            ctx.cancel(key)
            return
        at = eviction_time(node, pod.body) if node else None
        if at is None:
            if pod.sim.pop("eviction_at", None) is not None:
                store.object_sim_update(obj=pod)
                ctx.cancel(key)
                event_record(
                    cluster=ctx.cluster,
                    involved=pod.body,
                    reason="TaintManagerEviction",
                    message=f"Cancelling deletion of Pod {ns}/{name}",
                    component=EVENT_COMPONENT,
                )
            return
        if at > ctx.now:
            if pod.sim.get("eviction_at") != at:
                pod.sim["eviction_at"] = at
                store.object_sim_update(obj=pod)
            ctx.reschedule(key, at)
            return
        event_record(
            cluster=ctx.cluster,
            involved=pod.body,
            reason="TaintManagerEviction",
            message=f"Marking for deletion Pod {ns}/{name}",
            component=EVENT_COMPONENT,
        )
        k8s.set_condition(
            pod.status,
            "DisruptionTarget",
            "True",
            now=ctx.now,
            reason="DeletionByTaintManager",
            message="Taint manager: deleting due to NoExecute taint",
        )
        pod.sim.pop("eviction_at", None)
        store.object_update(obj=pod, actor=self.name)
        pod_delete(cluster=ctx.cluster, pod=pod, actor=self.name)
        ctx.cancel(key)
