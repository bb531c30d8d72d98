"""Pure planning functions of the controllers, as tables (no database)."""

from __future__ import annotations

import pytest

from cluster.controllers.deployment import (
    plan_new_rs_replicas,
    plan_old_scale_down,
    resolve_fenceposts,
    template_hash,
)
from cluster.controllers.node_lifecycle import next_check, zone_state
from cluster.controllers.replicaset import RankedPod, plan_deletions
from cluster.controllers.scheduler import backoff


@pytest.mark.parametrize(
    ("surge", "unavailable", "replicas", "expected"),
    [
        ("25%", "25%", 3, (1, 0)),
        ("25%", "25%", 4, (1, 1)),
        ("25%", "25%", 10, (3, 2)),
        (0, 0, 5, (0, 1)),
        ("0%", "0%", 5, (0, 1)),
        (2, "50%", 5, (2, 2)),
        ("100%", 0, 6, (6, 0)),
    ],
    ids=[
        "3-replicas",
        "4-replicas",
        "10-replicas",
        "both-zero",
        "both-zero-pct",
        "mixed",
        "blue-green",
    ],
)
def test_resolve_fenceposts(surge, unavailable, replicas, expected) -> None:
    """Surge rounds up, unavailable rounds down, and both zero means one unavailable."""
    assert resolve_fenceposts(surge, unavailable, replicas) == expected


@pytest.mark.parametrize(
    ("replicas", "surge", "current_total", "new_rs", "expected"),
    [
        (3, 1, 3, 0, 1),
        (3, 1, 4, 1, 1),
        (10, 3, 10, 0, 3),
        (10, 3, 12, 3, 4),
        (5, 0, 4, 0, 1),
        (5, 2, 5, 5, 5),
    ],
    ids=["first-surge", "at-max", "big-surge", "partial", "after-scale-down", "done"],
)
def test_new_rs_growth_stays_within_surge(replicas, surge, current_total, new_rs, expected) -> None:
    """The new ReplicaSet grows until replicas + maxSurge pods exist, never past replicas."""
    got = plan_new_rs_replicas(
        replicas=replicas, surge=surge, current_total=current_total, new_rs=new_rs
    )
    assert got == expected
    assert current_total - new_rs + got <= max(replicas + surge, current_total)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {
                "replicas": 3,
                "unavailable": 0,
                "all_pods": 4,
                "new_rs_replicas": 1,
                "new_rs_available": 0,
                "old_available": 3,
            },
            0,
        ),
        (
            {
                "replicas": 3,
                "unavailable": 0,
                "all_pods": 4,
                "new_rs_replicas": 1,
                "new_rs_available": 1,
                "old_available": 3,
            },
            1,
        ),
        (
            {
                "replicas": 4,
                "unavailable": 1,
                "all_pods": 5,
                "new_rs_replicas": 1,
                "new_rs_available": 0,
                "old_available": 3,
            },
            0,
        ),
        (
            {
                "replicas": 4,
                "unavailable": 1,
                "all_pods": 5,
                "new_rs_replicas": 1,
                "new_rs_available": 0,
                "old_available": 4,
            },
            1,
        ),
        (
            {
                "replicas": 4,
                "unavailable": 1,
                "all_pods": 4,
                "new_rs_replicas": 0,
                "new_rs_available": 0,
                "old_available": 4,
            },
            1,
        ),
    ],
    ids=[
        "wait-for-new",
        "one-new-ready",
        "unready-old-pod-blocks",
        "unavailable-budget-with-surge",
        "unavailable-budget",
    ],
)
def test_old_scale_down_keeps_min_available(kwargs, expected) -> None:
    """Old pods go only while replicas − maxUnavailable stay available."""
    assert plan_old_scale_down(**kwargs) == expected


def test_rolling_update_never_breaks_bounds() -> None:
    """Simulated step by step (new pods become available one step after creation), the pod
    count stays within [replicas − maxUnavailable, replicas + maxSurge] and the rollout ends."""
    for replicas, surge_spec, unavail_spec in [
        (3, "25%", "25%"),
        (10, "25%", "25%"),
        (5, 0, 1),
        (6, 2, 0),
    ]:
        surge, unavailable = resolve_fenceposts(surge_spec, unavail_spec, replicas)
        new, new_avail, old = 0, 0, replicas
        for _ in range(100):
            grown = plan_new_rs_replicas(
                replicas=replicas, surge=surge, current_total=new + old, new_rs=new
            )
            if grown != new:
                new = grown
            else:
                cut = plan_old_scale_down(
                    replicas=replicas,
                    unavailable=unavailable,
                    all_pods=new + old,
                    new_rs_replicas=new,
                    new_rs_available=new_avail,
                    old_available=old,
                )
                old -= min(cut, old)
            assert new + old <= replicas + surge
            assert new_avail + old >= replicas - unavailable
            new_avail = new  # available one step later
            if new == replicas and old == 0:
                break
        assert (new, old) == (replicas, 0)


def test_template_hash_is_stable_and_safe() -> None:
    """The hash depends only on the template and uses the safe alphabet."""
    t = {
        "metadata": {"labels": {"app": "nginx"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]},
    }
    h = template_hash(t)
    assert h == template_hash({**t})
    assert h != template_hash(
        {**t, "spec": {"containers": [{"name": "nginx", "image": "nginx:1.28"}]}}
    )
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789") and 1 <= len(h) <= 10


def _pod(name, **kw) -> RankedPod:
    base = {
        "name": name,
        "uid": name,
        "assigned": True,
        "phase_rank": 2,
        "ready": True,
        "deletion_cost": 0,
        "colocated": 1,
        "ready_since": 100.0,
        "restarts": 0,
        "created": 50.0,
    }
    base.update(kw)
    return RankedPod(**base)


@pytest.mark.parametrize(
    ("pods", "first"),
    [
        ([_pod("a"), _pod("b", assigned=False)], "b"),
        ([_pod("a"), _pod("b", phase_rank=0)], "b"),
        ([_pod("a"), _pod("b", ready=False)], "b"),
        ([_pod("a", deletion_cost=5), _pod("b")], "b"),
        ([_pod("a"), _pod("b", colocated=3)], "b"),
        ([_pod("a", ready_since=10.0), _pod("b", ready_since=90.0)], "b"),
        ([_pod("a"), _pod("b", restarts=4)], "b"),
        ([_pod("a", created=10.0), _pod("b", created=20.0)], "b"),
    ],
    ids=[
        "unassigned",
        "pending",
        "not-ready",
        "deletion-cost",
        "doubled-up-node",
        "ready-recently",
        "restarts",
        "newer",
    ],
)
def test_replicaset_scale_down_ranking(pods, first) -> None:
    """ActivePodsWithRanks: the pod Kubernetes deletes first, rule by rule."""
    assert plan_deletions(pods, 1) == [first]


@pytest.mark.parametrize(
    ("ready", "not_ready", "state"),
    [
        (3, 1, "Normal"),
        (0, 3, "FullDisruption"),
        (1, 3, "PartialDisruption"),
        (2, 2, "Normal"),
        (0, 0, "Normal"),
    ],
)
def test_zone_state(ready, not_ready, state) -> None:
    assert zone_state(ready=ready, not_ready=not_ready) == state


@pytest.mark.parametrize(
    ("expiry", "period", "expected"), [(52.0, 5, 55.0), (55.0, 5, 55.0), (3.2, 1, 4.0)]
)
def test_detection_on_monitor_quantum(expiry, period, expected) -> None:
    assert next_check(expiry, period) == expected


@pytest.mark.parametrize(
    ("attempts", "expected"), [(0, 0), (1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (9, 10)]
)
def test_scheduler_backoff(attempts, expected) -> None:
    """podInitialBackoffSeconds 1 doubling to podMaxBackoffSeconds 10."""
    assert backoff(attempts, 1.0, 10.0) == expected
