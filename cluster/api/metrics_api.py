"""``metrics.k8s.io/v1beta1`` as metrics-server serves it behind kube-apiserver's aggregator:
``PodMetrics`` (namespaced and all namespaces) and ``NodeMetrics``, get and list, label
selectors. Computed at request time from the simulated usage model (cluster/metrics.py through
cluster/metrics_selectors.py); nothing is stored, so there is no watch and no write.

``kubectl top pods [--containers]`` and ``kubectl top nodes`` read these lists; a pod or node
without a sample is absent, and getting it is a 404 worded as metrics-server words it
(``podmetrics.metrics.k8s.io "web-1" not found``).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from cluster import k8s, metrics, metrics_selectors
from cluster.api import resources, selection, status
from cluster.models import Cluster

GROUP_VERSION = "metrics.k8s.io/v1beta1"


def _usage(cpu_millis: int, memory_bytes: int) -> dict:
    # metrics-server reports CPU in nanocores and memory in Ki; kubectl top rounds to m / Mi.
    return {"cpu": f"{cpu_millis * 1_000_000}n", "memory": f"{-(-memory_bytes // 1024)}Ki"}


def _meta(name: str, now: float, namespace: str | None = None, labels: dict | None = None) -> dict:
    meta: dict = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["creationTimestamp"] = k8s.rfc3339(now)
    if labels:
        meta["labels"] = labels
    return meta


def pod_body(usage: metrics.PodUsage, now: float) -> dict:
    return {
        "kind": "PodMetrics",
        "apiVersion": GROUP_VERSION,
        "metadata": _meta(usage.name, now, usage.namespace, dict(usage.labels)),
        "timestamp": k8s.rfc3339(usage.timestamp),
        "window": metrics.format_window(usage.window),
        "containers": [
            {"name": c.name, "usage": _usage(c.cpu_millis, c.memory_bytes)}
            for c in usage.containers
        ],
    }


def node_body(usage: metrics.NodeUsage, now: float, labels: dict | None = None) -> dict:
    return {
        "kind": "NodeMetrics",
        "apiVersion": GROUP_VERSION,
        "metadata": _meta(usage.name, now, labels=labels),
        "timestamp": k8s.rfc3339(usage.timestamp),
        "window": metrics.format_window(usage.window),
        "usage": _usage(usage.cpu_millis, usage.memory_bytes),
    }


def _bodies(
    cluster: Cluster, res: resources.Resource, namespace: str | None, name: str | None
) -> list[dict]:
    now = cluster.sim_now
    if res.kind == "PodMetrics":
        return [
            pod_body(u, now)
            for u in metrics_selectors.pod_metrics(cluster=cluster, namespace=namespace, name=name)
        ]
    labels = metrics_selectors.node_labels(cluster=cluster)
    return [
        node_body(u, now, labels.get(u.name))
        for u in metrics_selectors.node_metrics(cluster=cluster)
    ]


def respond(
    request: HttpRequest,
    cluster: Cluster,
    res: resources.Resource,
    namespace: str | None,
    name: str | None = None,
) -> HttpResponse:
    """A list (``name`` None) or a get of one sample; anything but GET is not allowed."""
    if request.method not in ("GET", "HEAD"):
        return status.method_not_allowed()
    bodies = _bodies(cluster, res, namespace, name)
    if name is not None:
        found = [b for b in bodies if b["metadata"]["name"] == name]
        if not found:
            plural = "podmetrics" if res.kind == "PodMetrics" else "nodemetrics"
            return status.not_found(resource=plural, group=res.group, name=name)
        return JsonResponse(found[0])
    labels = selection.parse_label_selector(request.GET.get("labelSelector"))
    items = [b for b in bodies if labels(b["metadata"].get("labels") or {})]
    return JsonResponse(
        {
            "kind": f"{res.kind}List",
            "apiVersion": GROUP_VERSION,
            "metadata": {},
            "items": items,
        }
    )
