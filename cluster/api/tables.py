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

from cluster import k8s

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
