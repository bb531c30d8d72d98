"""The Deployment controller's rollout arithmetic as tables (no database): whole rolling updates
simulated step by step, proportional scaling, and the progress checks."""

from __future__ import annotations

import pytest

from cluster.controllers.deployment import (
    RSState,
    deployment_progressing,
    plan_proportional_scale,
    plan_rolling_step,
    progress_timed_out,
    strategy_fenceposts,
)

COMBOS = [
    (replicas, surge, unavailable)
    for replicas in (1, 2, 3, 4, 5, 10, 13)
    for surge, unavailable in (
        ("25%", "25%"),
        (1, 0),
        (0, 1),
        (2, 2),
        ("50%", "0%"),
        ("0%", "50%"),
        ("100%", 0),
        (0, 0),
        (3, "10%"),
    )
]


def _simulate(
    replicas: int, surge_spec, unavailable_spec, *, delay: int, broken: set = frozenset()
):
    """Run a rolling update to the end. World model: pods appear and vanish at once with the
    ReplicaSet's size, a new pod becomes available ``delay`` steps after it was created (never
    for a broken template). Yields (new, old, available) after every controller step."""
    strategy = {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": surge_spec, "maxUnavailable": unavailable_spec},
    }
    surge, unavailable = strategy_fenceposts(strategy, replicas)
    new = RSState("new", 0, 0, created="2")
    old = RSState("old", replicas, replicas, created="1")
    ages: list[int] = []  # steps since creation, one per new pod
    for _ in range(500):
        plan = plan_rolling_step(
            replicas=replicas, surge=surge, unavailable=unavailable, new=new, old=[old]
        )
        if not plan and all(a >= delay for a in ages):
            return
        if "new" in plan:
            ages = (ages + [0] * plan["new"])[: plan["new"]]
            new.replicas = plan["new"]
        if "old" in plan:
            old.replicas = plan["old"]
            old.available = min(old.available, old.replicas)
        ages = [a + 1 for a in ages]
        new.available = 0 if "new" in broken else sum(1 for a in ages if a >= delay)
        yield surge, unavailable, new.replicas, old.replicas, new.available + old.available
    raise AssertionError("the rollout never settled")


@pytest.mark.parametrize("delay", [1, 3])
@pytest.mark.parametrize(("replicas", "surge", "unavailable"), COMBOS)
def test_rolling_update_stays_within_bounds_and_finishes(replicas, surge, unavailable, delay):
    """At every step pods <= replicas + maxSurge and available >= replicas - maxUnavailable; the
    rollout ends with every replica new and the old ReplicaSet at zero."""
    last = None
    for max_surge, max_unavailable, new, old, available in _simulate(
        replicas, surge, unavailable, delay=delay
    ):
        assert new + old <= replicas + max_surge
        assert available >= replicas - max_unavailable
        last = (new, old)
    assert last == (replicas, 0)


@pytest.mark.parametrize(("replicas", "surge", "unavailable"), COMBOS)
def test_broken_rollout_stalls_with_old_pods_serving(replicas, surge, unavailable):
    """New pods that never become available: the rollout stops at the fenceposts and at least
    replicas - maxUnavailable old pods keep serving."""
    steps = list(_simulate(replicas, surge, unavailable, delay=1, broken={"new"}))
    max_surge, max_unavailable, new, old, available = steps[-1]
    assert new + old <= replicas + max_surge
    assert old >= replicas - max_unavailable
    assert available == old
    assert new <= max_surge + max_unavailable


@pytest.mark.parametrize(
    ("new", "old", "expected"),
    [
        # old RS with 2 of 4 unavailable: both unhealthy ones go, no available one does.
        (RSState("new", 1, 1, "3"), [RSState("a", 4, 2, "1")], {"a": 2}),
        # the oldest RS's unhealthy replicas are cleaned before anything available goes.
        (RSState("new", 1, 1, "3"), [RSState("a", 2, 0, "1"), RSState("b", 2, 2, "2")], {"a": 0}),
        # healthy old RSs: oldest first, within the unavailable budget.
        (RSState("new", 1, 1, "3"), [RSState("a", 2, 2, "1"), RSState("b", 2, 2, "2")], {"a": 0}),
        # a new pod not yet available counts against the budget: one old pod may go, not two.
        (RSState("new", 1, 0, "3"), [RSState("a", 4, 4, "1")], {"a": 3}),
        # an unavailable old pod and an unavailable new one: the old unhealthy one goes.
        (RSState("new", 1, 0, "3"), [RSState("a", 4, 3, "1")], {"a": 3}),
    ],
    ids=["unhealthy-first", "oldest-unhealthy", "oldest-first", "budget", "both-unhealthy"],
)
def test_old_unhealthy_replicas_are_removed_first(new, old, expected):
    """cleanupUnhealthyReplicas: with replicas 4, maxSurge 1, maxUnavailable 1 and the new
    ReplicaSet full, old replicas that are not available are the first to go."""
    assert plan_rolling_step(replicas=4, surge=1, unavailable=1, new=new, old=old) == expected


@pytest.mark.parametrize(
    ("replicas", "new", "old", "status_replicas", "expected"),
    [
        # 10 -> 15 mid-rollout (surge 3 -> 4): 8 + 5 = 13 pods, allowed 19; +6 as 19/13 of each.
        (
            15,
            RSState("new", 5, 0, "2", 13),
            [RSState("old", 8, 8, "1", 13)],
            13,
            {"new": 7, "old": 12},
        ),
        # 10 -> 5 mid-rollout (surge 3 -> 2): allowed 7 of 13; -6, larger (older) first.
        (
            5,
            RSState("new", 5, 0, "2", 13),
            [RSState("old", 8, 8, "1", 13)],
            13,
            {"new": 3, "old": 4},
        ),
        # a single active ReplicaSet simply takes the new size.
        (7, RSState("new", 3, 3, "2", 4), [RSState("old", 0, 0, "1", 4)], 3, {"new": 7}),
        # no change in size: nothing to do.
        (10, RSState("new", 5, 0, "2", 13), [RSState("old", 8, 8, "1", 13)], 13, {}),
        # paused before any new ReplicaSet: the only active (old) one takes the size.
        (6, None, [RSState("old", 3, 3, "1", 4)], 3, {"old": 6}),
        # to zero: every active ReplicaSet goes to zero.
        (
            0,
            RSState("new", 5, 0, "2", 13),
            [RSState("old", 8, 8, "1", 13)],
            13,
            {"new": 0, "old": 0},
        ),
    ],
    ids=["up-proportional", "down-proportional", "single", "unchanged", "paused-old", "to-zero"],
)
def test_proportional_scaling(replicas, new, old, status_replicas, expected):
    """Replicas added or removed during a rollout are spread in proportion to each ReplicaSet's
    size, leftovers to the largest."""
    surge, _ = strategy_fenceposts({"type": "RollingUpdate"}, replicas)
    got = plan_proportional_scale(
        replicas=replicas,
        surge=surge,
        rolling=True,
        new=new,
        old=old,
        status_replicas=status_replicas,
    )
    assert got == expected
    if len([rs for rs in [new, *old] if rs and rs.replicas]) > 1 and replicas:
        sizes = {rs.name: rs.replicas for rs in [new, *old] if rs}
        sizes.update(got)
        assert sum(sizes.values()) == replicas + surge


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"updatedReplicas": 1}, {"updatedReplicas": 2}, True),
        ({"replicas": 4, "updatedReplicas": 1}, {"replicas": 3, "updatedReplicas": 1}, True),
        ({"readyReplicas": 2}, {"readyReplicas": 3}, True),
        ({"availableReplicas": 2}, {"availableReplicas": 3}, True),
        (
            {"replicas": 4, "updatedReplicas": 1, "availableReplicas": 3},
            {"replicas": 4, "updatedReplicas": 1, "availableReplicas": 3},
            False,
        ),
    ],
    ids=["more-updated", "fewer-old", "more-ready", "more-available", "stuck"],
)
def test_progress_is_seen(old, new, expected):
    assert deployment_progressing(old, new) is expected


@pytest.mark.parametrize(
    ("cond", "now", "expected"),
    [
        (None, 1000, False),
        (
            {"reason": "NewReplicaSetAvailable", "lastUpdateTime": "1970-01-01T00:00:00Z"},
            10**6,
            False,
        ),
        (
            {"reason": "ProgressDeadlineExceeded", "lastUpdateTime": "1970-01-01T00:16:40Z"},
            1000,
            True,
        ),
        ({"reason": "ReplicaSetUpdated", "lastUpdateTime": "1970-01-01T00:16:40Z"}, 1600, False),
        ({"reason": "ReplicaSetUpdated", "lastUpdateTime": "1970-01-01T00:16:40Z"}, 1601, True),
    ],
    ids=["no-condition", "complete", "already", "at-deadline", "past-deadline"],
)
def test_progress_deadline(cond, now, expected):
    """Timed out strictly after lastUpdateTime + progressDeadlineSeconds (600)."""
    assert progress_timed_out(cond, 600, now) is expected


@pytest.mark.parametrize(
    ("strategy", "replicas", "expected"),
    [
        ({"type": "Recreate"}, 5, (0, 0)),
        (
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 9}},
            3,
            (0, 3),
        ),
        ({"type": "RollingUpdate"}, 0, (0, 0)),
        ({"type": "RollingUpdate"}, 10, (3, 2)),
    ],
    ids=["recreate", "unavailable-capped", "zero-replicas", "defaults"],
)
def test_strategy_fenceposts(strategy, replicas, expected):
    assert strategy_fenceposts(strategy, replicas) == expected
