"""Node lifecycle controller (kube-controller-manager): node health from heartbeats, and taints.

Models ``pkg/controller/nodelifecycle`` (k8s-reference §1.2, §1.5, §1.6):

- The probe timestamp is the later of the Lease's ``renewTime`` and the Ready condition's
  ``lastHeartbeatTime``. When ``now`` passes probe + grace (the startup grace for a node that never
  posted Ready), Ready, MemoryPressure, DiskPressure and PIDPressure become ``Unknown`` with reason
  ``NodeStatusUnknown`` / "Kubelet stopped posting node status."; the check runs on the
  ``node-monitor-period`` quantum, so detection lands on a multiple of it.
- On Ready True → not True: Node event ``NodeNotReady`` and ``MarkPodsNotReady`` (every pod's
  Ready condition False, a Warning ``NodeNotReady`` pod event).
- NoSchedule taints follow the conditions (not-ready, unreachable, the pressure taints) and
  ``spec.unschedulable`` (``node.kubernetes.io/unschedulable``); the NoExecute ``not-ready`` /
  ``unreachable`` taints (mutually exclusive, with ``timeAdded``) drive taint-based eviction.
  All of them go when Ready returns to True.
- Zone state: with a single zone, if no node is Ready the zone is in FullDisruption and the
  controller removes the NoExecute taints and evicts nothing ("master disruption mode"); in
  PartialDisruption (more than 2 and at least 55% of nodes not ready) a cluster of at most 50
  nodes adds no new NoExecute taints; when the zone state changes every node is re-examined.
- ``RegisteredNode`` / ``RemovingNode`` events as nodes appear and disappear.
- After kube-controller-manager (re)starts, a node's probe time is at least the start time: the
  real controller's node health map starts empty and takes "now" as the first probe timestamp
  ("Missing timestamp for Node ... Assuming now as a timestamp"), so a controller that was
  stopped never marks a node NotReady just because it was asleep; a node whose kubelet stopped
  meanwhile goes NotReady one grace period after the restart.

Instead of scanning every node each monitor period, each node gets a wakeup at the moment its
heartbeat would expire; at that wakeup a renewed Lease just moves the wakeup to the new expiry.
Lease renewals themselves are not watched, so the cost is one pass per node per grace period,
not one per heartbeat, and never one per node per monitor period.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from cluster import k8s
from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change, KubeObject
from cluster.services import store
from cluster.services.components import STARTED_AT
from cluster.services.k8s_events import WARNING, event_record

NODE_LEASE_NS = "kube-node-lease"
UNKNOWN_REASON = "NodeStatusUnknown"
UNKNOWN_MESSAGE = "Kubelet stopped posting node status."
NEVER_REASON = "NodeStatusNeverUpdated"
NEVER_MESSAGE = "Kubelet never posted node status."
KUBELET_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
CONDITION_TAINTS = {
    ("Ready", "False"): k8s.TAINT_NOT_READY,
    ("Ready", "Unknown"): k8s.TAINT_UNREACHABLE,
    ("MemoryPressure", "True"): "node.kubernetes.io/memory-pressure",
    ("DiskPressure", "True"): "node.kubernetes.io/disk-pressure",
    ("PIDPressure", "True"): "node.kubernetes.io/pid-pressure",
    ("NetworkUnavailable", "True"): "node.kubernetes.io/network-unavailable",
}
MANAGED_KEYS = set(CONDITION_TAINTS.values()) | {k8s.TAINT_UNSCHEDULABLE}
NORMAL, FULL_DISRUPTION, PARTIAL_DISRUPTION = "Normal", "FullDisruption", "PartialDisruption"
LARGE_CLUSTER_THRESHOLD = 50


def zone_state(ready: int, not_ready: int) -> str:
    """ComputeZoneState."""
    if ready == 0 and not_ready > 0:
        return FULL_DISRUPTION
    if not_ready > 2 and not_ready / (ready + not_ready) >= 0.55:
        return PARTIAL_DISRUPTION
    return NORMAL


def desired_noschedule(node: dict) -> set[str]:
    """doNoScheduleTaintingPass: taint keys the node's conditions and spec call for."""
    keys = set()
    for cond in node.get("status", {}).get("conditions") or []:
        key = CONDITION_TAINTS.get((cond.get("type"), cond.get("status")))
        if key:
            keys.add(key)
    if node.get("spec", {}).get("unschedulable"):
        keys.add(k8s.TAINT_UNSCHEDULABLE)
    return keys


def next_check(expiry: float, period: float) -> float:
    """The first monitor tick at or after ``expiry`` (detection happens on the period quantum)."""
    if period <= 0:
        return expiry
    return math.ceil(round(expiry / period, 6)) * period


class NodeLifecycleController(Controller):
    name = "node-lifecycle-controller"
    # Not Lease: a renewal only moves the deadline, and the wakeup at the old deadline reads the
    # Lease and moves its own wakeup (as monitorNodeHealth reads it on its period). Watching every
    # renewal would cost a pass per heartbeat instead of one per grace period per node.
    watches = ("Node",)

    def keys_for(self, change: Change) -> Iterable[str]:
        yield change.name

    def all_keys(self, ctx: SyncContext) -> Iterable[str]:
        return ctx.objects("Node").order_by("pk").values_list("name", flat=True)

    def sync_many(self, ctx: SyncContext, keys: list[str]) -> None:
        state = zone_state(
            ready=ctx.objects("Node").filter(phase="True").count(),
            not_ready=ctx.objects("Node").exclude(phase="True").count(),
        )
        previous = ctx.state.get("zone", NORMAL)
        ctx.state["zone"] = state
        if state != previous:
            keys = list(dict.fromkeys([*keys, *self.all_keys(ctx)]))
        for key in keys:
            self.sync(ctx, key)

    def sync(self, ctx: SyncContext, key: str) -> None:
        node = ctx.get("Node", key)
        registered = ctx.state.setdefault("registered", {})
        if node is None:
            if registered.pop(key, None):
                event_record(
                    cluster=ctx.cluster,
                    involved={
                        "kind": "Node",
                        "apiVersion": "v1",
                        "metadata": {"name": key, "uid": ""},
                    },
                    reason="RemovingNode",
                    message=f"Node {key} event: Removing Node {key} from Controller",
                    component="node-controller",
                )
            return
        if registered.get(key) != str(node.uid):
            registered[key] = str(node.uid)
            event_record(
                cluster=ctx.cluster,
                involved=node.body,
                reason="RegisteredNode",
                message=f"Node {key} event: Registered Node {key} in Controller",
                component="node-controller",
            )
        was_ready = k8s.node_ready_status(node.body)
        changed = self._health(ctx, node)
        changed = self._taints(ctx, node) or changed
        if changed:
            store.object_update(obj=node, actor=self.name)
        now_ready = k8s.node_ready_status(node.body)
        if was_ready == "True" and now_ready != "True":
            event_record(
                cluster=ctx.cluster,
                involved=node.body,
                reason="NodeNotReady",
                message=f"Node {key} status is now: NodeNotReady",
                component="node-controller",
            )
            self._mark_pods_not_ready(ctx, node)

    def _probe_time(self, ctx: SyncContext, node: KubeObject) -> tuple[float, bool]:
        ready = k8s.get_condition(node.status, "Ready")
        probe = k8s.parse_time((ready or {}).get("lastHeartbeatTime")) or 0.0
        lease = ctx.get("Lease", node.name, NODE_LEASE_NS)
        if lease is not None:
            probe = max(probe, k8s.parse_micro_time(lease.spec.get("renewTime")) or 0.0)
        if not probe:
            probe = k8s.parse_time(node.body["metadata"].get("creationTimestamp")) or ctx.now
        probe = max(probe, float(ctx.state.get(STARTED_AT, 0.0)))
        return probe, ready is not None

    def _health(self, ctx: SyncContext, node: KubeObject) -> bool:
        probe, ever_ready = self._probe_time(ctx, node)
        grace = ctx.timings[
            "node_monitor_grace_period" if ever_ready else "node_startup_grace_period"
        ]
        expiry = probe + grace
        if ctx.now < expiry - 1e-6:
            ctx.reschedule(node.name, next_check(expiry, ctx.timings["node_monitor_period"]))
            return False
        changed = False
        status = node.status
        for ctype in KUBELET_CONDITIONS:
            cond = k8s.get_condition(status, ctype)
            if cond is not None and cond.get("status") == "Unknown":
                continue
            if cond is None:
                reason, message = NEVER_REASON, NEVER_MESSAGE
            else:
                reason, message = UNKNOWN_REASON, UNKNOWN_MESSAGE
            k8s.set_condition(status, ctype, "Unknown", now=ctx.now, reason=reason, message=message)
            cond = k8s.get_condition(status, ctype) or {}
            cond.pop("lastProbeTime", None)
            changed = True
        return changed

    def _taints(self, ctx: SyncContext, node: KubeObject) -> bool:
        taints = list(node.spec.get("taints") or [])
        wanted = desired_noschedule(node.body)
        ready = k8s.node_ready_status(node.body)
        zone = ctx.state.get("zone", NORMAL)
        noexecute = None
        if zone != FULL_DISRUPTION:
            noexecute = {"Unknown": k8s.TAINT_UNREACHABLE, "False": k8s.TAINT_NOT_READY}.get(ready)
        # PartialDisruption in a cluster of <= 50 nodes sets the zone's eviction rate to zero:
        # existing NoExecute taints stay, new ones wait until the zone is healthier.
        may_add = zone == NORMAL or ctx.objects("Node").count() > LARGE_CLUSTER_THRESHOLD
        kept = [
            t
            for t in taints
            if t["key"] not in MANAGED_KEYS
            or (t.get("effect") == "NoSchedule" and t["key"] in wanted)
            or (t.get("effect") == "NoExecute" and t["key"] == noexecute)
        ]
        present = {(t["key"], t.get("effect")) for t in kept}
        for key in sorted(wanted):
            if (key, "NoSchedule") not in present:
                kept.append({"key": key, "effect": "NoSchedule"})
        if noexecute and may_add and (noexecute, "NoExecute") not in present:
            kept.append(
                {"key": noexecute, "effect": "NoExecute", "timeAdded": k8s.rfc3339(ctx.now)}
            )
        if kept == taints:
            return False
        if kept:
            node.spec["taints"] = kept
        else:
            node.spec.pop("taints", None)
        return True

    def _mark_pods_not_ready(self, ctx: SyncContext, node: KubeObject) -> None:
        """MarkPodsNotReady: Ready=False on every pod of the node, with a Warning event."""
        for pod in ctx.objects("Pod").filter(node_name=node.name, deleting=False):
            pod.cluster = ctx.cluster
            cond = k8s.get_condition(pod.status, "Ready")
            if cond is None or cond.get("status") == "False":
                continue
            cond["status"] = "False"
            cond["lastTransitionTime"] = k8s.rfc3339(ctx.now)
            store.object_update(obj=pod, actor=self.name)
            event_record(
                cluster=ctx.cluster,
                involved=pod.body,
                reason="NodeNotReady",
                message="Node is not ready",
                component="node-controller",
                type_=WARNING,
            )
