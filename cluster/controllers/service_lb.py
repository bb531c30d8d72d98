"""The service controller of the cloud-controller-manager: external addresses for
``type: LoadBalancer`` Services, from a simulated cloud.

Models ``k8s.io/cloud-provider/controllers/service`` (``syncLoadBalancerIfNeeded``) with a
cloud whose ``EnsureLoadBalancer`` hands out an address of a pool (203.0.113.0/24, see
docs/ingress.md):

- a Service that needs a load balancer (``type: LoadBalancer``, no ``loadBalancerClass``: a
  class names another implementation, which the default cloud provider leaves alone) and has
  none gets one: Event ``EnsuringLoadBalancer`` "Ensuring load balancer", then
  ``status.loadBalancer.ingress[0].ip`` is written and ``EnsuredLoadBalancer`` "Ensured load
  balancer" recorded; until then ``kubectl get svc`` shows EXTERNAL-IP ``<pending>``;
- a Service that no longer needs one (its type changed) loses it: ``DeletingLoadBalancer``
  "Deleting load balancer", the status is cleared, ``DeletedLoadBalancer`` "Deleted load
  balancer"; a deleted Service's load balancer is deleted the same way (the events are about
  the Service that was deleted);
- an exhausted pool: Warning ``SyncLoadBalancerFailed`` "Error syncing load balancer: failed
  to ensure load balancer: ..."; the Service is retried when an address is released;
- the addresses in use are the ones on the Services' status (the cloud's view, read once per
  allocation): a released address is free again at once.

The real controller puts the finalizer ``service.kubernetes.io/load-balancer-cleanup`` on the
Service so that it still sees a deleted one; this simulation remembers the Services it gave a
load balancer in its controller state instead (``lbs``: key -> address and the Service's
identity), so a Service deletion never waits for the cloud-controller-manager. While the
component is stopped nothing happens: new LoadBalancers stay ``<pending>`` and deleted ones
keep their address until it starts again and catches up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cluster import networking
from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change
from cluster.services import store
from cluster.services.k8s_events import WARNING, event_record

EVENT_COMPONENT = "service-controller"
STATE_KEY = "lbs"
#: Work-queue key meaning "an address was released: retry the Services still waiting".
RELEASED = "*released"
MSG_ENSURING = "Ensuring load balancer"
MSG_ENSURED = "Ensured load balancer"
MSG_DELETING = "Deleting load balancer"
MSG_DELETED = "Deleted load balancer"
MSG_FAILED = "Error syncing load balancer: failed to ensure load balancer: {error}"


def wants_load_balancer(service: dict | None) -> bool:
    """``wantsLoadBalancer``: type LoadBalancer, not being deleted, no other class named."""
    if service is None or service["metadata"].get("deletionTimestamp"):
        return False
    spec = service.get("spec") or {}
    return spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass")


def ingress_ips(service: dict) -> list[str]:
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [i["ip"] for i in ingress if i.get("ip")]


@dataclass(frozen=True)
class LBPlan:
    """What to do for one Service: ``ensure`` (give it ``ip``), ``delete`` (take its load
    balancer away), ``forget`` (it is gone and had none), or ``none``."""

    action: str
    ip: str = ""
    error: str = ""


def plan_load_balancer(
    service: dict | None, *, remembered: str | None, used: Iterable[str]
) -> LBPlan:
    """The service controller's decision for one key. ``remembered``: the address this
    controller gave the Service (None if none); ``used``: every address on a Service's status."""
    if wants_load_balancer(service):
        assert service is not None
        current = ingress_ips(service)
        if current:
            return LBPlan("none", current[0])
        try:
            return LBPlan("ensure", networking.allocate_load_balancer_ip(used=used))
        except networking.AllocationError as exc:
            return LBPlan("none", error=str(exc))
    if service is not None and ingress_ips(service):
        return LBPlan("delete", ingress_ips(service)[0])
    if remembered is not None:
        return LBPlan("delete" if service is None else "forget", remembered)
    return LBPlan("none")


def _involved(identity: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": identity}


class ServiceLoadBalancerController(Controller):
    name = "service-controller"
    component = "cloud-controller-manager"
    watches = ("Service",)

    def keys_for(self, change: Change) -> Iterable[str]:
        yield f"{change.namespace}/{change.name}"

    def all_keys(self, ctx: SyncContext) -> Iterable[str]:
        pairs = ctx.objects("Service").filter(body__spec__type="LoadBalancer").order_by("pk")
        keys = [f"{ns}/{name}" for ns, name in pairs.values_list("namespace", "name")]
        return [*keys, *(k for k in ctx.state.get(STATE_KEY, {}) if k not in keys)]

    def _used(self, ctx: SyncContext) -> list[str]:
        bodies = ctx.objects("Service").filter(body__spec__type="LoadBalancer")
        return [ip for body in bodies.values_list("body", flat=True) for ip in ingress_ips(body)]

    def sync(self, ctx: SyncContext, key: str) -> None:
        if key == RELEASED:
            self._retry_waiting(ctx)
            return
        namespace, _, name = key.partition("/")
        obj = ctx.get("Service", name, namespace)
        lbs: dict = ctx.state.setdefault(STATE_KEY, {})
        remembered = lbs.get(key)
        plan = plan_load_balancer(
            obj.body if obj else None,
            remembered=remembered["ip"] if remembered else None,
            used=self._used(ctx) if obj is not None and wants_load_balancer(obj.body) else (),
        )
        if plan.error and obj is not None:
            event_record(
                cluster=ctx.cluster,
                involved=obj.body,
                reason="SyncLoadBalancerFailed",
                message=MSG_FAILED.format(error=plan.error),
                component=EVENT_COMPONENT,
                type_=WARNING,
            )
        elif plan.action == "ensure" and obj is not None:
            event_record(
                cluster=ctx.cluster,
                involved=obj.body,
                reason="EnsuringLoadBalancer",
                message=MSG_ENSURING,
                component=EVENT_COMPONENT,
            )
            obj.body.setdefault("status", {})["loadBalancer"] = {
                "ingress": [{"ip": plan.ip, "ipMode": "VIP"}]
            }
            store.object_update(obj=obj, actor=self.name)
            event_record(
                cluster=ctx.cluster,
                involved=obj.body,
                reason="EnsuredLoadBalancer",
                message=MSG_ENSURED,
                component=EVENT_COMPONENT,
            )
            lbs[key] = {"ip": plan.ip, "identity": self._identity(obj.body)}
        elif plan.action == "none" and plan.ip and obj is not None:
            lbs[key] = {"ip": plan.ip, "identity": self._identity(obj.body)}
        elif plan.action == "delete":
            involved = obj.body if obj is not None else _involved(remembered["identity"])
            event_record(
                cluster=ctx.cluster,
                involved=involved,
                reason="DeletingLoadBalancer",
                message=MSG_DELETING,
                component=EVENT_COMPONENT,
            )
            if obj is not None:
                obj.body.setdefault("status", {})["loadBalancer"] = {}
                store.object_update(obj=obj, actor=self.name)
            event_record(
                cluster=ctx.cluster,
                involved=involved,
                reason="DeletedLoadBalancer",
                message=MSG_DELETED,
                component=EVENT_COMPONENT,
            )
            lbs.pop(key, None)
            self._retry_waiting(ctx)
        elif plan.action == "forget":
            lbs.pop(key, None)

    @staticmethod
    def _identity(body: dict) -> dict:
        meta = body["metadata"]
        return {"name": meta["name"], "namespace": meta.get("namespace", ""), "uid": meta["uid"]}

    def _retry_waiting(self, ctx: SyncContext) -> None:
        """An address was released: Services still waiting for one may get it now."""
        for ns, name, body in (
            ctx.objects("Service")
            .filter(body__spec__type="LoadBalancer")
            .order_by("pk")
            .values_list("namespace", "name", "body")
        ):
            if wants_load_balancer(body) and not ingress_ips(body):
                self.sync(ctx, f"{ns}/{name}")
                return
