"""Node IPAM controller (kube-controller-manager): gives each Node its pod CIDR.

Models ``pkg/controller/nodeipam`` with the ``RangeAllocator`` (``--allocate-node-cidrs``,
``--cluster-cidr=10.244.0.0/16``, ``--node-cidr-mask-size=24``), see docs/addressing.md:

- When a Node appears without ``spec.podCIDR``, the allocator takes the first free /24 of the
  cluster CIDR (its ``cidrset`` scans the subnets in order) and writes ``spec.podCIDR`` and
  ``spec.podCIDRs`` on the Node; the kubelet never writes them, it only reads them.
- A Node that already has a CIDR keeps it (the allocator "occupies" it on start-up).
- A deleted Node's CIDR is released and is the first one handed out again.
- When the range is exhausted the Node is left without a CIDR and the allocator records
  ``CIDRNotAvailable`` ("Node <name> status is now: CIDRNotAvailable", as
  ``RecordNodeStatusChange`` words it, component ``cidrAllocator``); a later Node deletion
  frees a range and the waiting Nodes are tried again, oldest first (here strictly in creation
  order, whichever change woke the controller, so which Node gets a freed range does not depend
  on the order changes happened to reach it).

On a dual-stack cluster (``--cluster-cidr=10.244.0.0/16,fd00:10:244::/56``,
``--node-cidr-mask-size-ipv6=64``) each Node gets one range per family, IPv4 first: the
allocator hands out both or neither (``podCIDRs`` is written once; the apiserver refuses later
changes to it).

The allocator's bitmap is the set of CIDRs on the current Nodes, read at allocation time (one
query of the Nodes when a Node needs a range), so a restart needs no relist state.
"""

from __future__ import annotations

from collections.abc import Iterable

from cluster import networking
from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change
from cluster.services import store
from cluster.services.k8s_events import event_record

#: Work-queue key meaning "a range was released: retry the Nodes still waiting for one".
RELEASED = "*released"
EVENT_COMPONENT = "cidrAllocator"


class NodeIpamController(Controller):
    name = "node-ipam-controller"
    watches = ("Node",)

    def keys_for(self, change: Change) -> Iterable[str]:
        if change.type == Change.Type.DELETED:
            yield RELEASED
        else:
            yield change.name

    def all_keys(self, ctx: SyncContext) -> Iterable[str]:
        return self._waiting(ctx)

    def _waiting(self, ctx: SyncContext) -> list[str]:
        """Nodes without a pod CIDR, oldest first (the order they would have been queued)."""
        return list(
            ctx.objects("Node")
            .exclude(body__spec__has_key="podCIDR")
            .order_by("pk")
            .values_list("name", flat=True)
        )

    def sync(self, ctx: SyncContext, key: str) -> None:
        if key != RELEASED:
            node = ctx.get("Node", key)
            if node is None or node.spec.get("podCIDR") or node.deleting:
                return
        # Whatever woke it (a released range, a Node's own change), free ranges go to the
        # waiting Nodes oldest first, so a Node's retry never jumps the queue; only the Node
        # the key names (every waiting one, for a release) reports CIDRNotAvailable.
        for name in self._waiting(ctx):
            self._allocate(ctx, name, report=key in (RELEASED, name))
            if name == key:
                return

    def _allocate(self, ctx: SyncContext, name: str, *, report: bool) -> None:
        node = ctx.get("Node", name)
        if node is None or node.spec.get("podCIDR") or node.deleting:
            return
        used_v4: list[str] = []
        used_v6: list[str] = []
        for cidrs in (
            ctx.objects("Node").exclude(pk=node.pk).values_list("body__spec__podCIDRs", flat=True)
        ):
            for cidr in cidrs or []:
                (used_v6 if ":" in cidr else used_v4).append(cidr)
        try:
            cidrs = networking.node_pod_cidrs(
                used_v4=used_v4, used_v6=used_v6, dual_stack=ctx.cluster.dual_stack
            )
        except networking.AllocationError:
            if report:
                event_record(
                    cluster=ctx.cluster,
                    involved=node.body,
                    reason="CIDRNotAvailable",
                    message=f"Node {name} status is now: CIDRNotAvailable",
                    component=EVENT_COMPONENT,
                )
            return
        node.spec["podCIDR"] = cidrs[0]
        node.spec["podCIDRs"] = list(cidrs)
        store.object_update(obj=node, actor=self.name)
