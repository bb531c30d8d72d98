"""Simulated resource usage and the metrics-server's view of it, pure (docs/autoscaling.md).

What a running container uses at simulated time ``t``:

- an idle baseline (``IDLE_CPU_MILLIS``, ``IDLE_MEMORY_BYTES``): a process that only waits;
- its load: the requests per second it serves (``load.pod_request_rates``) times the shared cost
  model ``CPU_MILLIS_PER_RPS`` / ``MEMORY_BYTES_PER_RPS``;
- its behaviour (the ``k8sviz.io/behavior`` annotation): ``cpu 300m`` burns a constant extra CPU,
  ``memory-leak rate=...`` grows memory from the moment the behaviour took effect.

CPU is capped by the container's CPU limit (the CFS quota throttles it); memory is capped by the
memory limit (the kubelet OOM-kills the container at that instant, see containers.oom_instant).
Load and behaviour belong to the pod's first container, the one the kubelet stages behaviours on;
other containers idle.

metrics-server semantics (``--metric-resolution=15s``): it scrapes every kubelet every window,
so a sample's ``timestamp`` is the last scrape instant and its ``window`` is the scrape interval.
CPU is a rate between two scrapes of a cumulative counter, so a container that started less than
one window before the scrape has no sample yet, and a pod with such a container (or none running)
is absent from the API, as ``kubectl top`` shows it ("metrics not available yet"). A node whose
kubelet cannot be scraped (not Ready) has no metrics, and neither have its pods.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from cluster import containers as rt
from cluster.load import CPU_MILLIS_PER_RPS, MEMORY_BYTES_PER_RPS

WINDOW = 15.0
IDLE_CPU_MILLIS = 1
IDLE_MEMORY_BYTES = 4 * 2**20
# What a node's own processes (systemd, containerd, the kubelet) use, on top of its pods.
NODE_SYSTEM_CPU_MILLIS = 60
NODE_SYSTEM_MEMORY_BYTES = 450 * 2**20


@dataclass(frozen=True)
class ContainerRun:
    """A running container as the kubelet's cgroups know it."""

    name: str
    started: float
    cpu_limit: int | None = None  # millicores
    memory_limit: int | None = None  # bytes


@dataclass(frozen=True)
class PodRun:
    """A pod's running containers, its behaviour (in effect since ``behavior_since``) and the
    requests per second it serves."""

    namespace: str
    name: str
    node: str
    containers: tuple[ContainerRun, ...]
    behavior: rt.Behavior = field(default_factory=rt.Behavior)
    behavior_since: float = 0.0
    rps: float = 0.0
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ContainerUsage:
    name: str
    cpu_millis: int
    memory_bytes: int


@dataclass(frozen=True)
class PodUsage:
    namespace: str
    name: str
    node: str
    timestamp: float
    window: float
    containers: tuple[ContainerUsage, ...]
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def cpu_millis(self) -> int:
        return sum(c.cpu_millis for c in self.containers)

    @property
    def memory_bytes(self) -> int:
        return sum(c.memory_bytes for c in self.containers)


@dataclass(frozen=True)
class NodeUsage:
    name: str
    timestamp: float
    window: float
    cpu_millis: int
    memory_bytes: int


def scrape_time(now: float) -> float:
    """The last metrics-server scrape at or before ``now``."""
    return math.floor(now / WINDOW + 1e-9) * WINDOW


def container_usage(
    container: ContainerRun,
    *,
    at: float,
    primary: bool,
    behavior: rt.Behavior,
    behavior_since: float,
    rps: float,
) -> ContainerUsage:
    """One container's CPU (millicores, averaged over the window) and memory (bytes) at ``at``."""
    cpu = float(IDLE_CPU_MILLIS)
    memory = float(IDLE_MEMORY_BYTES)
    if primary:
        cpu += rps * CPU_MILLIS_PER_RPS + behavior.cpu_burn
        memory += rps * MEMORY_BYTES_PER_RPS
        memory += behavior.leak_rate * max(0.0, at - max(behavior_since, container.started))
    if container.cpu_limit is not None:
        cpu = min(cpu, container.cpu_limit)
    if container.memory_limit is not None:
        memory = min(memory, container.memory_limit)
    return ContainerUsage(container.name, math.ceil(cpu), math.ceil(memory))


def pod_usage(pod: PodRun, *, now: float) -> PodUsage | None:
    """The pod's sample as metrics-server serves it at ``now``, or None when it has none (no
    running container, or one started less than a window before the last scrape)."""
    at = scrape_time(now)
    if not pod.containers or any(c.started > at - WINDOW + 1e-9 for c in pod.containers):
        return None
    usages = tuple(
        container_usage(
            c,
            at=at,
            primary=i == 0,
            behavior=pod.behavior,
            behavior_since=pod.behavior_since,
            rps=pod.rps,
        )
        for i, c in enumerate(pod.containers)
    )
    return PodUsage(pod.namespace, pod.name, pod.node, at, WINDOW, usages, pod.labels)


def node_usage(name: str, pods: list[PodUsage] | tuple[PodUsage, ...], *, now: float) -> NodeUsage:
    """A node's sample: its system processes plus the pods with samples on it."""
    return NodeUsage(
        name,
        scrape_time(now),
        WINDOW,
        NODE_SYSTEM_CPU_MILLIS + sum(p.cpu_millis for p in pods),
        NODE_SYSTEM_MEMORY_BYTES + sum(p.memory_bytes for p in pods),
    )


def format_window(window: float) -> str:
    """A ``metav1.Duration`` as Go prints it (``15s``)."""
    return f"{window:g}s"
