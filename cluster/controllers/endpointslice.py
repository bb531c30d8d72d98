"""EndpointSlice controller (kube-controller-manager): the endpoints of every Service with a
selector, as ``pkg/controller/endpointslice`` and ``staging/.../endpointslice/reconciler.go``
write them (k8s-reference §6):

- a Service whose selector is missing or empty gets nothing from this controller (its slices
  are somebody else's: the ``kubernetes`` Service's belongs to kube-apiserver);
- an endpoint per matching pod that has an IP and is not terminal (``ShouldPodBeInEndpoints``),
  with conditions ``ready`` (pod Ready and not terminating; always true with
  ``publishNotReadyAddresses``), ``serving`` (pod Ready, termination ignored) and
  ``terminating`` (deletionTimestamp set), ``nodeName`` and a ``targetRef`` to the pod;
- the ports are the Service's with ``targetPort`` resolved per pod (``podutil.FindPort``: a
  named targetPort is looked up in the pod's container ports, a pod without that port is left
  out); pods with different resolved ports go to different slices;
- at most 100 endpoints per slice (``--max-endpoints-per-slice``); a Service with no endpoints
  keeps one empty placeholder slice;
- slices are named ``<service>-<5 random characters>`` (generateName), labelled
  ``kubernetes.io/service-name`` and ``endpointslice.kubernetes.io/managed-by:
  endpointslice-controller.k8s.io`` plus the Service's labels, and owned by the Service (the
  garbage collector removes them with it);
- a slice is written only when its endpoints, ports or labels changed;
- one set of slices per address type the Service's ``ipFamilies`` name
  (``getAddressTypesForService``): a dual-stack Service has IPv4 slices listing the pods'
  IPv4 addresses and IPv6 slices listing their IPv6 ones; a pod without an address of a
  family is left out of that family's slices.

Keys are ``<namespace>/<service>``: a Service change keys itself; a pod change keys the
Services of its namespace whose selector matches the pod's labels (one indexed query of that
namespace's Services, not a pass over every object). A pod change not made by a kubelet (a label
edit, say) also keys the Services whose slices still list the pod, so a pod relabelled out of a
selector leaves its slices at once (the real controller compares old and new labels).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cluster import k8s, networking
from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change, KubeObject
from cluster.services import store

MAX_ENDPOINTS_PER_SLICE = 100
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"


@dataclass(frozen=True)
class DesiredSlice:
    """One slice's content: its address type, ports and endpoints (JSON-shaped, sorted)."""

    ports: tuple
    endpoints: list[dict]
    address_type: str = networking.IPV4


def resolve_target_port(service_port: dict, pod: dict) -> int | None:
    """``podutil.FindPort``: a number is used as is; a name is looked up among the pod's
    container ports of the same protocol. None: the pod does not have it."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol", "TCP")
    for container in pod.get("spec", {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("name") == target and port.get("protocol", "TCP") == protocol:
                return int(port["containerPort"])
    return None


def pod_ips(pod: dict) -> list[str]:
    status = pod.get("status", {})
    ips = [e.get("ip", "") for e in status.get("podIPs") or [] if isinstance(e, dict)]
    return [ip for ip in ips if ip] or ([status["podIP"]] if status.get("podIP") else [])


def endpoint_of(
    pod: dict, *, publish_not_ready: bool, family: str = networking.IPV4
) -> dict | None:
    """The pod's endpoint in ``family``'s slices, or None when it should not be in them (no
    address of that family, terminal)."""
    status = pod.get("status", {})
    ip = networking.ip_of_family(pod_ips(pod), family)
    if not ip or status.get("phase") in k8s.TERMINAL_PHASES:
        return None
    meta = pod["metadata"]
    terminating = bool(meta.get("deletionTimestamp"))
    pod_ready = k8s.pod_is_ready(pod)
    endpoint: dict = {
        "addresses": [ip],
        "conditions": {
            "ready": publish_not_ready or (pod_ready and not terminating),
            "serving": publish_not_ready or pod_ready,
            "terminating": terminating,
        },
        "targetRef": {
            "kind": "Pod",
            "namespace": meta.get("namespace", ""),
            "name": meta["name"],
            "uid": meta.get("uid", ""),
        },
    }
    node = pod.get("spec", {}).get("nodeName")
    if node:
        endpoint["nodeName"] = node
    return endpoint


def address_types(service: dict) -> list[str]:
    """``getAddressTypesForService``: the Service's ``ipFamilies``, else the family of its
    ClusterIP (IPv4 for a headless Service without families)."""
    spec = service.get("spec", {})
    families = [f for f in spec.get("ipFamilies") or [] if f in (networking.IPV4, networking.IPV6)]
    if families:
        return families
    ip = spec.get("clusterIP") or ""
    try:
        return [networking.family_of(ip)]
    except ValueError:
        return [networking.IPV4]


def plan_slices(service: dict, pods: list[dict]) -> list[DesiredSlice]:
    """The slices a Service should have, per address type: endpoints grouped by resolved port
    set, chunked by ``MAX_ENDPOINTS_PER_SLICE``; one empty placeholder (of the primary type)
    when there are none."""
    spec = service.get("spec", {})
    publish = bool(spec.get("publishNotReadyAddresses"))
    families = address_types(service)
    groups: dict[tuple[str, tuple], list[dict]] = {}
    for pod in sorted(pods, key=lambda p: p["metadata"]["name"]):
        ports = []
        for sp in spec.get("ports") or []:
            number = resolve_target_port(sp, pod)
            if number is None:
                continue
            ports.append((sp.get("name", ""), number, sp.get("protocol", "TCP")))
        for family in families:
            endpoint = endpoint_of(pod, publish_not_ready=publish, family=family)
            if endpoint is not None:
                groups.setdefault((family, tuple(ports)), []).append(endpoint)
    desired = [
        DesiredSlice(ports, endpoints[i : i + MAX_ENDPOINTS_PER_SLICE], family)
        for (family, ports), endpoints in sorted(
            groups.items(), key=lambda item: families.index(item[0][0])
        )
        for i in range(0, len(endpoints), MAX_ENDPOINTS_PER_SLICE)
    ]
    return desired or [DesiredSlice((), [], families[0])]


def _ports_json(ports: tuple) -> list[dict]:
    return [{"name": name, "port": port, "protocol": proto} for name, port, proto in ports]


def _ports_key(body: dict) -> tuple:
    return tuple(
        (p.get("name", ""), p.get("port"), p.get("protocol", "TCP"))
        for p in body.get("ports") or []
    )


def _address_type(body: dict) -> str:
    return body.get("addressType") or networking.IPV4


def slice_labels(service: dict) -> dict:
    labels = dict(service["metadata"].get("labels") or {})
    labels[SERVICE_NAME_LABEL] = service["metadata"]["name"]
    labels[MANAGED_BY_LABEL] = MANAGED_BY
    return labels


class EndpointSliceController(Controller):
    name = "endpointslice-controller"
    watches = ("Service", "Pod", "EndpointSlice")

    def keys_for(self, change: Change) -> Iterable[str]:
        if change.kind == "Service":
            yield f"{change.namespace}/{change.name}"
        elif change.kind == "EndpointSlice":
            labels = (change.object.get("metadata") or {}).get("labels") or {}
            if labels.get(MANAGED_BY_LABEL) == MANAGED_BY and labels.get(SERVICE_NAME_LABEL):
                yield f"{change.namespace}/{labels[SERVICE_NAME_LABEL]}"
        elif change.kind == "Pod":
            labels = (change.object.get("metadata") or {}).get("labels") or {}
            services = KubeObject.objects.filter(
                cluster_id=change.cluster_id, kind="Service", namespace=change.namespace
            ).values_list("name", "body")
            for name, body in services:
                selector = (body.get("spec") or {}).get("selector")
                if selector and k8s.selector_matches({"matchLabels": selector}, labels):
                    yield f"{change.namespace}/{name}"
            if not change.actor.startswith("kubelet"):
                # Only the new labels are in the change log. The real controller compares old and
                # new labels; here a pod whose labels changed may have left a selector, so the
                # Services whose slices still list it are keyed too. The kubelet never changes
                # labels, and its status writes are most pod changes, so they skip this read.
                yield from self._services_listing(change)

    @staticmethod
    def _services_listing(change: Change) -> Iterable[str]:
        """Services of the pod's namespace whose managed slices have an endpoint for it."""
        slices = KubeObject.objects.filter(
            cluster_id=change.cluster_id, kind="EndpointSlice", namespace=change.namespace
        ).values_list("body", flat=True)
        uid = str(change.uid)
        for body in slices:
            labels = (body.get("metadata") or {}).get("labels") or {}
            if labels.get(MANAGED_BY_LABEL) != MANAGED_BY:
                continue
            if any(
                (e.get("targetRef") or {}).get("uid") == uid for e in body.get("endpoints") or []
            ):
                yield f"{change.namespace}/{labels.get(SERVICE_NAME_LABEL, '')}"

    def all_keys(self, ctx: SyncContext) -> Iterable[str]:
        pairs = ctx.objects("Service").order_by("pk").values_list("namespace", "name")
        return (f"{ns}/{name}" for ns, name in pairs)

    def sync(self, ctx: SyncContext, key: str) -> None:
        namespace, _, name = key.partition("/")
        service = ctx.get("Service", name, namespace)
        if service is None or service.deleting:
            return  # the garbage collector removes the slices it owned
        selector = service.spec.get("selector") or {}
        existing = [
            s
            for s in ctx.objects("EndpointSlice").filter(namespace=namespace, owner_uid=service.uid)
            if (s.body["metadata"].get("labels") or {}).get(MANAGED_BY_LABEL) == MANAGED_BY
        ]
        if not selector:
            for stale in existing:
                stale.cluster = ctx.cluster
                store.object_remove(obj=stale, actor=self.name)
            return
        pods = [
            p.body
            for p in ctx.objects("Pod").filter(namespace=namespace)
            if k8s.selector_matches({"matchLabels": selector}, p.body["metadata"].get("labels"))
        ]
        self._apply(ctx, service, plan_slices(service.body, pods), existing)

    def _apply(
        self,
        ctx: SyncContext,
        service: KubeObject,
        desired: list[DesiredSlice],
        existing: list[KubeObject],
    ) -> None:
        labels = slice_labels(service.body)
        pool = sorted(existing, key=lambda s: s.name)
        for want in desired:
            # Reuse a slice of the same type with the same ports first (the reconciler keeps
            # slices stable); a slice's addressType is immutable, so only one of that type.
            same_type = [s for s in pool if _address_type(s.body) == want.address_type]
            match = next((s for s in same_type if _ports_key(s.body) == want.ports), None)
            match = match or (same_type[0] if same_type else None)
            if match is None:
                self._create(ctx, service, want, labels)
                continue
            pool.remove(match)
            body = match.body
            if (
                body.get("endpoints") == want.endpoints
                and _ports_key(body) == want.ports
                and (body["metadata"].get("labels") or {}) == labels
                and body.get("ports") is not None
            ):
                continue
            body["endpoints"] = want.endpoints
            body["ports"] = _ports_json(want.ports)
            body["metadata"]["labels"] = labels
            match.cluster = ctx.cluster
            store.object_update(obj=match, actor=self.name)
        for stale in pool:
            stale.cluster = ctx.cluster
            store.object_remove(obj=stale, actor=self.name)

    def _create(
        self, ctx: SyncContext, service: KubeObject, want: DesiredSlice, labels: dict
    ) -> None:
        body = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "generateName": f"{service.name}-",
                "namespace": service.namespace,
                "labels": labels,
                "ownerReferences": [k8s.controller_ref(service.body)],
            },
            "addressType": want.address_type,
            "endpoints": want.endpoints,
            "ports": _ports_json(want.ports),
        }
        store.object_create(cluster=ctx.cluster, body=body, actor=self.name, rng=ctx.rng)
