"""The ingress controller of every simulated cluster: an ingress-nginx (``k8s.io/ingress-nginx``,
IngressClass ``nginx``) that runs outside the diagram (no pods are drawn for it).

What it models of ingress-nginx (``internal/ingress/controller`` and its status syncer,
docs/ingress.md):

- it handles the Ingresses whose class (``spec.ingressClassName``, or the legacy
  ``kubernetes.io/ingress.class`` annotation) is an IngressClass naming its controller;
- on each new or changed Ingress it records the Event ``Sync`` "Scheduled for sync" (source
  ``nginx-ingress-controller``), as it does when it reloads its configuration;
- its status syncer (``--publish-service=kube-system/ingress-nginx-controller``) writes the
  controller Service's load-balancer addresses into ``status.loadBalancer.ingress`` of those
  Ingresses (the ADDRESS column), so an Ingress has no address while the cloud has given that
  Service none (cloud-controller-manager stopped), and follows it when it changes;
- the routing itself is :func:`cluster.ingress.route`, used by the request-path tool.

Keys: ``<namespace>/<name>`` of an Ingress; ``*publish`` when the controller Service or an
IngressClass changed (every Ingress is looked at again: they are few, and this happens rarely).
"""

from __future__ import annotations

from collections.abc import Iterable

from cluster import ingress
from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change
from cluster.services import store
from cluster.services.ingress import (
    CONTROLLER_NAMESPACE,
    CONTROLLER_SERVICE,
    INGRESS_CONTROLLER,
    ingress_status_address,
)
from cluster.services.k8s_events import event_record

EVENT_COMPONENT = "nginx-ingress-controller"
PUBLISH = "*publish"
STATE_KEY = "synced"


def plan_status(current: dict, addresses: list[str]) -> dict | None:
    """The ``status.loadBalancer`` to write, or None when it is already right."""
    wanted = {"ingress": [{"ip": ip} for ip in addresses]} if addresses else {}
    return None if (current.get("loadBalancer") or {}) == wanted else wanted


class IngressNginxController(Controller):
    name = "ingress-nginx"
    component = "ingress-nginx"
    watches = ("Ingress", "IngressClass", "Service")

    def keys_for(self, change: Change) -> Iterable[str]:
        if change.kind == "Ingress":
            yield f"{change.namespace}/{change.name}"
        elif change.kind == "IngressClass" or (
            change.kind == "Service"
            and change.namespace == CONTROLLER_NAMESPACE
            and change.name == CONTROLLER_SERVICE
        ):
            yield PUBLISH

    def all_keys(self, ctx: SyncContext) -> Iterable[str]:
        return [f"{ns}/{n}" for ns, n in ctx.objects("Ingress").order_by("pk").values_list("namespace", "name")]

    def _our_classes(self, ctx: SyncContext) -> set[str]:
        return {
            name
            for name, controller in ctx.objects("IngressClass").values_list(
                "name", "body__spec__controller"
            )
            if controller == INGRESS_CONTROLLER
        }

    def sync(self, ctx: SyncContext, key: str) -> None:
        if key == PUBLISH:
            for k in self.all_keys(ctx):
                self.sync(ctx, k)
            return
        namespace, _, name = key.partition("/")
        synced: dict = ctx.state.setdefault(STATE_KEY, {})
        obj = ctx.get("Ingress", name, namespace)
        if obj is None or obj.deleting:
            synced.pop(key, None)
            return
        if ingress.ingress_class_of(obj.body) not in self._our_classes(ctx):
            return
        generation = obj.body["metadata"].get("generation", 1)
        if synced.get(key) != generation:
            event_record(
                cluster=ctx.cluster,
                involved=obj.body,
                reason="Sync",
                message="Scheduled for sync",
                component=EVENT_COMPONENT,
            )
            synced[key] = generation
        status = obj.body.setdefault("status", {})
        wanted = plan_status(status, ingress_status_address(cluster=ctx.cluster))
        if wanted is not None:
            status["loadBalancer"] = wanted
            store.object_update(obj=obj, actor=self.name)
