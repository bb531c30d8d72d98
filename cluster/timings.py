"""Timing profiles: every period the simulated components use, in simulated seconds.

"kubernetes" holds the real defaults (see ../shared/k8s-reference.md §1, §2, §4.3, §9); "classroom"
keeps the same mechanics with shorter periods so a whole node-loss story fits in a lesson. Every
value can be overridden per cluster (``Cluster.timings``).
"""

from __future__ import annotations

from typing import TypedDict


class Timings(TypedDict):
    lease_duration: float  # kubelet nodeLeaseDurationSeconds (40)
    lease_renew_interval: float  # 0.25 x lease duration (10)
    node_status_report_frequency: float  # kubelet posts unchanged status this often (5m)
    node_monitor_grace_period: float  # node-lifecycle: Ready -> Unknown after this (50, v1.32+)
    node_startup_grace_period: float  # same, for a node that never posted Ready (60)
    node_monitor_period: float  # detection quantum of monitorNodeHealth (5)
    default_toleration_seconds: float  # DefaultTolerationSeconds admission (300)
    termination_grace_period: float  # pod default terminationGracePeriodSeconds (30)
    container_stop_seconds: float  # how long the simulated app takes to exit on SIGTERM
    image_pull_seconds: float  # simulated pull time of an image not yet on the node
    container_start_seconds: float  # create + start of a container
    scheduler_backoff_initial: float  # podInitialBackoffSeconds (1)
    scheduler_backoff_max: float  # podMaxBackoffSeconds (10)
    unschedulable_flush_seconds: float  # DefaultPodMaxInUnschedulablePodsDuration (5m)
    event_ttl: float  # kube-apiserver --event-ttl (1h)


KUBERNETES: Timings = {
    "lease_duration": 40.0,
    "lease_renew_interval": 10.0,
    "node_status_report_frequency": 300.0,
    "node_monitor_grace_period": 50.0,
    "node_startup_grace_period": 60.0,
    "node_monitor_period": 5.0,
    "default_toleration_seconds": 300.0,
    "termination_grace_period": 30.0,
    "container_stop_seconds": 1.0,
    "image_pull_seconds": 4.0,
    "container_start_seconds": 1.0,
    "scheduler_backoff_initial": 1.0,
    "scheduler_backoff_max": 10.0,
    "unschedulable_flush_seconds": 300.0,
    "event_ttl": 3600.0,
}

CLASSROOM: Timings = {
    **KUBERNETES,
    "lease_duration": 12.0,
    "lease_renew_interval": 3.0,
    "node_monitor_grace_period": 15.0,
    "node_startup_grace_period": 20.0,
    "node_monitor_period": 1.0,
    "default_toleration_seconds": 20.0,
    "image_pull_seconds": 3.0,
}

TIMING_PROFILES: dict[str, Timings] = {"kubernetes": KUBERNETES, "classroom": CLASSROOM}

MIN_SPEED = 0.25
MAX_SPEED = 60.0
SPEEDS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


def resolve(profile: str, overrides: dict | None) -> Timings:
    """The profile's values with the cluster's overrides on top (unknown keys ignored)."""
    base = dict(TIMING_PROFILES.get(profile, CLASSROOM))
    for key, value in (overrides or {}).items():
        if key in base:
            base[key] = float(value)
    return base  # type: ignore[return-value]
