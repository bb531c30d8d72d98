"""Compact views of objects for the live diagram (the WebSocket protocol's VIEW shapes).

Pure functions of an object's JSON body; the snapshot and every delta use the same ones, so a
delta applied to a snapshot gives the same state as a fresh snapshot.
"""

from __future__ import annotations

from cluster import ingress, k8s
from cluster.scheduling.quantity import parse_cpu, parse_memory


def _base(body: dict) -> dict:
    meta = body["metadata"]
    out = {
        "kind": body["kind"],
        "name": meta["name"],
        "uid": meta.get("uid"),
        "rv": int(meta.get("resourceVersion") or 0),
    }
    if meta.get("namespace"):
        out["namespace"] = meta["namespace"]
    return out


def _owner(body: dict) -> dict | None:
    ref = k8s.controller_of(body)
    return {"kind": ref["kind"], "name": ref["name"]} if ref else None


def _requests(spec: dict) -> dict:
    cpu = memory = 0
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        req = resources.get("requests") or resources.get("limits") or {}
        if "cpu" in req:
            cpu += parse_cpu(req["cpu"])
        if "memory" in req:
            memory += parse_memory(req["memory"])
    return {"cpu": cpu, "memory": memory}


def _ready(body: dict) -> str:
    """Ready containers / containers. When the node-lifecycle controller has marked the pod not
    ready (MarkPodsNotReady) its containers still claim readiness, but the pod is out of
    service: the diagram shows 0/N so the class sees it."""
    text = k8s.pod_ready_count(body)
    cond = k8s.get_condition(body.get("status", {}), "Ready")
    if cond is not None and cond.get("status") != "True":
        return "0/" + text.split("/")[1]
    return text


def pod_view(body: dict) -> dict:
    spec = body.get("spec", {})
    status = body.get("status", {})
    return {
        **_base(body),
        "nodeName": spec.get("nodeName", ""),
        "phase": status.get("phase", "Pending"),
        "status": k8s.pod_printed_status(body),
        "ready": _ready(body),
        "deleting": bool(body["metadata"].get("deletionTimestamp")),
        "owner": _owner(body),
        "labels": body["metadata"].get("labels") or {},
        "restarts": k8s.pod_restarts(body),
        "requests": _requests(spec),
        "image": k8s.container_image(body),
        "createdAt": k8s.parse_time(body["metadata"].get("creationTimestamp")),
        "ip": status.get("podIP", ""),
        # Dual-stack pods have one address per family (IPv4 first); single-stack, just ip.
        "ips": [e.get("ip", "") for e in status.get("podIPs") or [] if isinstance(e, dict)],
    }


def node_view(body: dict) -> dict:
    alloc = body.get("status", {}).get("allocatable") or {}
    spec = body.get("spec", {})
    return {
        **_base(body),
        "ready": k8s.node_ready_status(body),
        "status": k8s.node_printed_status(body),
        "unschedulable": bool(spec.get("unschedulable")),
        "taints": [
            {"key": t["key"], "effect": t.get("effect", ""), "value": t.get("value", "")}
            for t in spec.get("taints") or []
        ],
        "roles": k8s.node_roles(body),
        "podCIDR": spec.get("podCIDR", ""),
        "podCIDRs": list(spec.get("podCIDRs") or []),
        "allocatable": {
            "cpu": parse_cpu(alloc.get("cpu", "0")),
            "memory": parse_memory(alloc.get("memory", "0")),
            "pods": int(alloc.get("pods", 0)),
        },
        "createdAt": k8s.parse_time(body["metadata"].get("creationTimestamp")),
        # Conditions the API server shows True (or Unknown) besides Ready: the pressure badges.
        "pressure": [
            c["type"]
            for c in body.get("status", {}).get("conditions") or []
            if c.get("type") in ("MemoryPressure", "DiskPressure", "PIDPressure")
            and c.get("status") == "True"
        ],
    }


def machine_view(body: dict) -> dict:
    spec = body.get("spec", {})
    return {
        **_base(body),
        "powered": bool(spec.get("powered")),
        "kubelet": bool(spec.get("kubelet")),
        "partitioned": bool(spec.get("partitioned")),
        "memoryPressure": bool(spec.get("memoryPressure")),
        "diskPressure": bool(spec.get("diskPressure")),
        "kubeProxy": bool(spec.get("kubeProxy", True)),
    }


def deployment_view(body: dict) -> dict:
    spec, status = body.get("spec", {}), body.get("status", {})
    return {
        **_base(body),
        "replicas": spec.get("replicas", 1),
        "readyReplicas": status.get("readyReplicas", 0),
        "updatedReplicas": status.get("updatedReplicas", 0),
        "availableReplicas": status.get("availableReplicas", 0),
        "image": k8s.container_image(spec.get("template", {})),
        **_rollout_fields(body),
    }


def _rollout_fields(body: dict) -> dict:
    """What the diagram shows of a rollout: revision, paused, the Progressing reason."""
    progressing = k8s.get_condition(body.get("status", {}), "Progressing") or {}
    return {
        "revision": (body["metadata"].get("annotations") or {}).get(
            "deployment.kubernetes.io/revision", ""
        ),
        "paused": bool(body.get("spec", {}).get("paused")),
        "progressing": progressing.get("reason", ""),
    }


def replicaset_view(body: dict) -> dict:
    spec, status = body.get("spec", {}), body.get("status", {})
    return {
        **_base(body),
        "replicas": spec.get("replicas", 1),
        "readyReplicas": status.get("readyReplicas", 0),
        "owner": _owner(body),
        "revision": (body["metadata"].get("annotations") or {}).get(
            "deployment.kubernetes.io/revision", ""
        ),
        "availableReplicas": status.get("availableReplicas", 0),
        "image": k8s.container_image(spec.get("template", {})),
    }


def lease_view(body: dict) -> dict:
    return {**_base(body), "renewTime": k8s.parse_micro_time(body.get("spec", {}).get("renewTime"))}


def event_view(body: dict) -> dict:
    involved = body.get("involvedObject", {})
    return {
        **_base(body),
        "type": body.get("type", "Normal"),
        "reason": body.get("reason", ""),
        "message": body.get("message", ""),
        "involved": {
            "kind": involved.get("kind"),
            "namespace": involved.get("namespace", ""),
            "name": involved.get("name"),
        },
        "source": (body.get("source") or {}).get("component", body.get("reportingComponent", "")),
        "count": body.get("count", 1),
        "lastTimestamp": k8s.parse_time(body.get("lastTimestamp")),
    }


def namespace_view(body: dict) -> dict:
    return {**_base(body), "phase": body.get("status", {}).get("phase", "Active")}


def service_view(body: dict) -> dict:
    spec = body.get("spec", {})
    return {
        **_base(body),
        "type": spec.get("type", "ClusterIP"),
        "clusterIP": spec.get("clusterIP", ""),
        "clusterIPs": [ip for ip in spec.get("clusterIPs") or [] if ip != "None"],
        "ports": [
            {
                "port": p.get("port"),
                "targetPort": p.get("targetPort"),
                "nodePort": p.get("nodePort"),
            }
            for p in spec.get("ports") or []
        ],
        "selector": spec.get("selector") or {},
    }


def _ingress_backend(backend: dict | None) -> dict | None:
    """``{"service": name, "port": number-or-name}``, or ``{"resource": "Kind/name"}``."""
    if not backend:
        return None
    if backend.get("resource"):
        ref = backend["resource"]
        return {"resource": f"{ref.get('kind', '')}/{ref.get('name', '')}"}
    service = backend.get("service") or {}
    port = service.get("port") or {}
    return {"service": service.get("name", ""), "port": port.get("number") or port.get("name")}


def ingress_view(body: dict) -> dict:
    """An Ingress as the traffic lane draws it: its class, the address ingress-nginx published
    (``kubectl get ingress``'s ADDRESS), one entry per host/path rule and the default backend."""
    spec = body.get("spec") or {}
    rules = [
        {
            "host": rule.get("host", ""),
            "path": path.get("path", ""),
            "pathType": path.get("pathType", ""),
            "backend": _ingress_backend(path.get("backend")),
        }
        for rule in spec.get("rules") or []
        for path in (rule.get("http") or {}).get("paths") or []
    ]
    return {
        **_base(body),
        "class": ingress.ingress_class_of(body),
        "address": ingress.address_cell(body),
        "rules": rules,
        "defaultBackend": _ingress_backend(spec.get("defaultBackend")),
    }


VIEWS = {
    "Service": service_view,
    "Ingress": ingress_view,
    "Pod": pod_view,
    "Node": node_view,
    "Machine": machine_view,
    "Deployment": deployment_view,
    "ReplicaSet": replicaset_view,
    "Lease": lease_view,
    "Event": event_view,
    "Namespace": namespace_view,
}


def view(body: dict, *, sim: dict | None = None) -> dict:
    fn = VIEWS.get(body["kind"])
    return fn(body) if fn else _base(body)
