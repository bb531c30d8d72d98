"""Server-side printing: ``kubectl get`` asks for a ``meta.k8s.io/v1`` Table and prints its
cells. Columns and cells follow kube-apiserver's printers (``pkg/printers/internalversion/
printers.go``): priority-0 columns always, priority-1 ones only with ``-o wide``. The server
always fills every column (it prints "wide"); kubectl drops the priority-1 ones itself.

AGE-like cells are computed from the cluster's *simulated* clock, so they agree with the
dashboard, not with the wall clock. Pure functions: ``now`` comes in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cluster import ingress, k8s

NONE = "<none>"
UNKNOWN = "<unknown>"


@dataclass(frozen=True)
class Column:
    name: str
    description: str
    priority: int = 0
    type: str = "string"
    format: str = ""

    def definition(self) -> dict:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


NAME = Column("Name", "Name must be unique within a namespace.", format="name")
AGE = Column(
    "Age",
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
)
CONTAINERS = Column("Containers", "Names of each container in the template.", 1)
IMAGES = Column("Images", "Images referenced by each container in the template.", 1)
SELECTOR = Column("Selector", "Label selector for pods.", 1)


def since(stamp: str | None, now: float) -> str:
    """translateTimestampSince: the age of a timestamp, ``<unknown>`` when unset."""
    ts = k8s.parse_micro_time(stamp) if stamp else None
    return UNKNOWN if ts is None else k8s.human_duration(now - ts)


def _age(body: dict, now: float) -> str:
    return since(body.get("metadata", {}).get("creationTimestamp"), now)


def format_label_selector(selector: dict | None) -> str:
    """metav1.FormatLabelSelector: ``k=v`` for matchLabels, ``k in (a,b)`` for expressions."""
    if not selector:
        return NONE
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, values = expr.get("operator"), ",".join(expr.get("values") or [])
        key = expr.get("key", "")
        parts.append(
            {
                "In": f"{key} in ({values})",
                "NotIn": f"{key} notin ({values})",
                "Exists": key,
                "DoesNotExist": f"!{key}",
            }.get(op, key)
        )
    return ",".join(parts) or NONE


def _template_cells(body: dict) -> list[str]:
    containers = body.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or []
    return [
        ",".join(c.get("name", "") for c in containers),
        ",".join(c.get("image", "") for c in containers),
        format_label_selector(body.get("spec", {}).get("selector")),
    ]


# --- one printer per kind -----------------------------------------------------------------------


def _pod_cells(pod: dict, now: float) -> list:
    spec, status = pod.get("spec", {}), pod.get("status", {})
    gates = spec.get("readinessGates") or []
    if gates:
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        passing = sum(1 for g in gates if conditions.get(g.get("conditionType")) == "True")
        gates_cell = f"{passing}/{len(gates)}"
    else:
        gates_cell = NONE
    return [
        pod["metadata"]["name"],
        k8s.pod_ready_count(pod),
        k8s.pod_printed_status(pod),
        _restarts(pod, now),
        _age(pod, now),
        status.get("podIP") or NONE,
        spec.get("nodeName") or NONE,
        status.get("nominatedNodeName") or NONE,
        gates_cell,
    ]


def _restarts(pod: dict, now: float) -> str:
    """printPod's RESTARTS: the count, and how long ago the last restart was ("3 (12s ago)")."""
    count = k8s.pod_restarts(pod)
    last = k8s.pod_last_restart(pod)
    return str(count) if last is None else f"{count} ({k8s.human_duration(now - last)} ago)"


def _node_cells(node: dict, now: float) -> list:
    status = node.get("status", {})
    info = status.get("nodeInfo") or {}

    def address(kind: str) -> str:
        return next(
            (a["address"] for a in status.get("addresses") or [] if a.get("type") == kind), NONE
        )

    return [
        node["metadata"]["name"],
        k8s.node_printed_status(node),
        ",".join(k8s.node_roles(node)) or NONE,
        _age(node, now),
        info.get("kubeletVersion", ""),
        address("InternalIP"),
        address("ExternalIP"),
        info.get("osImage") or UNKNOWN,
        info.get("kernelVersion") or UNKNOWN,
        info.get("containerRuntimeVersion") or UNKNOWN,
    ]


def _deployment_cells(d: dict, now: float) -> list:
    spec, status = d.get("spec", {}), d.get("status", {})
    return [
        d["metadata"]["name"],
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        int(status.get("updatedReplicas", 0)),
        int(status.get("availableReplicas", 0)),
        _age(d, now),
        *_template_cells(d),
    ]


def _replicaset_cells(rs: dict, now: float) -> list:
    spec, status = rs.get("spec", {}), rs.get("status", {})
    return [
        rs["metadata"]["name"],
        int(spec.get("replicas", 1)),
        int(status.get("replicas", 0)),
        int(status.get("readyReplicas", 0)),
        _age(rs, now),
        *_template_cells(rs),
    ]


def _namespace_cells(ns: dict, now: float) -> list:
    return [ns["metadata"]["name"], ns.get("status", {}).get("phase", ""), _age(ns, now)]


def _lease_cells(lease: dict, now: float) -> list:
    holder = lease.get("spec", {}).get("holderIdentity") or ""
    return [lease["metadata"]["name"], holder, _age(lease, now)]


def _event_cells(ev: dict, now: float) -> list:
    """printEvent: LAST SEEN falls back to eventTime; OBJECT is ``kind/name`` lower-cased."""
    involved = ev.get("involvedObject") or {}
    last = ev.get("lastTimestamp") or ev.get("eventTime")
    first = ev.get("firstTimestamp") or ev.get("eventTime")
    series = ev.get("series") or {}
    if series.get("lastObservedTime"):
        last = series["lastObservedTime"]
    count = int(series.get("count") or ev.get("count") or 1)
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = ev.get("source") or {}
    component = source.get("component") or ev.get("reportingComponent") or ""
    instance = source.get("host") or ev.get("reportingInstance") or ""
    return [
        since(last, now),
        ev.get("type", ""),
        ev.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        f"{component}, {instance}" if instance else component,
        str(ev.get("message", "")).strip(),
        since(first, now),
        count,
        ev["metadata"]["name"],
    ]


def _service_ports(spec: dict) -> str:
    """printService's PORT(S): ``80/TCP``, ``80:30080/TCP`` with a nodePort, comma-joined."""
    parts = []
    for port in spec.get("ports") or []:
        node_port = f":{port['nodePort']}" if port.get("nodePort") else ""
        parts.append(f"{port.get('port')}{node_port}/{port.get('protocol', 'TCP')}")
    return ",".join(parts) or NONE


def _service_external_ip(svc: dict) -> str:
    """getServiceExternalIP: LoadBalancer ingress addresses, ``<pending>`` before the cloud
    assigns one; externalIPs for the other types; ``<none>``."""
    spec = svc.get("spec", {})
    external = list(spec.get("externalIPs") or [])
    if spec.get("type") == "LoadBalancer":
        ingress = (svc.get("status", {}).get("loadBalancer") or {}).get("ingress") or []
        addresses = [i.get("ip") or i.get("hostname") or "" for i in ingress] + external
        return ",".join(a for a in addresses if a) or "<pending>"
    return ",".join(external) or NONE


def _service_cells(svc: dict, now: float) -> list:
    spec = svc.get("spec", {})
    selector = spec.get("selector") or {}
    return [
        svc["metadata"]["name"],
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP") or NONE,
        _service_external_ip(svc),
        _service_ports(spec),
        _age(svc, now),
        ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or NONE,
    ]


def hpa_targets(hpa: dict) -> str:
    """formatHPAMetrics: each metric as ``current/target`` (``cpu: 45%/50%``, ``<unknown>``
    before the controller read it), at most three, then ``+ N more...``."""
    specs = (hpa.get("spec") or {}).get("metrics") or []
    if not specs:
        return "<none>"
    current = (hpa.get("status") or {}).get("currentMetrics") or []
    parts = []
    for i, metric in enumerate(specs):
        source = metric.get("resource") or {}
        target = source.get("target") or {}
        now = (current[i].get("resource") or {}).get("current") or {} if i < len(current) else {}
        name = source.get("name", "")
        if metric.get("type") != "Resource":
            parts.append(f"<unknown>/{metric.get('type', '')}")
        elif target.get("type") == "Utilization":
            seen = now.get("averageUtilization")
            shown = f"{seen}%" if seen is not None else "<unknown>"
            parts.append(f"{name}: {shown}/{target.get('averageUtilization')}%")
        else:
            want = target.get("averageValue") or target.get("value")
            seen = now.get("averageValue") or now.get("value")
            parts.append(f"{name}: {seen or '<unknown>'}/{want}")
    if len(parts) > 3:
        return ", ".join(parts[:3]) + f" + {len(parts) - 3} more..."
    return ", ".join(parts)


def _hpa_cells(hpa: dict, now: float) -> list:
    spec = hpa.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    low = spec.get("minReplicas")
    return [
        hpa["metadata"]["name"],
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        hpa_targets(hpa),
        "<unset>" if low is None else str(low),
        int(spec.get("maxReplicas", 0)),
        int((hpa.get("status") or {}).get("currentReplicas", 0)),
        _age(hpa, now),
    ]


def _endpointslice_cells(es: dict, now: float) -> list:
    """printEndpointSlice: PORTS as in formatEndpointSlicePorts, ENDPOINTS the first three
    addresses and ``+ N more...``."""
    ports = es.get("ports") or []
    port_cell = ",".join(str(p.get("port")) if p.get("port") else "<unset>" for p in ports)
    addresses = [a for e in es.get("endpoints") or [] for a in e.get("addresses") or []]
    if not addresses:
        endpoint_cell = "<unset>"
    else:
        endpoint_cell = ",".join(addresses[:3])
        if len(addresses) > 3:
            endpoint_cell += f" + {len(addresses) - 3} more..."
    return [
        es["metadata"]["name"],
        es.get("addressType", ""),
        port_cell or "<unset>",
        endpoint_cell,
        _age(es, now),
    ]


def _ingress_cells(ing: dict, now: float) -> list:
    """printIngress: CLASS (``<none>`` without one), HOSTS, ADDRESS, PORTS."""
    return [
        ing["metadata"]["name"],
        (ing.get("spec") or {}).get("ingressClassName") or NONE,
        ingress.hosts_cell(ing),
        ingress.address_cell(ing),
        ingress.ports_cell(ing),
        _age(ing, now),
    ]


def _ingress_class_cells(ic: dict, now: float) -> list:
    """printIngressClass: CONTROLLER and PARAMETERS (``<none>`` without parameters)."""
    spec = ic.get("spec") or {}
    params = spec.get("parameters") or {}
    param_cell = NONE
    if params:
        group = params.get("apiGroup") or ""
        kind = f"{params.get('kind', '')}.{group}" if group else params.get("kind", "")
        param_cell = f"{kind}/{params.get('name', '')}"
    return [ic["metadata"]["name"], spec.get("controller", ""), param_cell, _age(ic, now)]


@dataclass(frozen=True)
class Printer:
    columns: tuple[Column, ...]
    cells: Callable[[dict, float], list]


PRINTERS: dict[str, Printer] = {
    "Pod": Printer(
        (
            NAME,
            Column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
            Column("Status", "The aggregate status of the containers in this pod."),
            Column(
                "Restarts",
                "The number of times the containers in this pod have been "
                "restarted and when the last container in this pod has restarted.",
            ),
            AGE,
            Column(
                "IP", "IP address allocated to the pod. Routable at least within the cluster.", 1
            ),
            Column("Node", "Name of the Node this pod is bound to.", 1),
            Column("Nominated Node", "Name of the Node nominated by the scheduler.", 1),
            Column("Readiness Gates", "Pod readiness gates: passing over total.", 1),
        ),
        _pod_cells,
    ),
    "Node": Printer(
        (
            NAME,
            Column("Status", "The status of the node"),
            Column("Roles", "The roles of the node"),
            AGE,
            Column("Version", "Kubelet Version reported by the node."),
            Column("Internal-IP", "List of internal IPs of the node.", 1),
            Column("External-IP", "List of external IPs of the node.", 1),
            Column("OS-Image", "OS Image reported by the node from /etc/os-release.", 1),
            Column("Kernel-Version", "Kernel Version reported by the node from 'uname -r'.", 1),
            Column("Container-Runtime", "Container Runtime Version reported by the node.", 1),
        ),
        _node_cells,
    ),
    "Deployment": Printer(
        (
            NAME,
            Column("Ready", "Number of the pod with ready state"),
            Column(
                "Up-to-date",
                "Total number of non-terminated pods targeted by this "
                "deployment that have the desired template spec.",
                type="integer",
            ),
            Column(
                "Available",
                "Total number of available pods (ready for at least "
                "minReadySeconds) targeted by this deployment.",
                type="integer",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ),
        _deployment_cells,
    ),
    "ReplicaSet": Printer(
        (
            NAME,
            Column("Desired", "Number of desired pods.", type="integer"),
            Column("Current", "Number of the most recently observed pods.", type="integer"),
            Column(
                "Ready",
                "Number of pods targeted by this ReplicaSet with a Ready Condition.",
                type="integer",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ),
        _replicaset_cells,
    ),
    "Namespace": Printer(
        (NAME, Column("Status", "The status of the namespace"), AGE), _namespace_cells
    ),
    "Lease": Printer((NAME, Column("Holder", "The holder of the lease"), AGE), _lease_cells),
    "Service": Printer(
        (
            NAME,
            Column("Type", "The type of the service."),
            Column("Cluster-IP", "The cluster IP of the service."),
            Column("External-IP", "The external IP of the service."),
            Column("Port(s)", "The ports of the service."),
            AGE,
            Column("Selector", "The selector of the service.", 1),
        ),
        _service_cells,
    ),
    "HorizontalPodAutoscaler": Printer(
        (
            NAME,
            Column("Reference", "Reference to the target resource."),
            Column("Targets", "Current and target value of the metrics used."),
            Column("MinPods", "Minimum number of pods the autoscaler may scale down to."),
            Column(
                "MaxPods",
                "Maximum number of pods the autoscaler may scale up to.",
                type="integer",
            ),
            Column(
                "Replicas",
                "Current number of replicas of pods managed by this autoscaler.",
                type="integer",
            ),
            AGE,
        ),
        _hpa_cells,
    ),
    "EndpointSlice": Printer(
        (
            NAME,
            Column("AddressType", "The type of the addresses in this slice."),
            Column("Ports", "Ports of the endpoints in this slice."),
            Column("Endpoints", "Addresses of the endpoints in this slice."),
            AGE,
        ),
        _endpointslice_cells,
    ),
    "Ingress": Printer(
        (
            NAME,
            Column(
                "Class",
                "The name of the IngressClass resource that should be used for additional "
                "configuration",
            ),
            Column(
                "Hosts", "Hosts that incoming requests are matched against before the ingress rule"
            ),
            Column("Address", "Address is a list containing ingress points for the load-balancer"),
            Column("Ports", "Ports of TLS configurations that open"),
            AGE,
        ),
        _ingress_cells,
    ),
    "IngressClass": Printer(
        (
            NAME,
            Column("Controller", "Controller that is responsible for handling this class"),
            Column("Parameters", "A reference to a resource with additional parameters"),
            AGE,
        ),
        _ingress_class_cells,
    ),
    "Event": Printer(
        (
            Column(
                "Last Seen",
                "The time at which the most recent occurrence of this event was recorded.",
            ),
            Column("Type", "Type of this event (Normal, Warning)."),
            Column(
                "Reason",
                "This should be a short, machine understandable string that "
                "gives the reason for the transition into the object's current status.",
            ),
            Column("Object", "The object that this event is about."),
            Column("Subobject", "The specific part of the object (fieldPath).", 1),
            Column("Source", "The component reporting this event.", 1),
            Column("Message", "A human-readable description of the status of this operation."),
            Column("First Seen", "The time at which the event was first recorded.", 1),
            Column("Count", "The number of times this event has occurred.", 1),
            Column("Name", "Name must be unique within a namespace.", 1, format="name"),
        ),
        _event_cells,
    ),
}


def _row_object(body: dict, include: str) -> dict | None:
    """The row's ``object`` for ``includeObject``: Metadata (the default) gives a
    PartialObjectMetadata (kind and apiVersion set, or kubectl cannot decode it), Object the
    whole object, None nothing."""
    if include == "None":
        return None
    if include == "Object":
        return body
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": body.get("metadata", {}),
    }


def table(
    *, kind: str, bodies: list[dict], now: float, resource_version: str, include: str = "Metadata"
) -> dict:
    """A ``meta.k8s.io/v1`` Table of ``bodies`` (all of ``kind``)."""
    printer = PRINTERS[kind]
    rows = []
    for body in bodies:
        row: dict = {"cells": printer.cells(body, now)}
        obj = _row_object(body, include)
        if obj is not None:
            row["object"] = obj
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [c.definition() for c in printer.columns],
        "rows": rows,
    }
