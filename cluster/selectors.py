"""The core's reads: snapshots for the live diagram, change-log catch-up, event tables and
``kubectl describe``-like text. Nothing here writes."""

from __future__ import annotations

import yaml

from cluster import broadcast, k8s, presenters, timings, traffic_selectors
from cluster.containers import BEHAVIOR_ANNOTATION
from cluster.models import ApiToken, Change, Cluster, ControllerState, KubeObject

#: Kinds the diagram shows. Events are capped to the newest ones in snapshots.
SNAPSHOT_KINDS = (
    "Namespace",
    "Machine",
    "Node",
    "Lease",
    "Deployment",
    "ReplicaSet",
    "Pod",
    "Service",
    "Ingress",
)
SNAPSHOT_EVENTS = 200
#: Long strings (the last-applied annotation) stay on one line, as kubectl prints them.
YAML_WIDTH = 1_000_000


def cluster_get(*, name: str) -> Cluster:
    return Cluster.objects.get(name=name)


def cluster_find(*, name: str) -> Cluster | None:
    return Cluster.objects.filter(name=name).first()


def cluster_list() -> list[Cluster]:
    return list(Cluster.objects.order_by("name"))


def snapshot(*, cluster: Cluster) -> dict:
    """Every object the diagram draws, at one resourceVersion.

    Read in one transaction-consistent pass: the rv is read first, and objects newer than it are
    still included (their deltas will be skipped by rv), so applying later deltas converges."""
    cluster.refresh_from_db()
    rv = cluster.resource_version
    objects = [
        presenters.view(body)
        for body in KubeObject.objects.filter(cluster=cluster, kind__in=SNAPSHOT_KINDS)
        .order_by("kind", "namespace", "name")
        .values_list("body", flat=True)
    ]
    events = list(
        KubeObject.objects.filter(cluster=cluster, kind="Event")
        .order_by("-stamp", "-resource_version")
        .values_list("body", flat=True)[:SNAPSHOT_EVENTS]
    )
    objects.extend(presenters.view(body) for body in reversed(events))
    clock = broadcast.clock_message(cluster, backlog=component_backlog(cluster=cluster))
    clock.pop("type")
    return {
        "type": "snapshot",
        "rv": rv,
        "cluster": {"name": cluster.name, **clock},
        "objects": objects,
        "traffic": traffic_selectors.latest_sample(cluster=cluster),
        "trafficHistory": traffic_selectors.sample_history(cluster=cluster),
    }


def changes_since(*, cluster_id: int, rv: int, limit: int = 2000) -> list[dict] | None:
    """Deltas after ``rv`` from the change log, or None if some were compacted away."""
    compacted = Cluster.objects.filter(pk=cluster_id).values_list("compacted_rv", flat=True).first()
    if compacted is None or rv < compacted:
        return None
    return [
        broadcast.delta_message(
            rv=c.rv,
            change=c.type,
            actor=c.actor,
            sim_time=c.sim_time,
            view=presenters.view(c.object),
        )
        for c in Change.objects.filter(cluster_id=cluster_id, rv__gt=rv).order_by("rv")[:limit]
    ]


def events_table(*, cluster: Cluster, limit: int = 200) -> list[dict]:
    """``kubectl get events`` rows, newest first."""
    rows = []
    for body in (
        KubeObject.objects.filter(cluster=cluster, kind="Event")
        .order_by("-stamp", "-resource_version")
        .values_list("body", flat=True)[:limit]
    ):
        view = presenters.event_view(body)
        involved = view["involved"]
        rows.append(
            {
                "lastSeen": k8s.human_duration(
                    cluster.sim_now - (view["lastTimestamp"] or cluster.sim_now)
                ),
                "type": view["type"],
                "reason": view["reason"],
                "object": f"{(involved['kind'] or '').lower()}/{involved['name']}",
                "message": view["message"],
                "source": view["source"],
                "count": view["count"],
            }
        )
    return rows


def object_get(*, cluster: Cluster, kind: str, namespace: str, name: str) -> KubeObject:
    obj = KubeObject.objects.get(cluster=cluster, kind=kind, namespace=namespace, name=name)
    obj.cluster = cluster
    return obj


class _KubectlDumper(yaml.SafeDumper):
    """YAML as kubectl writes it: multi-line strings as ``|`` blocks, strings that would read
    back as another type (``"1"``, timestamps) in double quotes."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    plain_tag = dumper.resolve(yaml.ScalarNode, value, (True, False))
    style = '"' if plain_tag != "tag:yaml.org,2002:str" else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_KubectlDumper.add_representer(str, _represent_str)


def object_yaml(*, cluster: Cluster, kind: str, namespace: str, name: str) -> str:
    """The object as ``kubectl get -o yaml`` prints it: keys sorted (kubectl prints objects as
    sorted maps), managedFields left out (as kubectl does without ``--show-managed-fields``)."""
    body = dict(object_get(cluster=cluster, kind=kind, namespace=namespace, name=name).body)
    body["metadata"] = {k: v for k, v in body["metadata"].items() if k != "managedFields"}
    return yaml.dump(
        body, Dumper=_KubectlDumper, sort_keys=True, default_flow_style=False, width=YAML_WIDTH
    )


def _object_events(cluster: Cluster, uid: str) -> list[dict]:
    events = [
        body
        for body in KubeObject.objects.filter(cluster=cluster, kind="Event")
        .order_by("stamp", "resource_version")
        .values_list("body", flat=True)
        if body.get("involvedObject", {}).get("uid") == uid
    ]
    return events[-20:]


def _kv(mapping: dict | None) -> str:
    if not mapping:
        return "<none>"
    return "\n".join(f"{k}={v}" for k, v in sorted(mapping.items()))


def _indent_block(label: str, text: str, width: int = 16) -> list[str]:
    lines = text.splitlines() or [""]
    out = [f"{label:<{width}}{lines[0]}"]
    out.extend(" " * width + line for line in lines[1:])
    return out


def describe(*, cluster: Cluster, kind: str, namespace: str, name: str) -> str:
    """Text shaped like ``kubectl describe`` for the object panel."""
    obj = object_get(cluster=cluster, kind=kind, namespace=namespace, name=name)
    body = obj.body
    meta = body["metadata"]
    lines: list[str] = [f"{'Name:':<16}{meta['name']}"]
    if meta.get("namespace"):
        lines.append(f"{'Namespace:':<16}{meta['namespace']}")
    lines += _indent_block("Labels:", _kv(meta.get("labels")))
    lines += _indent_block("Annotations:", _kv(meta.get("annotations")))
    lines.append(f"{'CreationTimestamp:':<20}{meta.get('creationTimestamp')}")
    if kind == "Pod":
        lines += _describe_pod(body, cluster)
    elif kind == "Node":
        lines += _describe_node(body)
    elif kind in ("Deployment", "ReplicaSet"):
        lines += _describe_workload(body)
    events = _object_events(cluster, meta.get("uid", ""))
    lines.append("Events:")
    if not events:
        lines.append("  <none>")
    else:
        lines.append(f"  {'Type':<8} {'Reason':<20} {'Age':<6} {'From':<28} Message")
        lines.append(f"  {'----':<8} {'------':<20} {'---':<6} {'----':<28} -------")
        for ev in events:
            age = k8s.human_duration(
                cluster.sim_now - (k8s.parse_time(ev.get("lastTimestamp")) or cluster.sim_now)
            )
            frm = ev.get("source", {}).get("component", "")
            lines.append(
                f"  {ev.get('type', ''):<8} {ev.get('reason', ''):<20} {age:<6} {frm:<28} {ev.get('message', '')}"
            )
    return "\n".join(lines)


def _describe_pod(body: dict, cluster: Cluster) -> list[str]:
    spec, status, meta = body.get("spec", {}), body.get("status", {}), body["metadata"]
    lines = [
        f"{'Priority:':<16}{spec.get('priority', 0)}",
        f"{'Node:':<16}{spec.get('nodeName') or '<none>'}"
        + (f"/{status['hostIP']}" if status.get("hostIP") else ""),
        f"{'Start Time:':<16}{status.get('startTime', '<unset>')}",
    ]
    if meta.get("deletionTimestamp"):
        lines.append(
            f"{'Status:':<16}Terminating (lasts {k8s.human_duration(max(cluster.sim_now - (k8s.parse_time(meta['deletionTimestamp']) or cluster.sim_now), 0))})"
        )
        lines.append(
            f"{'Termination Grace Period:':<26}{meta.get('deletionGracePeriodSeconds', 30)}s"
        )
    else:
        lines.append(f"{'Status:':<16}{status.get('phase', 'Pending')}")
    lines.append(f"{'IP:':<16}{status.get('podIP', '')}")
    pod_ips = [e.get("ip", "") for e in status.get("podIPs") or [] if isinstance(e, dict)]
    if pod_ips:
        lines.append("IPs:")
        lines.extend(f"  IP:  {ip}" for ip in pod_ips)
    ref = k8s.controller_of(body)
    lines.append(
        f"{'Controlled By:':<16}{ref['kind']}/{ref['name']}"
        if ref
        else f"{'Controlled By:':<16}<none>"
    )
    lines.append("Containers:")
    statuses = {cs["name"]: cs for cs in status.get("containerStatuses") or []}
    for c in spec.get("containers") or []:
        cs = statuses.get(c["name"], {})
        state = cs.get("state") or {}
        lines.append(f"  {c['name']}:")
        lines.append(f"    {'Image:':<16}{c.get('image')}")
        if "running" in state:
            lines.append(f"    {'State:':<16}Running")
            lines.append(f"      {'Started:':<14}{state['running'].get('startedAt')}")
        elif "waiting" in state:
            lines.append(f"    {'State:':<16}Waiting")
            lines.append(f"      {'Reason:':<14}{state['waiting'].get('reason')}")
        elif "terminated" in state:
            lines.append(f"    {'State:':<16}Terminated")
            lines.append(f"      {'Reason:':<14}{state['terminated'].get('reason')}")
            lines.append(f"      {'Exit Code:':<14}{state['terminated'].get('exitCode')}")
        else:
            lines.append(f"    {'State:':<16}Waiting")
        lines.extend(_describe_last_state(cs))
        lines.append(f"    {'Ready:':<16}{'True' if cs.get('ready') else 'False'}")
        lines.append(f"    {'Restart Count:':<16}{cs.get('restartCount', 0)}")
        limits = (c.get("resources") or {}).get("limits") or {}
        if limits:
            lines.append("    Limits:")
            lines.extend(f"      {k + ':':<8}{v}" for k, v in limits.items())
        req = (c.get("resources") or {}).get("requests") or {}
        if req:
            lines.append("    Requests:")
            lines.extend(f"      {k + ':':<8}{v}" for k, v in req.items())
        for label, key in (
            ("Liveness:", "livenessProbe"),
            ("Readiness:", "readinessProbe"),
            ("Startup:", "startupProbe"),
        ):
            if c.get(key):
                lines.append(f"    {label:<16}{_describe_probe(c[key])}")
    lines.append("Conditions:")
    lines.append(f"  {'Type':<28}{'Status'}")
    for cond in status.get("conditions") or []:
        lines.append(f"  {cond['type']:<28}{cond['status']}")
    lines.append(f"{'QoS Class:':<26}{status.get('qosClass', 'BestEffort')}")
    lines.append(f"{'Node-Selectors:':<26}{_kv(spec.get('nodeSelector'))}")
    tols = []
    for t in spec.get("tolerations") or []:
        text = (
            t.get("key", "")
            + (f"={t['value']}" if t.get("value") else "")
            + (f":{t['effect']}" if t.get("effect") else "")
        )
        text += f" op={t.get('operator', 'Equal')}"
        if t.get("tolerationSeconds") is not None:
            text += f" for {t['tolerationSeconds']}s"
        tols.append(text)
    lines += _indent_block("Tolerations:", "\n".join(tols) or "<none>", 26)
    return lines


def _describe_last_state(cs: dict) -> list[str]:
    """kubectl describe's "Last State: Terminated" block of a restarted container."""
    term = (cs.get("lastState") or {}).get("terminated")
    if not term:
        return []
    return [
        f"    {'Last State:':<16}Terminated",
        f"      {'Reason:':<14}{term.get('reason', '')}",
        f"      {'Exit Code:':<14}{term.get('exitCode', 0)}",
        f"      {'Started:':<14}{term.get('startedAt') or '<unset>'}",
        f"      {'Finished:':<14}{term.get('finishedAt') or '<unset>'}",
    ]


def _describe_probe(probe: dict) -> str:
    """kubectl describe's one-line probe: "http-get http://:80/healthz delay=0s timeout=1s ..."."""
    if "httpGet" in probe:
        get = probe["httpGet"]
        what = (
            f"http-get {str(get.get('scheme', 'HTTP')).lower()}://{get.get('host', '')}:"
            f"{get.get('port', '')}{get.get('path', '/')}"
        )
    elif "tcpSocket" in probe:
        what = f"tcp-socket {probe['tcpSocket'].get('host', '')}:{probe['tcpSocket'].get('port')}"
    elif "exec" in probe:
        what = "exec " + str((probe["exec"] or {}).get("command", []))
    else:
        what = "unknown"
    return (
        f"{what} delay={probe.get('initialDelaySeconds', 0)}s "
        f"timeout={probe.get('timeoutSeconds', 1)}s period={probe.get('periodSeconds', 10)}s "
        f"#success={probe.get('successThreshold', 1)} #failure={probe.get('failureThreshold', 3)}"
    )


def pod_behavior_form(*, cluster: Cluster, namespace: str, name: str) -> dict | None:
    """What the dashboard's behaviour control needs about a pod: its current
    ``k8sviz.io/behavior`` and the Deployment whose template it comes from (if any)."""
    body = api_object_body(cluster=cluster, kind="Pod", namespace=namespace, name=name)
    if body is None:
        return None
    current = (body["metadata"].get("annotations") or {}).get(BEHAVIOR_ANNOTATION, "")
    mode, _, params = current.partition(" ") if ";" not in current else ("", "", current)
    deployment = ""
    owner = k8s.controller_of(body)
    if owner and owner.get("kind") == "ReplicaSet":
        rs = api_object_body(
            cluster=cluster, kind="ReplicaSet", namespace=namespace, name=owner["name"]
        )
        rs_owner = k8s.controller_of(rs) if rs else None
        if rs_owner and rs_owner.get("kind") == "Deployment":
            deployment = rs_owner["name"]
    return {
        "current": current,
        "mode": mode or "healthy",
        "params": params,
        "deployment": deployment,
    }


def _describe_node(body: dict) -> list[str]:
    spec, status = body.get("spec", {}), body.get("status", {})
    taints = [
        f"{t['key']}" + (f"={t['value']}" if t.get("value") else "") + f":{t.get('effect')}"
        for t in spec.get("taints") or []
    ]
    lines = _indent_block("Taints:", "\n".join(taints) or "<none>")
    lines.append(f"{'Unschedulable:':<16}{'true' if spec.get('unschedulable') else 'false'}")
    lines.append("Conditions:")
    lines.append(f"  {'Type':<16}{'Status':<9}{'LastHeartbeatTime':<22}{'Reason':<28}Message")
    for cond in status.get("conditions") or []:
        lines.append(
            f"  {cond['type']:<16}{cond['status']:<9}{cond.get('lastHeartbeatTime') or ''!s:<22}"
            f"{cond.get('reason', ''):<28}{cond.get('message', '')}"
        )
    lines.append("Capacity:")
    lines.extend(f"  {k + ':':<20}{v}" for k, v in (status.get("capacity") or {}).items())
    lines.append("Allocatable:")
    lines.extend(f"  {k + ':':<20}{v}" for k, v in (status.get("allocatable") or {}).items())
    # As kubectl describe node: the range node-ipam gave the node (empty until it has one).
    lines.append(f"{'PodCIDR:':<16}{spec.get('podCIDR', '')}")
    lines.append(f"{'PodCIDRs:':<16}{','.join(spec.get('podCIDRs') or [])}")
    return lines


def _describe_workload(body: dict) -> list[str]:
    spec, status = body.get("spec", {}), body.get("status", {})
    sel = spec.get("selector", {}).get("matchLabels") or {}
    lines = [
        f"{'Selector:':<16}{','.join(f'{k}={v}' for k, v in sel.items())}",
        f"{'Replicas:':<16}{spec.get('replicas', 1)} desired | {status.get('updatedReplicas', status.get('replicas', 0))} updated | "
        f"{status.get('replicas', 0)} total | {status.get('availableReplicas', 0)} available | "
        f"{status.get('unavailableReplicas', 0)} unavailable",
    ]
    if body["kind"] == "Deployment":
        strategy = spec.get("strategy", {})
        lines.append(f"{'StrategyType:':<16}{strategy.get('type')}")
        ru = strategy.get("rollingUpdate") or {}
        if ru:
            lines.append(
                f"RollingUpdateStrategy:  {ru.get('maxUnavailable')} max unavailable, {ru.get('maxSurge')} max surge"
            )
    lines.append("Pod Template:")
    for c in spec.get("template", {}).get("spec", {}).get("containers") or []:
        lines.append(f"  {c['name']}:")
        lines.append(f"    {'Image:':<12}{c.get('image')}")
    if status.get("conditions"):
        lines.append("Conditions:")
        lines.append(f"  {'Type':<16}{'Status':<8}Reason")
        for cond in status["conditions"]:
            lines.append(f"  {cond['type']:<16}{cond['status']:<8}{cond.get('reason', '')}")
    return lines


def deployments(*, cluster: Cluster) -> list[dict]:
    """Rows for the workloads panel (``kubectl get deploy``: READY, UP-TO-DATE, AVAILABLE)."""
    rows = []
    for body in (
        KubeObject.objects.filter(cluster=cluster, kind="Deployment")
        .order_by("namespace", "name")
        .values_list("body", flat=True)
    ):
        view = presenters.deployment_view(body)
        view["readyText"] = f"{view['readyReplicas']}/{view['replicas']}"
        rows.append(view)
    return rows


def machine_state(*, cluster: Cluster, name: str) -> dict | None:
    body = (
        KubeObject.objects.filter(cluster=cluster, kind="Machine", name=name)
        .values_list("body", flat=True)
        .first()
    )
    return presenters.machine_view(body) if body else None


def node_unschedulable(*, cluster: Cluster, name: str) -> bool:
    body = (
        KubeObject.objects.filter(cluster=cluster, kind="Node", name=name)
        .values_list("body", flat=True)
        .first()
    )
    return bool(body and body.get("spec", {}).get("unschedulable"))


def timings_table(*, cluster: Cluster) -> list[dict]:
    """Every timing of the cluster: its effective value, the profile's, and whether overridden."""
    profile = timings.TIMING_PROFILES.get(cluster.profile, timings.CLASSROOM)
    effective = timings.resolve(cluster.profile, cluster.timings)
    rows = []
    for key, (label, models) in timings.DESCRIPTIONS.items():
        rows.append(
            {
                "key": key,
                "label": label,
                "models": models,
                "value": effective[key],
                "default": profile[key],
                "overridden": key in (cluster.timings or {}) and effective[key] != profile[key],
            }
        )
    return rows


# --- the Kubernetes-style API (cluster/api/) ---------------------------------------------------


def api_token_find(*, token: str) -> ApiToken | None:
    """The token row whose SHA-256 matches ``token`` (any cluster), with its cluster loaded."""
    return (
        ApiToken.objects.select_related("cluster")
        .filter(token_sha256=ApiToken.digest(token))
        .first()
    )


def api_objects(
    *, cluster: Cluster, kind: str, namespace: str | None = None, name: str | None = None
) -> tuple[int, list[dict]]:
    """The cluster's resourceVersion and the stored bodies of ``kind`` (in ``namespace`` when
    given, else all; only ``name`` when given), ordered like etcd's keys: namespace, then name.

    The rv is read first, so the list is at least as new as the rv it reports (a later watch
    from that rv may repeat a change, never miss one)."""
    cluster.refresh_from_db(fields=["resource_version", "sim_now"])
    objects = KubeObject.objects.filter(cluster=cluster, kind=kind)
    if namespace is not None:
        objects = objects.filter(namespace=namespace)
    if name is not None:
        objects = objects.filter(name=name)
    bodies = list(objects.order_by("namespace", "name").values_list("body", flat=True))
    return cluster.resource_version, bodies


def api_object_body(*, cluster: Cluster, kind: str, namespace: str, name: str) -> dict | None:
    """One stored object as the API serves it, or None."""
    return (
        KubeObject.objects.filter(cluster=cluster, kind=kind, namespace=namespace, name=name)
        .values_list("body", flat=True)
        .first()
    )


def api_object_texts(
    *, cluster: Cluster, kind: str, namespace: str | None = None
) -> tuple[int, list[tuple[str, str, str]]]:
    """Like :func:`api_objects`, but each object as its stored JSON text with its key
    (namespace, name, text): a plain list is answered by joining these, without decoding and
    re-encoding every body (most of the cost of listing 1,000 pods)."""
    from django.db.models import TextField  # noqa: PLC0415
    from django.db.models.functions import Cast  # noqa: PLC0415

    cluster.refresh_from_db(fields=["resource_version", "sim_now"])
    objects = KubeObject.objects.filter(cluster=cluster, kind=kind)
    if namespace is not None:
        objects = objects.filter(namespace=namespace)
    rows = objects.order_by("namespace", "name").annotate(text=Cast("body", TextField()))
    return cluster.resource_version, list(rows.values_list("namespace", "name", "text"))


def component_backlog(*, cluster: Cluster) -> dict[str, dict]:
    """What waits on each stopped control-plane component (the diagram's "waiting" line):
    ``{"kube-scheduler": {"pods": N}}`` pods without a node; ``{"kube-controller-manager":
    {"changes": N}}`` change-log entries of the kinds its controllers watch past the oldest of
    their cursors; ``{"cloud-controller-manager": {"services": N}}`` LoadBalancer Services
    still ``<pending>``. Running components are absent, so a healthy cluster costs no query."""
    from cluster.controllers import CONTROLLERS  # noqa: PLC0415 - controllers use the services

    backlog: dict[str, dict] = {}
    stopped = {name for name, running in (cluster.components or {}).items() if not running}
    if "kube-scheduler" in stopped:
        pods = (
            KubeObject.objects.filter(cluster=cluster, kind="Pod", node_name="", deleting=False)
            .exclude(phase__in=k8s.TERMINAL_PHASES)
            .count()
        )
        backlog["kube-scheduler"] = {"pods": pods}
    if "kube-controller-manager" in stopped:
        ctrls = [c for c in CONTROLLERS if c.component == "kube-controller-manager"]
        cursors = ControllerState.objects.filter(
            cluster=cluster, controller__in=[c.name for c in ctrls]
        ).values_list("cursor_rv", flat=True)
        oldest = min(cursors, default=cluster.resource_version)
        kinds = {kind for c in ctrls for kind in c.watches}
        changes = Change.objects.filter(cluster=cluster, rv__gt=oldest, kind__in=kinds).count()
        backlog["kube-controller-manager"] = {"changes": changes}
    if "cloud-controller-manager" in stopped:
        from cluster.controllers.service_lb import (  # noqa: PLC0415
            ingress_ips,
            wants_load_balancer,
        )

        bodies = KubeObject.objects.filter(
            cluster=cluster, kind="Service", body__spec__type="LoadBalancer"
        ).values_list("body", flat=True)
        pending = sum(1 for b in bodies if wants_load_balancer(b) and not ingress_ips(b))
        backlog["cloud-controller-manager"] = {"services": pending}
    return backlog


def service_endpoints(*, cluster: Cluster, namespace: str, name: str) -> dict:
    """A Service's endpoints as its EndpointSlices list them, for the UI: ``ready`` (kube-proxy
    sends traffic there), ``serving`` (answering but terminating: the fallback when nothing is
    ready), ``terminating`` and ``not_ready`` lists of ``{address, pod, node}``; plus the
    Service's ``clusterIP`` and ``ports``. Reads one Service and its slices (by the
    ``kubernetes.io/service-name`` label)."""
    service = KubeObject.objects.filter(
        cluster=cluster, kind="Service", namespace=namespace, name=name
    ).first()
    result: dict = {
        "clusterIP": "",
        "ports": [],
        "ready": [],
        "serving": [],
        "terminating": [],
        "not_ready": [],
    }
    if service is None:
        return result
    result["clusterIP"] = service.body.get("spec", {}).get("clusterIP", "")
    result["ports"] = service.body.get("spec", {}).get("ports") or []
    slices = KubeObject.objects.filter(cluster=cluster, kind="EndpointSlice", namespace=namespace)
    for es in slices.order_by("name"):
        if (es.body["metadata"].get("labels") or {}).get("kubernetes.io/service-name") != name:
            continue
        for endpoint in es.body.get("endpoints") or []:
            cond = endpoint.get("conditions") or {}
            entry = {
                "address": (endpoint.get("addresses") or [""])[0],
                "pod": (endpoint.get("targetRef") or {}).get("name", ""),
                "node": endpoint.get("nodeName", ""),
            }
            if cond.get("ready"):
                result["ready"].append(entry)
            elif cond.get("terminating"):
                result["terminating"].append(entry)
                if cond.get("serving"):
                    result["serving"].append(entry)
            else:
                result["not_ready"].append(entry)
    return result
