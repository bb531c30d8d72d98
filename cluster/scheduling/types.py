"""Plain, frozen inputs of the scheduling functions, and their builders from Kubernetes JSON.

Owns the translation from API bodies (dicts as the API server stores them) to the dataclasses the
pure filters and scores read, and with it the pod request arithmetic of Kubernetes'
``component-helpers/resource`` ``PodRequests`` as the scheduler calls it
(``pkg/scheduler/framework/types.go`` ``calculateResource``):

- a container's request for a resource is its ``requests`` entry, or its ``limits`` entry when
  only the limit is set (API defaulting copies limits to missing requests);
- the pod's request is the sum over its app containers, then per resource the larger of that
  and what the init containers need (they run one at a time before the app containers; sidecars,
  init containers with ``restartPolicy: Always``, keep running and add up), plus ``overhead``;
- the "non-zero" variant, used only for scoring (k8s-reference §2.7), counts a container with no
  CPU or memory request at all as 100m / 200Mi. An explicit ``0`` stays 0.

Not modelled: pod-level ``spec.resources``, extended resources (``nvidia.com/gpu``),
ephemeral storage, in-place resize status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cluster.scheduling.quantity import QuantityError, parse_cpu, parse_memory, parse_quantity

#: ``schedutil.DefaultMilliCPURequest``: what the scheduler scores a CPU-less container as.
DEFAULT_MILLI_CPU_REQUEST = 100
#: ``schedutil.DefaultMemoryRequest``: 200 MiB.
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
#: A pod in one of these phases no longer holds its node's resources.
TERMINAL_PHASES = frozenset({"Succeeded", "Failed"})
#: The API server's validation text for a negative request (``ValidateNonnegativeQuantity``).
NEGATIVE_QUANTITY_ERROR = "must be greater than or equal to 0"


@dataclass(frozen=True)
class Resources:
    """An amount of the resources the simulator schedules on."""

    cpu: int = 0  # millicores
    memory: int = 0  # bytes
    pods: int = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.memory + other.memory, self.pods + other.pods)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu - other.cpu, self.memory - other.memory, self.pods - other.pods)


@dataclass(frozen=True)
class Taint:
    key: str
    value: str = ""
    effect: str = "NoSchedule"
    time_added: float | None = None  # epoch seconds; only NoExecute taints carry it


@dataclass(frozen=True)
class Toleration:
    key: str = ""
    operator: str = "Equal"  # "" means Equal too, as in the API
    value: str = ""
    effect: str = ""  # "" matches every effect
    toleration_seconds: int | None = None  # NoExecute only; None means forever


@dataclass(frozen=True)
class NodeInfo:
    """A node as one scheduling cycle sees it: the scheduler cache's ``NodeInfo``."""

    name: str
    allocatable: Resources
    #: Sum of the real requests of the pods bound here; ``pods`` is their count.
    requested: Resources = Resources()
    #: Same with request-less containers counted as 100m / 200Mi (scoring only).
    nonzero_requested: Resources = Resources()
    taints: tuple[Taint, ...] = ()
    unschedulable: bool = False
    # hash=False keeps the dataclass hashable despite the dict.
    labels: dict[str, str] = field(default_factory=dict, hash=False)

    def with_pod(self, pod: PodInfo) -> NodeInfo:
        """This node once ``pod`` is bound to it (the scheduler cache's ``AssumePod``)."""
        return replace(
            self,
            requested=self.requested + pod.requests,
            nonzero_requested=self.nonzero_requested + pod.nonzero_requests,
        )


@dataclass(frozen=True)
class PodInfo:
    """The parts of a pod the modelled plugins read."""

    namespace: str
    name: str
    requests: Resources = Resources(pods=1)
    nonzero_requests: Resources = Resources(DEFAULT_MILLI_CPU_REQUEST, DEFAULT_MEMORY_REQUEST, 1)
    tolerations: tuple[Toleration, ...] = ()
    node_name: str = ""  # spec.nodeName set before scheduling
    node_selector: dict[str, str] = field(default_factory=dict, hash=False)


# --- builders from Kubernetes JSON ----------------------------------------------------------


def _parse_time(value: str | None) -> float | None:
    """RFC 3339 (``2024-05-01T10:00:00Z``) → epoch seconds; a zone-less time is UTC."""
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def taint_from_dict(d: Mapping[str, Any]) -> Taint:
    return Taint(
        key=d.get("key") or "",
        value=d.get("value") or "",
        effect=d.get("effect") or "",
        time_added=_parse_time(d.get("timeAdded")),
    )


def toleration_from_dict(d: Mapping[str, Any]) -> Toleration:
    seconds = d.get("tolerationSeconds")
    return Toleration(
        key=d.get("key") or "",
        operator=d.get("operator") or "Equal",
        value=d.get("value") or "",
        effect=d.get("effect") or "",
        toleration_seconds=int(seconds) if seconds is not None else None,
    )


_PARSERS = {"cpu": parse_cpu, "memory": parse_memory}


def _container_requests(container: Mapping[str, Any], path: str) -> dict[str, int]:
    """The cpu/memory a container requests, only for the resources it names (missing ≠ 0)."""
    resources = container.get("resources") or {}
    requests = dict(resources.get("limits") or {})
    requests.update(resources.get("requests") or {})  # a limit alone defaults the request
    amounts: dict[str, int] = {}
    for name, parse in _PARSERS.items():
        if name not in requests:
            continue
        amount = parse(requests[name])
        if amount < 0:
            # Kubernetes' field error format, so an API edge can show it as is.
            raise QuantityError(
                f'{path}.resources.requests[{name}]: Invalid value: "{requests[name]}": '
                f"{NEGATIVE_QUANTITY_ERROR}"
            )
        amounts[name] = amount
    return amounts


def _with_defaults(amounts: dict[str, int], nonzero: bool) -> dict[str, int]:
    if not nonzero:
        return {"cpu": amounts.get("cpu", 0), "memory": amounts.get("memory", 0)}
    # applyNonMissing: only an absent entry gets the default; an explicit 0 stays 0.
    return {
        "cpu": amounts.get("cpu", DEFAULT_MILLI_CPU_REQUEST),
        "memory": amounts.get("memory", DEFAULT_MEMORY_REQUEST),
    }


def _sum_requests(spec: Mapping[str, Any], *, nonzero: bool) -> Resources:
    def containers(key: str) -> Iterable[tuple[Mapping[str, Any], dict[str, int]]]:
        for i, c in enumerate(spec.get(key) or []):
            yield c, _with_defaults(_container_requests(c, f"spec.{key}[{i}]"), nonzero)

    total = {"cpu": 0, "memory": 0}
    for _, amounts in containers("containers"):
        for name in total:
            total[name] += amounts[name]
    sidecars = {"cpu": 0, "memory": 0}  # restartable init containers started so far
    init_peak = {"cpu": 0, "memory": 0}
    for container, amounts in containers("initContainers"):
        if container.get("restartPolicy") == "Always":
            # A sidecar keeps running next to the app containers and later init containers.
            for name in total:
                total[name] += amounts[name]
                sidecars[name] += amounts[name]
            needed = dict(sidecars)
        else:
            needed = {name: amounts[name] + sidecars[name] for name in amounts}
        init_peak = {name: max(peak, needed[name]) for name, peak in init_peak.items()}
    overhead = spec.get("overhead") or {}
    return Resources(
        cpu=max(total["cpu"], init_peak["cpu"]) + parse_cpu(overhead.get("cpu", 0)),
        memory=max(total["memory"], init_peak["memory"]) + parse_memory(overhead.get("memory", 0)),
        pods=1,
    )


def pod_requests(pod_spec: Mapping[str, Any]) -> tuple[Resources, Resources]:
    """(real, non-zero) requests of a pod spec, ``pods=1`` in both; see the module docstring.

    Raises :class:`QuantityError` for a malformed or negative request, as the API server would
    reject the pod.
    """
    return _sum_requests(pod_spec, nonzero=False), _sum_requests(pod_spec, nonzero=True)


def pod_info_from_body(pod: Mapping[str, Any]) -> PodInfo:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    real, nonzero = pod_requests(spec)
    return PodInfo(
        namespace=meta.get("namespace") or "default",
        name=meta.get("name") or "",
        requests=real,
        nonzero_requests=nonzero,
        tolerations=tuple(toleration_from_dict(t) for t in spec.get("tolerations") or []),
        node_name=spec.get("nodeName") or "",
        node_selector=dict(spec.get("nodeSelector") or {}),
    )


def node_info_from_body(node: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> NodeInfo:
    """A node and the pods bound to it (the caller picks them; terminal ones are skipped).

    Only ``status.allocatable`` counts, as in the scheduler: a node that reports none has room
    for nothing, not even a pod.
    """
    meta = node.get("metadata") or {}
    spec = node.get("spec") or {}
    allocatable = (node.get("status") or {}).get("allocatable") or {}
    requested = nonzero_requested = Resources()
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in TERMINAL_PHASES:
            continue
        real, nonzero = pod_requests(pod.get("spec") or {})
        requested += real
        nonzero_requested += nonzero
    pods_quantity = parse_quantity(allocatable.get("pods", 0))
    return NodeInfo(
        name=meta.get("name") or "",
        allocatable=Resources(
            cpu=parse_cpu(allocatable.get("cpu", 0)),
            memory=parse_memory(allocatable.get("memory", 0)),
            pods=int(pods_quantity),
        ),
        requested=requested,
        nonzero_requested=nonzero_requested,
        taints=tuple(taint_from_dict(t) for t in spec.get("taints") or []),
        unschedulable=bool(spec.get("unschedulable")),
        labels=dict(meta.get("labels") or {}),
    )
