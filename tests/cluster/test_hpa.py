"""The HPA's arithmetic as tables: the replica calculator, stabilisation, rate policies, clamps,
conditions and the SuccessfulRescale event (pkg/controller/podautoscaler)."""

from __future__ import annotations

import pytest

from cluster.hpa import (
    DEFAULT_SCALE_DOWN,
    DEFAULT_SCALE_UP,
    MSG_BELOW_MIN,
    Behavior,
    HpaHistory,
    HpaSpec,
    PodSample,
    Recommendation,
    ResourceMetric,
    ScaleEvent,
    ScalingPolicy,
    ScalingRules,
    hpa_decide,
    resource_replicas,
    scale_down_limit,
    scale_up_limit,
)

NOW = 10_000.0
CPU50 = ResourceMetric("cpu", 50)
CPU1 = {"cpu": 1}


def pods(*usages, request=1000, **kw):
    """Running, long-ready pods with the given CPU usage (None: no metrics)."""
    return [
        PodSample(
            name=f"p{i}",
            requests={"cpu": request},
            usage={} if u is None else {"cpu": u},
            **kw,
        )
        for i, u in enumerate(usages)
    ]


@pytest.mark.parametrize(
    ("usages", "current", "expected", "utilization"),
    [
        pytest.param((1000, 1000), 2, 4, 100, id="double-target"),
        pytest.param((540, 540), 2, 2, 54, id="within-tolerance-up"),
        pytest.param((560, 560), 2, 3, 56, id="just-over-tolerance"),
        pytest.param((450, 450), 2, 2, 45, id="within-tolerance-down"),
        pytest.param((100, 100, 100, 100), 4, 1, 10, id="scale-down"),
        pytest.param((333, 333, 334), 3, 2, 33, id="truncated-percent"),
    ],
)
def test_ratio_of_ready_pods(usages, current, expected, utilization):
    """desired = ceil(ready x utilisation/target) outside a 0.1 tolerance; the percentage is
    truncated to a whole number first, as GetResourceUtilizationRatio does."""
    p = resource_replicas(current_replicas=current, metric=CPU50, pods=pods(*usages), now=NOW)
    assert (p.replicas, p.utilization, p.error) == (expected, utilization, None)
    assert p.explanation


def test_unready_pods_count_as_zero_on_scale_up():
    """Two ready pods at 100% and two unready: 4 pods at 50% average = exactly target -> keep."""
    ps = [
        *pods(1000, 1000),
        PodSample("u0", {"cpu": 1000}, {"cpu": 900}, ready=False),
        PodSample("u1", {"cpu": 1000}, {"cpu": 900}, ready=False),
    ]
    p = resource_replicas(current_replicas=4, metric=CPU50, pods=ps, now=NOW)
    assert (p.replicas, p.utilization) == (4, 100)


@pytest.mark.parametrize(
    ("usages", "current", "expected"),
    [
        # scale-up: ratio 2.0 over 2 pods; 2 missing at 0 -> 4 pods at 50% -> within tolerance.
        pytest.param((1000, 1000, None, None), 4, 4, id="up-missing-as-zero-cancels"),
        # ratio 3.0; one missing as 0: (1500*2)/3 = 100% -> ratio 2 -> ceil(2*3)=6.
        pytest.param((1500, 1500, None), 3, 6, id="up-missing-as-zero"),
        # scale-down: 10% on 2, two missing as 100% -> 55% -> ratio 1.1 > 1: direction flips.
        pytest.param((100, 100, None, None), 4, 4, id="down-missing-as-full-flips"),
        # 0% on 3, one missing as 100% -> 25% -> ratio .5 -> ceil(.5*4)=2.
        pytest.param((0, 0, 0, None), 4, 2, id="down-missing-as-full"),
    ],
)
def test_missing_metrics(usages, current, expected):
    p = resource_replicas(current_replicas=current, metric=CPU50, pods=pods(*usages), now=NOW)
    assert p.replicas == expected


@pytest.mark.parametrize(
    ("pod", "grouped_as_unready"),
    [
        pytest.param(PodSample("x", CPU1, CPU1, phase="Pending"), True, id="pending"),
        pytest.param(PodSample("x", CPU1, CPU1, ready=None), True, id="no-cond"),
        pytest.param(
            PodSample(
                "x", {"cpu": 1}, {"cpu": 1}, start_time=NOW - 60, ready_transition_time=NOW - 5
            ),
            True,
            id="sample-predates-readiness",
        ),
        pytest.param(
            PodSample(
                "x", {"cpu": 1}, {"cpu": 1}, start_time=NOW - 60, ready_transition_time=NOW - 40
            ),
            False,
            id="ready-a-window-ago",
        ),
        pytest.param(
            PodSample(
                "x", {"cpu": 1}, {"cpu": 1}, ready=False, start_time=0, ready_transition_time=10
            ),
            True,
            id="never-been-ready",
        ),
        pytest.param(
            PodSample(
                "x", {"cpu": 1}, {"cpu": 1}, ready=False, start_time=0, ready_transition_time=900
            ),
            False,
            id="was-ready-once-old-pod",
        ),
    ],
)
def test_cpu_readiness_grouping(pod, grouped_as_unready):
    from cluster.hpa import group_pods

    g = group_pods([pod], resource="cpu", now=NOW)
    assert (pod.name in g.unready) is grouped_as_unready


@pytest.mark.parametrize(
    ("ps", "error"),
    [
        pytest.param(
            pods(None, None),
            "unable to get metrics for resource cpu: no metrics returned from resource metrics API",
            id="no-metrics",
        ),
        pytest.param(
            pods(500, phase="Pending"),
            "did not receive metrics for targeted pods (pods might be unready)",
            id="all-unready",
        ),
        pytest.param(
            [PodSample("p0", {}, {"cpu": 5})],
            "missing request for cpu in container app of Pod p0",
            id="no-request",
        ),
    ],
)
def test_metric_errors(ps, error):
    p = resource_replicas(current_replicas=1, metric=CPU50, pods=ps, now=NOW)
    assert p.error == f"failed to get cpu utilization: {error}"


def test_failed_and_deleting_pods_are_ignored():
    ps = (
        pods(1000, 1000)
        + pods(0, phase="Failed")
        + [PodSample("d", {"cpu": 1000}, {"cpu": 0}, deleting=True)]
    )
    ps[2] = PodSample("f", {"cpu": 1000}, {"cpu": 0}, phase="Failed")
    p = resource_replicas(current_replicas=2, metric=CPU50, pods=ps, now=NOW)
    assert (p.replicas, p.utilization) == (4, 100)


B = Behavior()


@pytest.mark.parametrize(
    ("rules", "current", "up_events", "down_events", "limit"),
    [
        pytest.param(DEFAULT_SCALE_UP, 1, (), (), 5, id="default-4-pods-beats-100pct"),
        pytest.param(DEFAULT_SCALE_UP, 10, (), (), 20, id="default-100pct-beats-4"),
        pytest.param(DEFAULT_SCALE_UP, 10, (ScaleEvent(NOW - 5, 5),), (), 10, id="period-used"),
        pytest.param(DEFAULT_SCALE_UP, 10, (ScaleEvent(NOW - 15, 5),), (), 20, id="event-expired"),
        pytest.param(
            ScalingRules(DEFAULT_SCALE_UP.policies, "Min"), 10, (), (), 14, id="select-min"
        ),
        pytest.param(
            ScalingRules(DEFAULT_SCALE_UP.policies, "Disabled"), 10, (), (), 10, id="disabled"
        ),
    ],
)
def test_scale_up_limit(rules, current, up_events, down_events, limit):
    h = HpaHistory(scale_up_events=up_events, scale_down_events=down_events)
    assert scale_up_limit(current=current, rules=rules, history=h, now=NOW) == limit


@pytest.mark.parametrize(
    ("rules", "current", "down_events", "limit"),
    [
        pytest.param(DEFAULT_SCALE_DOWN, 10, (), 0, id="default-100pct"),
        pytest.param(
            ScalingRules((ScalingPolicy("Percent", 50, 60), ScalingPolicy("Pods", 2, 60))),
            10,
            (),
            5,
            id="max-picks-biggest-change",
        ),
        pytest.param(
            ScalingRules((ScalingPolicy("Percent", 50, 60), ScalingPolicy("Pods", 2, 60)), "Min"),
            10,
            (),
            8,
            id="min-picks-smallest-change",
        ),
        pytest.param(
            ScalingRules((ScalingPolicy("Pods", 2, 60),)),
            8,
            (ScaleEvent(NOW - 30, 2),),
            8,
            id="budget-spent-in-period",
        ),
        pytest.param(ScalingRules((ScalingPolicy("Percent", 30, 60),)), 5, (), 3, id="truncates"),
    ],
)
def test_scale_down_limit(rules, current, down_events, limit):
    h = HpaHistory(scale_down_events=down_events)
    assert scale_down_limit(current=current, rules=rules, history=h, now=NOW) == limit


def cond(decision, type_):
    return next(c for c in decision.conditions if c.type == type_)


@pytest.mark.parametrize("behavior", [None, B], ids=["legacy", "behavior"])
def test_scale_up_event_and_conditions(behavior):
    spec = HpaSpec(max_replicas=10, metrics=(CPU50,), behavior=behavior)
    d = hpa_decide(
        spec=spec, current_replicas=2, pods=pods(1000, 1000), history=HpaHistory(), now=NOW
    )
    assert (d.rescale, d.desired_replicas) == (True, 4)
    assert d.events[-1].message == (
        "New size: 4; reason: cpu resource utilization (percentage of request) above target"
    )
    assert cond(d, "ScalingActive").reason == "ValidMetricFound"
    assert cond(d, "ScalingLimited").reason == "DesiredWithinRange"
    assert cond(d, "AbleToScale").reason == "SucceededRescale"


@pytest.mark.parametrize(
    ("behavior", "current", "usage", "max_r", "desired", "limited"),
    [
        pytest.param(None, 2, 3000, 20, 4, "ScaleUpLimit", id="legacy-2x-or-4"),
        pytest.param(B, 2, 3000, 20, 6, "ScaleUpLimit", id="default-plus-4"),
        pytest.param(B, 2, 3000, 5, 5, "TooManyReplicas", id="max"),
        pytest.param(None, 2, 3000, 3, 3, "TooManyReplicas", id="legacy-max"),
    ],
)
def test_scale_up_limits(behavior, current, usage, max_r, desired, limited):  # noqa: PLR0917
    spec = HpaSpec(max_replicas=max_r, metrics=(CPU50,), behavior=behavior)
    d = hpa_decide(
        spec=spec,
        current_replicas=current,
        pods=pods(*[usage] * current),
        history=HpaHistory(),
        now=NOW,
    )
    assert d.desired_replicas == desired
    assert (cond(d, "ScalingLimited").status, cond(d, "ScalingLimited").reason) == ("True", limited)


@pytest.mark.parametrize("behavior", [None, B], ids=["legacy", "behavior"])
def test_scale_down_waits_for_the_window(behavior):
    """Load drops at t=0: the recommendation 1 is held at 4 by the window until 300 s of lower
    recommendations have passed, then the HPA scales straight down ("All metrics below target")."""
    spec = HpaSpec(max_replicas=10, min_replicas=1, metrics=(CPU50,), behavior=behavior)
    history = HpaHistory(recommendations=(Recommendation(NOW - 1, 4),))
    t = 0.0
    while True:
        d = hpa_decide(
            spec=spec, current_replicas=4, pods=pods(10, 10, 10, 10), history=history, now=NOW + t
        )
        history = d.history
        if d.rescale:
            break
        assert cond(d, "AbleToScale").reason == "ScaleDownStabilized"
        t += 15
    assert t == 300.0
    assert (d.desired_replicas, d.events[-1].message) == (
        1,
        "New size: 1; reason: All metrics below target",
    )


def test_min_clamp_too_few_replicas():
    spec = HpaSpec(max_replicas=10, min_replicas=3, metrics=(CPU50,), behavior=B)
    history = HpaHistory(recommendations=(Recommendation(NOW - 15, 5),))
    d = hpa_decide(spec=spec, current_replicas=5, pods=pods(*[10] * 5), history=history, now=NOW)
    assert d.desired_replicas == 5  # held by the 300 s window
    spec0 = HpaSpec(
        max_replicas=10,
        min_replicas=3,
        metrics=(CPU50,),
        behavior=Behavior(scale_down=ScalingRules(DEFAULT_SCALE_DOWN.policies, "Max", 0)),
    )
    d = hpa_decide(spec=spec0, current_replicas=5, pods=pods(*[10] * 5), history=history, now=NOW)
    assert d.desired_replicas == 3
    assert cond(d, "ScalingLimited").reason == "TooFewReplicas"


def test_scale_up_stabilization_window():
    """With a 60 s scale-up window, a spike must be seen for the whole window (lowest wins)."""
    up = ScalingRules(DEFAULT_SCALE_UP.policies, "Max", 60)
    spec = HpaSpec(max_replicas=10, metrics=(CPU50,), behavior=Behavior(scale_up=up))
    history = HpaHistory(recommendations=(Recommendation(NOW - 30, 2),))
    d = hpa_decide(spec=spec, current_replicas=2, pods=pods(1000, 1000), history=history, now=NOW)
    assert not d.rescale
    assert cond(d, "AbleToScale").reason == "ScaleUpStabilized"


def test_scale_down_policy_spreads_over_periods():
    """Pods 1 per 60 s: each sync after a rescale waits out the period."""
    down = ScalingRules((ScalingPolicy("Pods", 1, 60),), "Max", 0)
    spec = HpaSpec(max_replicas=10, metrics=(CPU50,), behavior=Behavior(scale_down=down))
    history, current, sizes = HpaHistory(), 4, []
    for t in range(0, 240, 15):
        d = hpa_decide(
            spec=spec,
            current_replicas=current,
            pods=pods(*[0] * current),
            history=history,
            now=NOW + t,
        )
        history, current = d.history, d.desired_replicas
        sizes.append(current)
    assert sizes == [3, 3, 3, 3, 2, 2, 2, 2] + [1] * 8
    assert cond(d, "ScalingLimited").reason == "TooFewReplicas"  # min 1 stops it


@pytest.mark.parametrize(
    ("current", "min_r", "max_r", "desired", "reason"),
    [
        pytest.param(
            12, 1, 10, 10, "Current number of replicas above Spec.MaxReplicas", id="above"
        ),
        pytest.param(1, 2, 10, 2, MSG_BELOW_MIN, id="below"),
    ],
)
def test_out_of_range_without_metrics(current, min_r, max_r, desired, reason):
    spec = HpaSpec(max_replicas=max_r, min_replicas=min_r)
    d = hpa_decide(spec=spec, current_replicas=current, pods=[], history=HpaHistory(), now=NOW)
    assert (d.desired_replicas, d.reason) == (desired, reason)


def test_scaled_to_zero_disables():
    d = hpa_decide(
        spec=HpaSpec(max_replicas=5), current_replicas=0, pods=[], history=HpaHistory(), now=NOW
    )
    assert not d.rescale
    assert cond(d, "ScalingActive").reason == "ScalingDisabled"


def test_failed_metrics_no_change():
    spec = HpaSpec(max_replicas=5, metrics=(CPU50,))
    d = hpa_decide(
        spec=spec, current_replicas=2, pods=pods(None, None), history=HpaHistory(), now=NOW
    )
    assert not d.rescale
    active = cond(d, "ScalingActive")
    assert (active.status, active.reason) == ("False", "FailedGetResourceMetric")
    assert active.message.startswith("the HPA was unable to compute the replica count: ")
    assert [e.reason for e in d.events] == [
        "FailedGetResourceMetric",
        "FailedComputeMetricsReplicas",
    ]
    assert d.events[1].message.startswith("invalid metrics (1 invalid out of 1), first error is: ")


def test_largest_metric_wins_and_partial_failure_blocks_scale_down():
    mem = ResourceMetric("memory", 50)
    spec = HpaSpec(max_replicas=10, metrics=(CPU50, mem), behavior=B)
    ps = [
        PodSample(f"p{i}", {"cpu": 1000, "memory": 100}, {"cpu": 1000, "memory": 75})
        for i in range(2)
    ]
    d = hpa_decide(spec=spec, current_replicas=2, pods=ps, history=HpaHistory(), now=NOW)
    assert d.desired_replicas == 4 and d.reason.startswith("cpu ")
    ps = [PodSample(f"p{i}", {"cpu": 1000, "memory": 100}, {"memory": 5}) for i in range(2)]
    d = hpa_decide(spec=spec, current_replicas=2, pods=ps, history=HpaHistory(), now=NOW)
    assert not d.rescale


@pytest.mark.parametrize("behavior", [None, B], ids=["legacy", "behavior"])
def test_new_hpa_over_idle_target_waits_the_window(behavior):
    """recordInitialRecommendation: the first sync remembers the current count, so an HPA
    created over an idle Deployment of 4 first scales it down 300 s later, not at once."""
    spec = HpaSpec(max_replicas=10, metrics=(CPU50,), behavior=behavior)
    history, sizes = HpaHistory(), []
    for t in range(0, 330, 15):
        d = hpa_decide(
            spec=spec, current_replicas=4, pods=pods(0, 0, 0, 0), history=history, now=NOW + t
        )
        history = d.history
        sizes.append(d.desired_replicas)
    first_scale = 15 * sizes.index(1)
    # horizontal.go keeps a sample exactly at the cutoff on the legacy path only.
    assert first_scale == (315 if behavior is None else 300)
