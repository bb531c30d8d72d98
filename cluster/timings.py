"""Timing profiles: every period the simulated components use, in simulated seconds.

"kubernetes" holds the real defaults (see ../shared/k8s-reference.md §1, §2, §4.3, §9); "classroom"
keeps the same mechanics with shorter periods so a whole node-loss story fits in a lesson. Every
value can be overridden per cluster (``Cluster.timings``).
"""

from __future__ import annotations

import math
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
    eviction_monitoring_period: float  # kubelet eviction manager housekeeping interval (10s)
    eviction_pressure_transition_period: float  # kubelet evictionPressureTransitionPeriod (5m)
    crash_backoff_initial: float  # kubelet containerBackOffPeriod (10)
    crash_backoff_max: float  # kubelet MaxContainerBackOff / maxContainerRestartPeriod (300)
    image_backoff_initial: float  # kubelet imageBackOffPeriod (10)
    image_backoff_max: float  # kubelet MaxImageBackOff (300)


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
    "eviction_monitoring_period": 10.0,
    "eviction_pressure_transition_period": 300.0,
    "crash_backoff_initial": 10.0,
    "crash_backoff_max": 300.0,
    "image_backoff_initial": 10.0,
    "image_backoff_max": 300.0,
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
    "eviction_monitoring_period": 2.0,
    "eviction_pressure_transition_period": 20.0,
}

TIMING_PROFILES: dict[str, Timings] = {"kubernetes": KUBERNETES, "classroom": CLASSROOM}

MIN_SPEED = 0.25
MAX_SPEED = 60.0
SPEEDS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


#: key -> (what the dashboard calls it, the Kubernetes setting it models)
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "lease_duration": ("Node lease duration", "kubelet nodeLeaseDurationSeconds"),
    "lease_renew_interval": ("Lease renew interval", "kubelet: 0.25 x lease duration"),
    "node_status_report_frequency": (
        "Unchanged node status posted every",
        "kubelet nodeStatusReportFrequency",
    ),
    "node_monitor_grace_period": (
        "Node monitor grace period (Ready -> Unknown)",
        "kube-controller-manager --node-monitor-grace-period",
    ),
    "node_startup_grace_period": (
        "Node startup grace period",
        "kube-controller-manager --node-startup-grace-period",
    ),
    "node_monitor_period": (
        "Node monitor period",
        "kube-controller-manager --node-monitor-period",
    ),
    "default_toleration_seconds": (
        "Not-ready / unreachable toleration",
        "kube-apiserver --default-not-ready-toleration-seconds",
    ),
    "termination_grace_period": (
        "Pod termination grace period",
        "pod terminationGracePeriodSeconds default",
    ),
    "container_stop_seconds": ("Container exit after SIGTERM", "simulated application"),
    "image_pull_seconds": ("Image pull", "simulated registry"),
    "container_start_seconds": ("Container create + start", "simulated runtime"),
    "scheduler_backoff_initial": ("Scheduler back-off, first", "podInitialBackoffSeconds"),
    "scheduler_backoff_max": ("Scheduler back-off, max", "podMaxBackoffSeconds"),
    "unschedulable_flush_seconds": (
        "Unschedulable pods retried after",
        "podMaxInUnschedulablePodsDuration",
    ),
    "event_ttl": ("Event time to live", "kube-apiserver --event-ttl"),
    "eviction_monitoring_period": (
        "Node-pressure eviction: one pod evicted every",
        "kubelet eviction manager monitoring interval",
    ),
    "eviction_pressure_transition_period": (
        "Pressure condition held after relief",
        "kubelet evictionPressureTransitionPeriod",
    ),
    "crash_backoff_initial": (
        "CrashLoopBackOff, first delay",
        "kubelet containerBackOffPeriod (first restart is immediate)",
    ),
    "crash_backoff_max": (
        "CrashLoopBackOff, max delay (reset after 2x)",
        "kubelet crashLoopBackOff.maxContainerRestartPeriod",
    ),
    "image_backoff_initial": ("Image pull back-off, first", "kubelet imageBackOffPeriod"),
    "image_backoff_max": ("Image pull back-off, max", "kubelet MaxImageBackOff"),
}

#: Periods a controller loops on: zero would make the simulation spin.
MUST_BE_POSITIVE = frozenset(
    {
        "lease_duration",
        "lease_renew_interval",
        "node_status_report_frequency",
        "node_monitor_grace_period",
        "node_startup_grace_period",
        "node_monitor_period",
        "scheduler_backoff_initial",
        "scheduler_backoff_max",
        "unschedulable_flush_seconds",
        "event_ttl",
        "eviction_monitoring_period",
        "crash_backoff_initial",
        "crash_backoff_max",
        "image_backoff_initial",
        "image_backoff_max",
    }
)
MAX_SECONDS = 86400.0


def override_errors(profile: str, overrides: dict) -> dict[str, str]:
    """Why these overrides cannot apply on top of ``profile``: {key: message}, empty if fine.

    Each value must be a number of seconds in [0, 1 day] (periods strictly positive), and the
    result must still make sense as Kubernetes requires it: the kubelet renews its lease well
    inside the lease duration, and the back-off's first step is not above its cap.
    """
    errors: dict[str, str] = {}
    for key, value in overrides.items():
        if key not in KUBERNETES:
            errors[key] = "unknown timing"
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            errors[key] = "must be a number of seconds"
            continue
        if not math.isfinite(number) or number < 0 or number > MAX_SECONDS:
            errors[key] = f"must be between 0 and {MAX_SECONDS:g} seconds"
        elif number == 0 and key in MUST_BE_POSITIVE:
            errors[key] = "must be greater than 0"
    if errors:
        return errors
    t = resolve(profile, overrides)
    if t["lease_renew_interval"] >= t["lease_duration"]:
        errors["lease_renew_interval"] = "must be shorter than the lease duration"
    if t["scheduler_backoff_initial"] > t["scheduler_backoff_max"]:
        errors["scheduler_backoff_initial"] = "must not exceed the maximum back-off"
    for prefix in ("crash_backoff", "image_backoff"):
        if t[f"{prefix}_initial"] > t[f"{prefix}_max"]:  # type: ignore[literal-required]
            errors[f"{prefix}_initial"] = "must not exceed the maximum back-off"
    return errors


def signature(profile: str, overrides: dict | None) -> str:
    """A short text that changes whenever the profile or the overrides do (the dashboard
    compares the one in clock messages with its Timings panel's to know when to reload it)."""
    items = sorted((overrides or {}).items())
    return profile + ";" + ",".join(f"{key}={float(value)!r}" for key, value in items)


def resolve(profile: str, overrides: dict | None) -> Timings:
    """The profile's values with the cluster's overrides on top (unknown keys ignored)."""
    base = dict(TIMING_PROFILES.get(profile, CLASSROOM))
    for key, value in (overrides or {}).items():
        if key in base:
            base[key] = float(value)
    return base  # type: ignore[return-value]
