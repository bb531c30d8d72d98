"""The pure container-runtime arithmetic: behaviour grammar, back-off, registry, probes, OOM."""

from __future__ import annotations

import math

import pytest

from cluster import containers as rt
from cluster.controllers.kubelet_containers import container_outcome

# --- behaviour grammar ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", rt.Behavior()),
        ("healthy", rt.Behavior()),
        ("crash", rt.Behavior(crash_after=0.0)),
        ("crash after=30s exit=2", rt.Behavior(crash_after=30.0, exit_code=2)),
        ("crash after=2m", rt.Behavior(crash_after=120.0)),
        ("crash exit=0", rt.Behavior(crash_after=0.0, exit_code=0)),
        ("liveness-fail after=60s", rt.Behavior(liveness_fail_after=60.0)),
        (
            "readiness-fail after=10s for=20s",
            rt.Behavior(readiness_fail_after=10, readiness_fail_for=20),
        ),
        ("never-ready", rt.Behavior(never_ready=True)),
        ("memory-leak rate=20Mi/s", rt.Behavior(leak_rate=20 * 2**20)),
        ("slow-start 30s", rt.Behavior(slow_start=30.0)),
        ("slow-start after=500ms", rt.Behavior(slow_start=0.5)),
        ("cpu 300m", rt.Behavior(cpu_burn=300)),
        ("cpu burn=0.5", rt.Behavior(cpu_burn=500)),
        ("cpu 2; memory-leak rate=1Mi/s", rt.Behavior(cpu_burn=2000, leak_rate=2**20)),
        (
            "slow-start 20s; crash after=1m",
            rt.Behavior(slow_start=20.0, crash_after=60.0),
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_behavior_grammar(text: str, expected: rt.Behavior) -> None:
    assert rt.parse_behavior(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("explode", 'unknown behaviour "explode"'),
        ("crash after=soon", '"soon" is not a duration'),
        ("crash exit=300", "exit: must be between 0 and 255"),
        ("crash exit=x", '"x" is not a whole number'),
        ("crash colour=red", '"crash" has no parameter "colour"'),
        ("memory-leak", "needs rate="),
        ("memory-leak rate=lots", "is not a memory rate"),
        ("slow-start", "needs a duration"),
        ("never-ready 5s", '"never-ready" takes no parameters'),
        ("crash; crash", '"crash" is given twice'),
        ("crash after=2d", "is not a duration"),
        ("crash after=25h", "longer than a day"),
        ("cpu", '"cpu" needs a CPU quantity'),
        ("cpu lots", 'cpu: "lots" is not a CPU quantity'),
        ("cpu 0m", "cpu: must be greater than 0"),
        ("cpu 65", "cpu: must be at most 64"),
        ("cpu 1 2", '"cpu": burn is given twice'),
    ],
)
def test_behavior_errors(text: str, message: str) -> None:
    with pytest.raises(rt.BehaviorError) as err:
        rt.parse_behavior(text)
    assert message in str(err.value)
    assert rt.behavior_error(text) == str(err.value)


# --- back-off ---------------------------------------------------------------------------------


def test_crashloop_backoff_sequence() -> None:
    """First restart immediate, then 10 s doubling, capped at 300 s (k8s-reference §2.3)."""
    delays = [rt.backoff_delay(n, initial=10, maximum=300) for n in range(9)]
    assert delays == [0, 10, 20, 40, 80, 160, 300, 300, 300]


@pytest.mark.parametrize(
    ("last_step", "now", "expired"),
    [(None, 0.0, True), (100.0, 700.0, False), (100.0, 700.1, True), (100.0, 200.0, False)],
)
def test_backoff_resets_after_twice_the_max(last_step, now, expired) -> None:
    assert rt.backoff_expired(last_step, now, maximum=300) is expired


def test_image_pull_backoff_sequence() -> None:
    delays = [rt.image_backoff_delay(n, initial=10, maximum=300) for n in range(1, 9)]
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]


# --- registry ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        "nginx",
        "nginx:1.27",
        "nginx:1.27.3-alpine",
        "nginx:latest",
        "nginx:stable",
        "docker.io/library/nginx:1.27",
        "redis:7.4-alpine",
        "python:3.12-slim-bookworm",
        "busybox:1.36",
        "registry.k8s.io/pause:3.9",
        "nginx@sha256:0123abcd",
    ],
)
def test_images_that_pull(image: str) -> None:
    assert rt.image_pull_error(image) is None


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("nginx:does-not-exist", "docker.io/library/nginx:does-not-exist: not found"),
        ("ngnix:1.27", "pull access denied, repository does not exist or may require"),
        ("example.com/team/app:1.0", 'failed to resolve reference "example.com/team/app:1.0"'),
        ("myuser/app", "docker.io/myuser/app:latest"),
    ],
)
def test_images_that_fail(image: str, message: str) -> None:
    error = rt.image_pull_error(image)
    assert error is not None and message in error


# --- probes ----------------------------------------------------------------------------------

HEALTHY = [(-math.inf, True)]


@pytest.mark.parametrize(
    ("health", "initial", "since", "expected"),
    [
        # Fails from t=25: probes at 30, 40, 50 fail -> failure after the third, at 50.
        ([(-math.inf, True), (25.0, False)], True, -math.inf, [(50.0, False)]),
        # Failing exactly at a probe instant counts that probe.
        ([(-math.inf, True), (30.0, False)], True, -math.inf, [(50.0, False)]),
        # Healthy from 15: readiness (initially False) succeeds at the next probe, 20.
        ([(-math.inf, False), (15.0, True)], False, -math.inf, [(20.0, True)]),
        # A blip of two failed probes is not enough.
        ([(-math.inf, True), (25.0, False), (45.0, True)], True, -math.inf, []),
        # Flapping: not ready at 50, ready again at the first probe after 70.
        (
            [(-math.inf, True), (25.0, False), (65.0, True)],
            True,
            -math.inf,
            [(50.0, False), (70.0, True)],
        ),
        # Counting restarts at ``since``: probes before it are ignored.
        ([(-math.inf, False)], True, 35.0, [(60.0, False)]),
        # Startup probe: neither state; three failures first.
        ([(-math.inf, False)], None, -math.inf, [(20.0, False)]),
        ([(-math.inf, False), (12.0, True)], None, -math.inf, [(20.0, True)]),
        (HEALTHY, True, -math.inf, []),
    ],
)
def test_probe_transitions(health, initial, since, expected) -> None:
    got = rt.probe_transitions(
        first=0.0,
        period=10.0,
        success_threshold=1,
        failure_threshold=3,
        initial=initial,
        health=health,
        since=since,
    )
    assert got == expected


def test_probe_success_threshold() -> None:
    got = rt.probe_transitions(
        first=5.0,
        period=5.0,
        success_threshold=3,
        failure_threshold=1,
        initial=False,
        health=[(-math.inf, False), (11.0, True)],
    )
    assert got == [(25.0, True)]  # probes at 15, 20, 25 succeed


@pytest.mark.parametrize(
    ("rate", "limit", "expected"),
    [(2**20, 64 * 2**20, 164.0), (0.0, 64 * 2**20, math.inf), (2**20, None, math.inf)],
)
def test_oom_instant(rate, limit, expected) -> None:
    assert rt.oom_instant(since=100.0, rate=rate, limit=limit) == expected


# --- a container's whole timeline --------------------------------------------------------------

PROBE = rt.Probe()  # period 10, failure 3, success 1, no delay


def outcome(behavior: str, **kw):
    args = dict(
        behavior=rt.parse_behavior(behavior),
        started=0.0,
        origin=0.0,
        reset_at=0.0,
        ready_at_reset=False,
        liveness=None,
        readiness=None,
        startup=None,
        memory_limit=None,
    )
    args.update(kw)
    return container_outcome(**args)


@pytest.mark.parametrize(
    ("behavior", "kw", "end", "cause", "code", "ready"),
    [
        ("healthy", {}, math.inf, "", 0, [(0.0, True)]),
        ("crash after=30s exit=3", {}, 30.0, "crash", 3, [(0.0, True)]),
        ("memory-leak rate=1Mi/s", {"memory_limit": 128 * 2**20}, 128.0, "oom", 137, [(0.0, True)]),
        ("memory-leak rate=1Mi/s", {}, math.inf, "", 0, [(0.0, True)]),
        # Liveness fails from 60: probes 60, 70, 80 -> killed at 80.
        ("liveness-fail after=60s", {"liveness": PROBE}, 80.0, "liveness", 137, [(0.0, True)]),
        # Without a liveness probe nobody notices.
        ("liveness-fail after=60s", {}, math.inf, "", 0, [(0.0, True)]),
        # Readiness probe: ready at the first probe (0); never-ready never.
        ("healthy", {"readiness": PROBE}, math.inf, "", 0, [(0.0, True)]),
        ("never-ready", {"readiness": PROBE}, math.inf, "", 0, []),
        ("slow-start 25s", {"readiness": PROBE}, math.inf, "", 0, [(30.0, True)]),
        # Slow start longer than liveness tolerates: killed at the third failed probe (20 s).
        ("slow-start 45s", {"liveness": PROBE}, 20.0, "liveness", 137, [(0.0, True)]),
        # ... which a startup probe with enough failures prevents.
        (
            "slow-start 45s",
            {"liveness": PROBE, "startup": rt.Probe(failure_threshold=30)},
            math.inf,
            "",
            0,
            [(50.0, True)],
        ),
        ("slow-start 45s", {"startup": PROBE}, 20.0, "startup", 137, []),
        (
            "readiness-fail after=30s for=30s",
            {"readiness": PROBE},
            math.inf,
            "",
            0,
            [(0.0, True), (50.0, False), (60.0, True)],
        ),
    ],
)
def test_container_outcome(behavior, kw, end, cause, code, ready) -> None:
    got = outcome(behavior, **kw)
    assert (got.end_at, got.end_cause, got.exit_code, got.ready) == (end, cause, code, ready)
