"""Ingress and IngressClass writes: admission as kube-apiserver does it, and the add-ons every
new cluster gets (docs/ingress.md, docs/dns.md).

- Ingress admission: the DefaultIngressClass admission plugin (an Ingress without a class gets
  the default IngressClass's name), then ``ValidateIngressSpec`` (:mod:`cluster.ingress`),
  refused as ``Ingress.networking.k8s.io "<name>" is invalid: ...``; the status is kept on
  updates (it is written by the ingress controller through ``/status``).
- IngressClass admission: ``spec.controller`` required and immutable.
- :func:`cluster_addons_ensure`: what a kind/kubeadm cluster with the ingress-nginx add-on has
  from the start: the ``kube-dns`` Service in kube-system at the service CIDR's tenth address
  (selector ``k8s-app=kube-dns``, ports 53/UDP, 53/TCP, 9153/TCP), the IngressClass ``nginx``
  (controller ``k8s.io/ingress-nginx``, the default class) and the ingress-nginx controller's
  ``LoadBalancer`` Service (``kube-system/ingress-nginx-controller``, ports 80 and 443), whose
  external address the simulated ingress controller publishes on its Ingresses.
"""

from __future__ import annotations

from cluster import ingress, networking
from cluster.models import Cluster, KubeObject
from cluster.services import store
from cluster.services.errors import Invalid

INGRESS_CLASS = "nginx"
INGRESS_CONTROLLER = "k8s.io/ingress-nginx"
CONTROLLER_NAMESPACE = "kube-system"
CONTROLLER_SERVICE = "ingress-nginx-controller"
CONTROLLER_SELECTOR = {
    "app.kubernetes.io/name": "ingress-nginx",
    "app.kubernetes.io/component": "controller",
}
DNS_SERVICE = "kube-dns"
DNS_SELECTOR = {"k8s-app": "kube-dns"}
ERR_CONTROLLER_IMMUTABLE = 'Invalid value: "{value}": field is immutable'


def _invalid(kind: str, name: str, causes: list[dict]) -> Invalid:
    detail = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
    return Invalid(
        f'{kind}.networking.k8s.io "{name}" is invalid: {detail}',
        causes=causes,
        kind=kind,
        name=name,
    )


def _classes(cluster: Cluster) -> list[dict]:
    return list(
        KubeObject.objects.filter(cluster=cluster, kind="IngressClass").values_list(
            "body", flat=True
        )
    )


def ingress_admit(cluster: Cluster, body: dict) -> None:
    """Admission of a new Ingress (mutates ``body``): default class, validation."""
    spec = body.setdefault("spec", {})
    if isinstance(spec, dict) and not ingress.ingress_class_of(body):
        default = ingress.default_class(_classes(cluster))
        if default:
            spec["ingressClassName"] = default
    body.setdefault("status", {"loadBalancer": {}})
    causes = ingress.ingress_validation_errors(body)
    if causes:
        raise _invalid("Ingress", body["metadata"].get("name", ""), causes)


def ingress_admit_update(cluster: Cluster, old: dict, new: dict) -> None:
    causes = ingress.ingress_validation_errors(new)
    if causes:
        raise _invalid("Ingress", old["metadata"]["name"], causes)


def ingress_class_admit(cluster: Cluster, body: dict) -> None:
    causes = ingress.ingress_class_validation_errors(body)
    if causes:
        raise _invalid("IngressClass", body["metadata"].get("name", ""), causes)


def ingress_class_admit_update(cluster: Cluster, old: dict, new: dict) -> None:
    before = (old.get("spec") or {}).get("controller")
    after = (new.get("spec") or {}).get("controller")
    causes = ingress.ingress_class_validation_errors(new)
    if not causes and before != after:
        message = ERR_CONTROLLER_IMMUTABLE.format(value=after)
        causes = [{"field": "spec.controller", "message": message}]
    if causes:
        raise _invalid("IngressClass", old["metadata"]["name"], causes)


# --- the cluster's add-ons ------------------------------------------------------------------------


def ingress_class_body() -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {
            "name": INGRESS_CLASS,
            "labels": {"app.kubernetes.io/name": "ingress-nginx"},
            "annotations": {ingress.DEFAULT_CLASS_ANNOTATION: "true"},
        },
        "spec": {"controller": INGRESS_CONTROLLER},
    }


def dns_service_body() -> dict:
    ip = networking.dns_service_ip()
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": DNS_SERVICE,
            "namespace": "kube-system",
            "labels": {
                "k8s-app": "kube-dns",
                "kubernetes.io/cluster-service": "true",
                "kubernetes.io/name": "CoreDNS",
            },
        },
        "spec": {
            "selector": dict(DNS_SELECTOR),
            "clusterIP": ip,
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
            ],
        },
    }


def controller_service_body() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": CONTROLLER_SERVICE,
            "namespace": CONTROLLER_NAMESPACE,
            "labels": dict(CONTROLLER_SELECTOR),
        },
        "spec": {
            "type": "LoadBalancer",
            "selector": dict(CONTROLLER_SELECTOR),
            "ports": [
                {"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"},
                {"name": "https", "port": 443, "protocol": "TCP", "targetPort": "https"},
            ],
        },
    }


def cluster_addons_ensure(*, cluster: Cluster, actor: str) -> None:
    """Create whichever of kube-dns, the ``nginx`` IngressClass and the ingress-nginx
    controller's Service is missing (inside the caller's transaction)."""
    from cluster.services.networking import service_admit  # noqa: PLC0415 - no cycle at import

    def missing(kind: str, namespace: str, name: str) -> bool:
        return not KubeObject.objects.filter(
            cluster=cluster, kind=kind, namespace=namespace, name=name
        ).exists()

    for body in (dns_service_body(), controller_service_body()):
        meta = body["metadata"]
        if missing("Service", meta["namespace"], meta["name"]):
            service_admit(cluster, body)
            store.object_create(cluster=cluster, body=body, actor=actor)
    if missing("IngressClass", "", INGRESS_CLASS):
        store.object_create(cluster=cluster, body=ingress_class_body(), actor=actor)


def ingress_status_address(*, cluster: Cluster) -> list[str]:
    """The addresses the ingress controller publishes: its Service's load-balancer ingress."""
    obj = KubeObject.objects.filter(
        cluster=cluster, kind="Service", namespace=CONTROLLER_NAMESPACE, name=CONTROLLER_SERVICE
    ).first()
    if obj is None:
        return []
    lb = (obj.body.get("status") or {}).get("loadBalancer") or {}
    return [i["ip"] for i in lb.get("ingress") or [] if i.get("ip")]

