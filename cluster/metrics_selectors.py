"""Reads for the metrics pipeline: the pods' and nodes' samples as metrics-server serves them.

One query for the pods asked about, one for the Ready state of their nodes, and one
``load.pod_request_rates`` per namespace involved; no per-pod query. The arithmetic is
``cluster/metrics.py``.
"""

from __future__ import annotations

from collections.abc import Iterable

from cluster import containers as rt
from cluster import k8s, load, metrics
from cluster.models import Cluster, KubeObject
from cluster.scheduling.quantity import QuantityError, parse_cpu, parse_memory


def _limit(container: dict, resource: str) -> int | None:
    value = ((container.get("resources") or {}).get("limits") or {}).get(resource)
    if value in (None, ""):
        return None
    try:
        return parse_cpu(str(value)) if resource == "cpu" else parse_memory(str(value))
    except QuantityError:
        return None


def _pod_run(pod: KubeObject, rps: float) -> metrics.PodRun:
    state = (pod.sim or {}).get("kubelet") or {}
    running: list[metrics.ContainerRun] = []
    if state.get("stage") == "running" and "started" in state:
        statuses = {
            cs.get("name"): cs
            for cs in (pod.body.get("status") or {}).get("containerStatuses") or []
        }
        for container in pod.spec.get("containers") or []:
            cs = statuses.get(container.get("name")) or {}
            if "running" in (cs.get("state") or {}):
                running.append(
                    metrics.ContainerRun(
                        name=container["name"],
                        started=float(state["started"]),
                        cpu_limit=_limit(container, "cpu"),
                        memory_limit=_limit(container, "memory"),
                    )
                )
    text = (pod.metadata.get("annotations") or {}).get(rt.BEHAVIOR_ANNOTATION, "")
    try:
        behavior = rt.parse_behavior(text)
    except rt.BehaviorError:
        behavior = rt.Behavior()
    return metrics.PodRun(
        namespace=pod.namespace,
        name=pod.name,
        node=pod.node_name,
        containers=tuple(running),
        behavior=behavior,
        behavior_since=float(state.get("origin", state.get("started", 0.0))),
        rps=rps,
        labels=tuple(sorted((pod.metadata.get("labels") or {}).items())),
    )


def _ready_nodes(cluster: Cluster, names: Iterable[str] | None = None) -> set[str]:
    nodes = KubeObject.objects.filter(cluster=cluster, kind="Node")
    if names is not None:
        nodes = nodes.filter(name__in=set(names))
    return {
        name
        for name, body in nodes.values_list("name", "body")
        if k8s.node_ready_status(body) == "True"
    }


def pods_usage(*, cluster: Cluster, pods: Iterable[KubeObject]) -> list[metrics.PodUsage]:
    """The samples of ``pods`` (already fetched) that have one, in the given order."""
    pods = [p for p in pods if p.node_name]
    ready = _ready_nodes(cluster, {p.node_name for p in pods})
    rates = {
        ns: load.pod_request_rates(cluster=cluster, namespace=ns)
        for ns in sorted({p.namespace for p in pods})
    }
    out = []
    for pod in pods:
        if pod.node_name not in ready:
            continue
        usage = metrics.pod_usage(
            _pod_run(pod, rates[pod.namespace].get(pod.name, 0.0)), now=cluster.sim_now
        )
        if usage is not None:
            out.append(usage)
    return out


def cpu_at_rates(*, cluster: Cluster, rates: dict[str, float]) -> dict[str, int]:
    """The CPU (millicores) each pod ``"ns/name"`` uses while serving ``rates`` requests/s, by
    the same usage model metrics-server reports (behaviour, idle baseline, CPU limit): what the
    traffic sample shows next to each pod's rate. Pods with no sample yet are left out."""
    by_ns: dict[str, set[str]] = {}
    for key in rates:
        ns, _, name = key.partition("/")
        by_ns.setdefault(ns, set()).add(name)
    out: dict[str, int] = {}
    for ns, names in by_ns.items():
        for pod in KubeObject.objects.filter(
            cluster=cluster, kind="Pod", namespace=ns, name__in=names
        ):
            usage = metrics.pod_usage(
                _pod_run(pod, rates[f"{ns}/{pod.name}"]), now=cluster.sim_now
            )
            if usage is not None:
                out[f"{ns}/{pod.name}"] = usage.cpu_millis
    return out


def pod_metrics(
    *, cluster: Cluster, namespace: str | None = None, name: str | None = None
) -> list[metrics.PodUsage]:
    """Every pod sample of a namespace (None: all namespaces), by namespace and name; ``name``
    narrows it to one pod."""
    pods = KubeObject.objects.filter(cluster=cluster, kind="Pod", phase="Running")
    if namespace is not None:
        pods = pods.filter(namespace=namespace)
    if name is not None:
        pods = pods.filter(name=name)
    return pods_usage(cluster=cluster, pods=pods.order_by("namespace", "name"))


def node_metrics(*, cluster: Cluster) -> list[metrics.NodeUsage]:
    """Every Ready node's sample, by name."""
    ready = sorted(_ready_nodes(cluster))
    by_node: dict[str, list[metrics.PodUsage]] = {name: [] for name in ready}
    for usage in pod_metrics(cluster=cluster):
        by_node.setdefault(usage.node, []).append(usage)
    return [metrics.node_usage(name, by_node[name], now=cluster.sim_now) for name in ready]


def node_labels(*, cluster: Cluster) -> dict[str, dict]:
    """Each Node's labels (NodeMetrics carry them, so ``kubectl top nodes -l`` selects)."""
    return {
        name: body.get("metadata", {}).get("labels") or {}
        for name, body in KubeObject.objects.filter(cluster=cluster, kind="Node").values_list(
            "name", "body"
        )
    }
