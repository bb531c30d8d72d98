"""The usage model and metrics-server's sampling rules (cluster/metrics.py)."""

from __future__ import annotations

import pytest

from cluster import containers as rt
from cluster import metrics
from cluster.load import CPU_MILLIS_PER_RPS, MEMORY_BYTES_PER_RPS

IDLE_CPU, IDLE_MEM = metrics.IDLE_CPU_MILLIS, metrics.IDLE_MEMORY_BYTES


def run(*, behavior: str = "", rps: float = 0.0, started: float = 0.0, **limits) -> metrics.PodRun:
    return metrics.PodRun(
        namespace="default",
        name="web-1",
        node="node-1",
        containers=(
            metrics.ContainerRun("app", started, **limits),
            metrics.ContainerRun("sidecar", started),
        ),
        behavior=rt.parse_behavior(behavior),
        behavior_since=started,
        rps=rps,
    )


@pytest.mark.parametrize(
    ("pod", "now", "cpu", "memory"),
    [
        (run(), 100.0, IDLE_CPU, IDLE_MEM),
        (run(behavior="cpu 300m"), 100.0, IDLE_CPU + 300, IDLE_MEM),
        (
            run(rps=50),
            100.0,
            IDLE_CPU + int(50 * CPU_MILLIS_PER_RPS),
            IDLE_MEM + int(50 * MEMORY_BYTES_PER_RPS),
        ),
        (run(behavior="cpu 300m", cpu_limit=200), 100.0, 200, IDLE_MEM),
        # sampled at the last scrape (90 s), 90 s after the start: 90 MiB leaked
        (run(behavior="memory-leak rate=1Mi/s"), 100.0, IDLE_CPU, IDLE_MEM + 90 * 2**20),
        (
            run(behavior="memory-leak rate=1Mi/s", memory_limit=64 * 2**20),
            100.0,
            IDLE_CPU,
            64 * 2**20,
        ),
    ],
    ids=["idle", "cpu-burn", "load", "throttled", "leak", "leak-capped"],
)
def test_primary_container_usage(pod: metrics.PodRun, now: float, cpu: int, memory: int) -> None:
    """Load and behaviour land on the first container, capped by its limits; the others idle."""
    usage = metrics.pod_usage(pod, now=now)
    assert usage is not None
    app, sidecar = usage.containers
    assert (app.cpu_millis, app.memory_bytes) == (cpu, memory)
    assert (sidecar.cpu_millis, sidecar.memory_bytes) == (IDLE_CPU, IDLE_MEM)
    assert usage.cpu_millis == cpu + IDLE_CPU


@pytest.mark.parametrize(
    ("started", "now", "has_sample", "timestamp"),
    [
        (0.0, 14.0, False, 0.0),
        (0.0, 15.0, True, 15.0),
        (0.0, 29.9, True, 15.0),
        (10.0, 29.0, False, 15.0),
        (10.0, 30.0, True, 30.0),
    ],
)
def test_sample_needs_a_full_window(
    started: float, now: float, has_sample: bool, timestamp: float
) -> None:
    """metrics-server serves a pod only once every container ran a whole window before the last
    scrape; the timestamp is that scrape and the window its 15 s resolution."""
    usage = metrics.pod_usage(run(started=started), now=now)
    assert (usage is not None) == has_sample
    if usage is not None:
        assert (usage.timestamp, usage.window) == (timestamp, 15.0)
    assert metrics.scrape_time(now) == timestamp


def test_no_running_container_no_sample() -> None:
    pod = metrics.PodRun(namespace="default", name="p", node="n", containers=())
    assert metrics.pod_usage(pod, now=100.0) is None


def test_node_usage_adds_system_processes() -> None:
    usage = metrics.pod_usage(run(behavior="cpu 300m"), now=60.0)
    assert usage is not None
    node = metrics.node_usage("node-1", [usage, usage], now=60.0)
    assert node.cpu_millis == metrics.NODE_SYSTEM_CPU_MILLIS + 2 * usage.cpu_millis
    assert node.memory_bytes == metrics.NODE_SYSTEM_MEMORY_BYTES + 2 * usage.memory_bytes
    assert (node.timestamp, metrics.format_window(node.window)) == (60.0, "15s")
