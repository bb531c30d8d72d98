"""Reads for traffic and kube-proxy: the rules each node's kube-proxy has, the pods requests
meet, the stored samples, and the Services panel (docs/traffic.md). Nothing here writes.

A running kube-proxy's rules ARE the current EndpointSlices (computed when read, never copied
per tick); only a stopped one has a frozen copy, taken once when it stopped
(``Machine.sim["proxyRules"]``), valid while the machine stays up on the same boot."""

from __future__ import annotations

from collections.abc import Iterable

from cluster import k8s, networking, traffic
from cluster.models import Cluster, KubeObject, TrafficSample
from cluster.scheduling.quantity import QuantityError, parse_cpu

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
#: Simulator-only keys: a Service's generator rate, a stopped kube-proxy's frozen rules.
RATE_KEY = "trafficRps"
RULES_KEY = "proxyRules"
RULES_BOOT_KEY = "proxyRulesBoot"
#: Samples the sparklines show.
CHART_SAMPLES = 40


def _endpoint(namespace: str, entry: dict) -> networking.Endpoint:
    cond = entry.get("conditions") or {}
    ready = bool(cond.get("ready"))
    return networking.Endpoint(
        address=(entry.get("addresses") or [""])[0],
        ready=ready,
        serving=bool(cond.get("serving", ready)),
        terminating=bool(cond.get("terminating")),
        pod=f"{namespace}/{(entry.get('targetRef') or {}).get('name', '')}",
    )


def service_rules(
    *, cluster: Cluster, services: Iterable[tuple[str, str]] | None = None
) -> dict[str, tuple[networking.Endpoint, ...]]:
    """What a running kube-proxy programs per Service ("ns/name"): the usable endpoints of its
    EndpointSlices (ready ones, else serving-terminating ones), sorted by address as kube-proxy
    orders them. ``services`` limits the read to those Services' namespaces."""
    slices = KubeObject.objects.filter(cluster=cluster, kind="EndpointSlice")
    wanted = None
    if services is not None:
        wanted = {f"{ns}/{name}" for ns, name in services}
        slices = slices.filter(namespace__in={ns for ns, _ in services})
    by_family: dict[str, dict[str, list[networking.Endpoint]]] = {}
    for namespace, body in slices.order_by("name").values_list("namespace", "body"):
        svc = (body["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL)
        key = f"{namespace}/{svc}"
        if not svc or (wanted is not None and key not in wanted):
            continue
        entries = body.get("endpoints") or []
        family = body.get("addressType") or networking.IPV4
        by_family.setdefault(key, {}).setdefault(family, []).extend(
            _endpoint(namespace, e) for e in entries
        )
    # A dual-stack Service has a set of slices per family; the simulated clients connect over
    # IPv4 when the Service has it (its IPv6 rules pick from the same pods the same way).
    found = {
        key: families.get(networking.IPV4, next(iter(families.values())))
        for key, families in by_family.items()
    }
    return {
        key: tuple(sorted(traffic.node_rules(eps), key=lambda e: e.address))
        for key, eps in found.items()
    }


def machine_up(machine: KubeObject) -> bool:
    """The machine is powered and booted (its kernel's rules exist)."""
    return bool(machine.spec.get("powered")) and bool(machine.sim.get("running"))


def kube_proxy_running(machine: KubeObject) -> bool:
    return bool(machine.spec.get("kubeProxy", True))


def node_rules(
    machine: KubeObject, current: dict[str, tuple[networking.Endpoint, ...]]
) -> dict[str, tuple[networking.Endpoint, ...]]:
    """The rules in one node's kernel: none when the machine is down, the current slices when
    its kube-proxy runs, else the copy it had when it stopped (if the machine was not rebooted
    since: a reboot empties the tables)."""
    if not machine_up(machine):
        return {}
    if kube_proxy_running(machine):
        return current
    if machine.sim.get(RULES_BOOT_KEY) != machine.sim.get("boot_id"):
        return {}
    frozen = machine.sim.get(RULES_KEY) or {}
    return {
        key: tuple(networking.Endpoint(**e) for e in endpoints) for key, endpoints in frozen.items()
    }


def frozen_rules(*, cluster: Cluster) -> dict[str, list[dict]]:
    """The current rules as plain data, for a kube-proxy that stops now."""
    return {
        key: [e.__dict__.copy() for e in endpoints]
        for key, endpoints in service_rules(cluster=cluster).items()
    }


def pod_cpu_millis(body: dict) -> float:
    """The CPU a pod can serve with: its containers' CPU limits (the CFS quota throttles
    there); a container without a limit may use spare CPU of its node, up to the one core a
    simulated server uses (``traffic.DEFAULT_CPU_MILLIS``). A request is a reservation for
    the scheduler, not a ceiling, so it does not bound the pod."""
    total = 0.0
    for container in body.get("spec", {}).get("containers") or []:
        value = ((container.get("resources") or {}).get("limits") or {}).get("cpu")
        try:
            total += parse_cpu(str(value)) if value is not None else traffic.DEFAULT_CPU_MILLIS
        except QuantityError:
            total += traffic.DEFAULT_CPU_MILLIS
    return total or traffic.DEFAULT_CPU_MILLIS


def _container_running(body: dict) -> bool:
    statuses = body.get("status", {}).get("containerStatuses") or []
    return bool(statuses) and all("running" in (cs.get("state") or {}) for cs in statuses)


def pod_states(
    *, cluster: Cluster, keys: Iterable[str], machines: dict[str, KubeObject]
) -> dict[str, traffic.PodState]:
    """What requests meet at the pods named ``ns/name`` (absent: gone)."""
    by_ns: dict[str, set[str]] = {}
    for key in keys:
        ns, _, name = key.partition("/")
        by_ns.setdefault(ns, set()).add(name)
    states: dict[str, traffic.PodState] = {}
    for ns, names in by_ns.items():
        rows = KubeObject.objects.filter(
            cluster=cluster, kind="Pod", namespace=ns, name__in=names
        ).values_list("name", "node_name", "body")
        for name, node, body in rows:
            machine = machines.get(node)
            failure = None
            if (
                machine is None
                or not machine_up(machine)
                or machine.spec.get("partitioned")
                or machine.sim.get("partitioned")
            ):
                failure = traffic.NODE_DOWN
            elif body.get("status", {}).get("phase") in k8s.TERMINAL_PHASES or not (
                _container_running(body)
            ):
                failure = traffic.NOT_RUNNING
            states[f"{ns}/{name}"] = traffic.PodState(
                name=name,
                address=body.get("status", {}).get("podIP", ""),
                node=node,
                cpu_millis=pod_cpu_millis(body),
                failure=failure,
            )
    return states


def generators(*, cluster: Cluster) -> list[tuple[str, str, float]]:
    """Every Service whose traffic generator is on: (namespace, name, rps)."""
    rows = (
        KubeObject.objects.filter(cluster=cluster, kind="Service", sim__has_key=RATE_KEY)
        .order_by("namespace", "name")
        .values_list("namespace", "name", "sim")
    )
    return [(ns, name, float(sim[RATE_KEY])) for ns, name, sim in rows if sim.get(RATE_KEY)]


def latest_sample(*, cluster: Cluster) -> dict | None:
    row = (
        TrafficSample.objects.filter(cluster=cluster)
        .order_by("-sim_time", "-pk")
        .values_list("data", flat=True)
        .first()
    )
    return row


def sample_history(*, cluster: Cluster, limit: int = CHART_SAMPLES) -> list[dict]:
    """The newest samples, oldest first (the sparklines' points)."""
    rows = list(
        TrafficSample.objects.filter(cluster=cluster)
        .order_by("-sim_time", "-pk")
        .values_list("data", flat=True)[:limit]
    )
    return rows[::-1]


def services_panel(*, cluster: Cluster) -> list[dict]:
    """The Services panel's rows: type, ClusterIP, ports, DNS name, endpoints by condition and
    the generator's rate."""
    rows = []
    services = KubeObject.objects.filter(cluster=cluster, kind="Service").order_by(
        "namespace", "name"
    )
    slices: dict[str, dict[str, list[dict]]] = {}
    for namespace, body in KubeObject.objects.filter(
        cluster=cluster, kind="EndpointSlice"
    ).values_list("namespace", "body"):
        svc = (body["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL)
        if svc:
            family = body.get("addressType") or networking.IPV4
            slices.setdefault(f"{namespace}/{svc}", {}).setdefault(family, []).extend(
                body.get("endpoints") or []
            )
    for obj in services:
        spec = obj.body.get("spec", {})
        ready = not_ready = terminating = 0
        # Endpoints are counted once per pod: from the primary family's slices.
        families = slices.get(obj.key, {})
        primary = (spec.get("ipFamilies") or [networking.IPV4])[0]
        entries = families.get(primary) or next(iter(families.values()), [])
        for entry in entries:
            cond = entry.get("conditions") or {}
            if cond.get("ready"):
                ready += 1
            elif cond.get("terminating"):
                terminating += 1
            else:
                not_ready += 1
        ports = [
            f"{p.get('port')}"
            + (f":{p['nodePort']}" if p.get("nodePort") else "")
            + f"/{p.get('protocol', 'TCP')}"
            + (f" → {p['targetPort']}" if p.get("targetPort") not in (None, p.get("port")) else "")
            for p in spec.get("ports") or []
        ]
        rows.append(
            {
                "namespace": obj.namespace,
                "name": obj.name,
                "key": obj.key,
                "type": spec.get("type", "ClusterIP"),
                "cluster_ip": spec.get("clusterIP", ""),
                "cluster_ips": [ip for ip in spec.get("clusterIPs") or [] if ip != "None"],
                "ip_family_policy": spec.get("ipFamilyPolicy", "SingleStack"),
                "ports": ", ".join(ports),
                "dns": networking.service_dns_name(obj.name, obj.namespace),
                "ready": ready,
                "not_ready": not_ready,
                "terminating": terminating,
                "rps": float(obj.sim.get(RATE_KEY, 0) or 0),
                "selector": spec.get("selector") or {},
                "system": obj.namespace == "default" and obj.name == "kubernetes",
            }
        )
    return rows


def proxy_state(*, cluster: Cluster) -> dict:
    """The cluster's kube-proxy mode and which nodes' kube-proxy is stopped."""
    stopped = sorted(
        name
        for name, spec in KubeObject.objects.filter(cluster=cluster, kind="Machine").values_list(
            "name", "body__spec"
        )
        if not (spec or {}).get("kubeProxy", True)
    )
    return {"mode": cluster.proxy_mode, "stopped": stopped}
