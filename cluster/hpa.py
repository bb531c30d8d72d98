"""The HorizontalPodAutoscaler (autoscaling/v2) decision, pure.

Models kube-controller-manager's ``pkg/controller/podautoscaler``: the replica calculator
(``replica_calculator.go``: pod grouping, utilisation of requests, the unready/missing-pod
rebalancing) and the controller's normalisation (``horizontal.go``: stabilisation windows, the
scale-rate policies of ``spec.behavior`` or the legacy ``max(2 x current, 4)`` cap, min/max
clamps, status conditions and the ``SuccessfulRescale`` event). See ../shared/k8s-reference.md §5.

Everything here is a function of plain dataclasses and the simulated time ``now`` (seconds). The
controller's in-memory memory (recent recommendations, recent scale events) is ``HpaHistory``,
passed in and returned, so a sync is replayable. Every decision carries ``explanation``: lines a
teacher can read aloud.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

# kube-controller-manager flags (podautoscaler/config/v1alpha1/defaults.go).
SYNC_PERIOD = 15.0
TOLERANCE = 0.1
DOWNSCALE_STABILIZATION = 300.0
CPU_INITIALIZATION_PERIOD = 300.0
INITIAL_READINESS_DELAY = 30.0
# metrics-server's sample window; the calculator only trusts a sample taken a full window after
# the pod's last readiness transition. (The 15 s figure is metrics-server's default resolution.)
METRIC_WINDOW = 15.0
# The legacy (behavior-less) scale-up cap: max(2 x current, 4) (horizontal.go scaleUpLimit*).
SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0
DEFAULT_CPU_UTILIZATION = 80  # autoscaling.DefaultCPUUtilization, when spec.metrics is empty

PolicyType = Literal["Pods", "Percent"]
SelectPolicy = Literal["Max", "Min", "Disabled"]

# Error texts, worded as the controller's (tests assert them).
ERR_NO_METRICS_API = "no metrics returned from resource metrics API"
ERR_NO_PODS = "no pods returned by selector while calculating replica count"
ERR_NO_READY_METRICS = "did not receive metrics for targeted pods (pods might be unready)"
ERR_MISSING_REQUEST = "missing request for {resource} in container {container} of Pod {pod}"
MSG_SCALING_DISABLED = "scaling is disabled since the replica count of the target is zero"
MSG_ABOVE_MAX = "Current number of replicas above Spec.MaxReplicas"
MSG_BELOW_MIN = "Current number of replicas below Spec.MinReplicas"
MSG_ALL_BELOW = "All metrics below target"
MSG_READY_FOR_NEW_SCALE = "recommended size matches current size"
MSG_SCALE_UP_STABILIZED = (
    "recent recommendations were lower than current one, applying the lowest recent recommendation"
)
MSG_SCALE_DOWN_STABILIZED = (
    "recent recommendations were higher than current one, applying the highest recent "
    "recommendation"
)
MSG_SCALE_UP_LIMIT = "the desired replica count is increasing faster than the maximum scale rate"
MSG_SCALE_DOWN_LIMIT = "the desired replica count is decreasing faster than the maximum scale rate"
MSG_TOO_MANY = "the desired replica count is more than the maximum replica count"
MSG_TOO_FEW = "the desired replica count is less than the minimum replica count"
MSG_WITHIN_RANGE = "the desired count is within the acceptable range"


# --- spec ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScalingPolicy:
    """``HPAScalingPolicy``: at most ``value`` pods (or percent) per ``period_seconds``."""

    type: PolicyType
    value: int
    period_seconds: int


@dataclass(frozen=True)
class ScalingRules:
    """``HPAScalingRules`` for one direction. ``stabilization_window_seconds=None`` on scale-down
    means the controller flag (300 s); ``tolerance=None`` means the global 0.1 (the per-direction
    tolerance is the ``HPAConfigurableTolerance`` feature)."""

    policies: tuple[ScalingPolicy, ...]
    select_policy: SelectPolicy = "Max"
    stabilization_window_seconds: int | None = None
    tolerance: float | None = None


# autoscaling/v2 defaults.go GenerateHPAScaleUpRules / GenerateHPAScaleDownRules.
DEFAULT_SCALE_UP = ScalingRules(
    policies=(ScalingPolicy("Pods", 4, 15), ScalingPolicy("Percent", 100, 15)),
    select_policy="Max",
    stabilization_window_seconds=0,
)
DEFAULT_SCALE_DOWN = ScalingRules(
    policies=(ScalingPolicy("Percent", 100, 15),),
    select_policy="Max",
    stabilization_window_seconds=None,
)


@dataclass(frozen=True)
class Behavior:
    """``spec.behavior``. The API server fills a missing direction with its default rules."""

    scale_up: ScalingRules = DEFAULT_SCALE_UP
    scale_down: ScalingRules = DEFAULT_SCALE_DOWN


@dataclass(frozen=True)
class ResourceMetric:
    """A ``type: Resource`` metric with ``target.type: Utilization``."""

    resource: str = "cpu"
    average_utilization: int = DEFAULT_CPU_UTILIZATION

    @property
    def name(self) -> str:
        return f"{self.resource} resource utilization (percentage of request)"


@dataclass(frozen=True)
class HpaSpec:
    """``behavior=None`` is what an HPA created without ``spec.behavior`` has: the controller then
    takes its legacy path (flag-driven down stabilisation, scale-up cap ``max(2 x n, 4)``)."""

    max_replicas: int
    min_replicas: int = 1
    metrics: tuple[ResourceMetric, ...] = (ResourceMetric(),)
    behavior: Behavior | None = None


# --- observed inputs ------------------------------------------------------------------------


@dataclass(frozen=True)
class PodSample:
    """One pod matched by the target's selector, as the calculator sees it.

    ``requests`` maps resource name to the sum of its containers' requests (milli-units); a
    resource absent from it is a container without that request (``container`` names it in the
    error). ``usage`` maps resource to the metrics-server sample (milli-units); absent means the
    pod has no metrics. ``ready`` is the Ready condition's status (``None``: no condition).
    """

    name: str
    requests: dict[str, int]
    usage: dict[str, int] = field(default_factory=dict)
    phase: str = "Running"
    ready: bool | None = True
    deleting: bool = False
    start_time: float | None = 0.0
    ready_transition_time: float = 0.0
    metric_time: float | None = None  # when the sample was taken; None: at ``now``
    container: str = "app"


@dataclass(frozen=True)
class Recommendation:
    time: float
    replicas: int


@dataclass(frozen=True)
class ScaleEvent:
    time: float
    change: int  # replicas added (scale-up list) or removed (scale-down list), positive


@dataclass(frozen=True)
class HpaHistory:
    """The controller's per-HPA memory: unstabilised recommendations and past rescales."""

    recommendations: tuple[Recommendation, ...] = ()
    scale_up_events: tuple[ScaleEvent, ...] = ()
    scale_down_events: tuple[ScaleEvent, ...] = ()


# --- outputs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    type: str  # AbleToScale | ScalingActive | ScalingLimited
    status: str  # "True" | "False"
    reason: str
    message: str


@dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass(frozen=True)
class MetricProposal:
    """One metric's replica proposal (``GetResourceReplicas``) or its error."""

    metric: ResourceMetric
    replicas: int = 0
    utilization: int | None = None  # the status' currentAverageUtilization (percent)
    average_value: int | None = None  # milli-units per pod
    error: str | None = None
    explanation: tuple[str, ...] = ()


@dataclass(frozen=True)
class HpaDecision:
    current_replicas: int
    desired_replicas: int
    rescale: bool
    reason: str  # the rescale reason ("" when not rescaling)
    conditions: tuple[Condition, ...]
    events: tuple[Event, ...]
    proposals: tuple[MetricProposal, ...]
    history: HpaHistory
    explanation: tuple[str, ...]


# --- the replica calculator -----------------------------------------------------------------


@dataclass(frozen=True)
class PodGroups:
    ready_count: int
    unready: frozenset[str]
    missing: frozenset[str]
    ignored: frozenset[str]


def _within_tolerance(ratio: float, up: float, down: float) -> bool:
    return (1.0 - down) <= ratio <= (1.0 + up)


def group_pods(
    pods: list[PodSample] | tuple[PodSample, ...],
    *,
    resource: str,
    now: float,
    cpu_initialization_period: float = CPU_INITIALIZATION_PERIOD,
    initial_readiness_delay: float = INITIAL_READINESS_DELAY,
    metric_window: float = METRIC_WINDOW,
) -> PodGroups:
    """Sort pods as ``groupPods`` does: deleting or Failed pods are ignored; Pending pods count
    as unready; pods without a sample are missing; for CPU only, a pod is unready if it has no
    Ready condition or start time, or, within the CPU initialisation period of its start, if it
    is not Ready or its sample predates readiness by less than a window, or, after that period,
    if it is not Ready and has never been Ready (its transition fell within the initial
    readiness delay of its start)."""
    ready_count = 0
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    for pod in pods:
        if pod.deleting or pod.phase == "Failed":
            ignored.add(pod.name)
            continue
        if pod.phase == "Pending":
            unready.add(pod.name)
            continue
        if resource not in pod.usage:
            missing.add(pod.name)
            continue
        if resource == "cpu":
            if pod.ready is None or pod.start_time is None:
                is_unready = True
            elif pod.start_time + cpu_initialization_period > now:
                sampled = now if pod.metric_time is None else pod.metric_time
                is_unready = (not pod.ready) or sampled < pod.ready_transition_time + metric_window
            else:
                is_unready = (not pod.ready) and (
                    pod.start_time + initial_readiness_delay > pod.ready_transition_time
                )
            if is_unready:
                unready.add(pod.name)
                continue
        ready_count += 1
    return PodGroups(ready_count, frozenset(unready), frozenset(missing), frozenset(ignored))


def _utilization(usage: dict[str, int], requests: dict[str, int]) -> tuple[int, int]:
    """``GetResourceUtilizationRatio``'s integer arithmetic: percent = total usage x 100 //
    total request (truncated, so the ratio is computed from a whole percentage), and the
    average raw usage. Only pods with both a sample and a request count."""
    total_usage = total_request = entries = 0
    for name, value in usage.items():
        if name in requests:
            total_usage += value
            total_request += requests[name]
            entries += 1
    if total_request == 0:
        raise ValueError("no metrics returned matched known pods")
    return (total_usage * 100) // total_request, total_usage // entries


def resource_replicas(  # noqa: PLR0911, PLR0912 - GetResourceReplicas' cases, one by one
    *,
    current_replicas: int,
    metric: ResourceMetric,
    pods: list[PodSample] | tuple[PodSample, ...],
    now: float,
    tolerance_up: float = TOLERANCE,
    tolerance_down: float = TOLERANCE,
    cpu_initialization_period: float = CPU_INITIALIZATION_PERIOD,
    initial_readiness_delay: float = INITIAL_READINESS_DELAY,
) -> MetricProposal:
    """``GetResourceReplicas``: ``ceil(ratio x readyPods)`` where ratio = utilisation / target.

    When pods were set aside, the ratio is recomputed with them filled in pessimistically for the
    direction of travel: on a scale-up, unready and missing pods count as 0% of their request; on
    a scale-down, missing pods count as 100% (or the target, if it is above 100%). If the new
    ratio is within tolerance or points the other way, the count stays. The reported utilisation
    is always the first (ready-pods-only) figure.
    """
    resource, target = metric.resource, metric.average_utilization
    lines: list[str] = []

    def fail(message: str) -> MetricProposal:
        error = f"failed to get {resource} utilization: {message}"
        return MetricProposal(metric, error=error, explanation=(*lines, error))

    samples = {p.name: p.usage[resource] for p in pods if resource in p.usage}
    if not samples:
        return fail(f"unable to get metrics for resource {resource}: {ERR_NO_METRICS_API}")
    if not pods:
        return fail(ERR_NO_PODS)
    groups = group_pods(
        pods,
        resource=resource,
        now=now,
        cpu_initialization_period=cpu_initialization_period,
        initial_readiness_delay=initial_readiness_delay,
    )
    for name in groups.ignored | groups.unready:
        samples.pop(name, None)
    if not samples:
        return fail(ERR_NO_READY_METRICS)
    requests: dict[str, int] = {}
    for pod in pods:
        if resource not in pod.requests:
            return fail(
                ERR_MISSING_REQUEST.format(resource=resource, container=pod.container, pod=pod.name)
            )
        requests[pod.name] = pod.requests[resource]

    utilization, average = _utilization(samples, requests)
    ratio = utilization / target
    lines.append(
        f"{len(samples)} pod(s) with metrics use {utilization}% of their {resource} request "
        f"on average; target {target}%: ratio {ratio:.3f}"
    )
    if groups.ignored:
        lines.append(f"ignored (deleting or Failed): {', '.join(sorted(groups.ignored))}")
    if groups.unready:
        lines.append(f"not yet ready, set aside: {', '.join(sorted(groups.unready))}")
    if groups.missing:
        lines.append(f"no metrics yet, set aside: {', '.join(sorted(groups.missing))}")

    def result(replicas: int) -> MetricProposal:
        return MetricProposal(metric, replicas, utilization, average, None, tuple(lines))

    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if _within_tolerance(ratio, tolerance_up, tolerance_down):
            lines.append(
                f"|1 - {ratio:.3f}| is within the tolerance: keep {current_replicas} replicas"
            )
            return result(current_replicas)
        replicas = math.ceil(ratio * groups.ready_count)
        lines.append(f"ceil({ratio:.3f} x {groups.ready_count} ready pods) = {replicas}")
        return result(replicas)

    if groups.missing:
        if ratio < 1.0:
            fallback = max(100, target)
            for name in groups.missing:
                samples[name] = requests[name] * fallback // 100
            lines.append(f"scaling down: pods without metrics count as {fallback}% of request")
        elif ratio > 1.0:
            for name in groups.missing:
                samples[name] = 0
            lines.append("scaling up: pods without metrics count as 0% of request")
    if scale_up_with_unready:
        for name in groups.unready:
            samples[name] = 0
        lines.append("scaling up: unready pods count as 0% of request")

    new_utilization, _ = _utilization(samples, requests)
    new_ratio = new_utilization / target
    lines.append(f"recomputed over {len(samples)} pods: {new_utilization}%, ratio {new_ratio:.3f}")
    if (
        _within_tolerance(new_ratio, tolerance_up, tolerance_down)
        or (ratio < 1.0 < new_ratio)
        or (ratio > 1.0 > new_ratio)
    ):
        lines.append(
            f"the recomputed ratio is within tolerance or reverses direction: keep "
            f"{current_replicas} replicas"
        )
        return result(current_replicas)
    replicas = math.ceil(new_ratio * len(samples))
    if (new_ratio < 1.0 and replicas > current_replicas) or (
        new_ratio > 1.0 and replicas < current_replicas
    ):
        lines.append(
            f"ceil({new_ratio:.3f} x {len(samples)}) = {replicas} would move the wrong way: "
            f"keep {current_replicas} replicas"
        )
        return result(current_replicas)
    lines.append(f"ceil({new_ratio:.3f} x {len(samples)} pods) = {replicas}")
    return result(replicas)


# --- normalisation: stabilisation and rate limits -------------------------------------------


def _change_in_period(events: tuple[ScaleEvent, ...], period: float, now: float) -> int:
    """``getReplicasChangePerPeriod``: replicas changed by events strictly after now - period."""
    cutoff = now - period
    return sum(e.change for e in events if e.time > cutoff)


def scale_up_limit(*, current: int, rules: ScalingRules, history: HpaHistory, now: float) -> int:
    """``calculateScaleUpLimitWithScalingRules``: for each policy, the replica count at the start
    of its period (current minus what was added plus what was removed in it), plus the policy's
    pods or ceil(start x (1 + percent/100)); Max takes the largest, Min the smallest; Disabled
    allows no growth."""
    if rules.select_policy == "Disabled":
        return current
    proposals = []
    for policy in rules.policies:
        start = (
            current
            - _change_in_period(history.scale_up_events, policy.period_seconds, now)
            + _change_in_period(history.scale_down_events, policy.period_seconds, now)
        )
        if policy.type == "Pods":
            proposals.append(start + policy.value)
        else:
            proposals.append(math.ceil(start * (1 + policy.value / 100)))
    return min(proposals) if rules.select_policy == "Min" else max(proposals)


def scale_down_limit(*, current: int, rules: ScalingRules, history: HpaHistory, now: float) -> int:
    """``calculateScaleDownLimitWithBehaviors``: per policy, the period-start count minus the
    policy's pods, or int(start x (1 - percent/100)) (truncated); Max picks the lowest floor (the
    biggest change), Min the highest; Disabled allows no shrinking."""
    if rules.select_policy == "Disabled":
        return current
    proposals = []
    for policy in rules.policies:
        start = (
            current
            - _change_in_period(history.scale_up_events, policy.period_seconds, now)
            + _change_in_period(history.scale_down_events, policy.period_seconds, now)
        )
        if policy.type == "Pods":
            proposals.append(start - policy.value)
        else:
            proposals.append(int(start * (1 - policy.value / 100)))
    return max(proposals) if rules.select_policy == "Min" else min(proposals)


def _windows(spec: HpaSpec, downscale_stabilization: float) -> tuple[float, float]:
    if spec.behavior is None:
        return 0.0, downscale_stabilization
    up = spec.behavior.scale_up.stabilization_window_seconds or 0
    down = spec.behavior.scale_down.stabilization_window_seconds
    return float(up), float(downscale_stabilization if down is None else down)


def stabilize(
    *,
    spec: HpaSpec,
    current: int,
    desired: int,
    history: HpaHistory,
    now: float,
    downscale_stabilization: float = DOWNSCALE_STABILIZATION,
) -> tuple[int, Condition, HpaHistory]:
    """``stabilizeRecommendationWithBehaviors`` (or the legacy ``stabilizeRecommendation``):
    the scale-up bound is the lowest recommendation in the up window, the scale-down bound the
    highest in the down window, both including this one; the current count is pushed to within
    them. This sync's raw recommendation joins the history; samples older than both windows are
    forgotten."""
    up_window, down_window = _windows(spec, downscale_stabilization)
    up_cut, down_cut = now - up_window, now - down_window
    up_bound = down_bound = desired
    for rec in history.recommendations:
        if spec.behavior is not None and rec.time > up_cut:
            up_bound = min(up_bound, rec.replicas)
        # horizontal.go keeps a sample exactly at the cutoff on the legacy path only.
        in_down = rec.time >= down_cut if spec.behavior is None else rec.time > down_cut
        if in_down:
            down_bound = max(down_bound, rec.replicas)
    # The legacy path has no up window: it just takes the highest recent recommendation.
    legacy = spec.behavior is None
    stabilized = down_bound if legacy else min(max(current, up_bound), down_bound)
    kept = tuple(r for r in history.recommendations if not (r.time < up_cut and r.time < down_cut))
    history = replace(history, recommendations=(*kept, Recommendation(now, desired)))
    if stabilized == desired:
        cond = Condition("AbleToScale", "True", "ReadyForNewScale", MSG_READY_FOR_NEW_SCALE)
    elif desired >= current and spec.behavior is not None:
        cond = Condition("AbleToScale", "True", "ScaleUpStabilized", MSG_SCALE_UP_STABILIZED)
    else:
        cond = Condition("AbleToScale", "True", "ScaleDownStabilized", MSG_SCALE_DOWN_STABILIZED)
    return stabilized, cond, history


def limit_rate(  # noqa: PLR0912 - both paths of horizontal.go side by side
    *, spec: HpaSpec, current: int, desired: int, history: HpaHistory, now: float
) -> tuple[int, Condition]:
    """``convertDesiredReplicasWithBehaviorRate`` (or the legacy ``convertDesiredReplicasWith
    Rules``): clamp to [min, max] and to the scale-rate limit, naming which bound bit."""
    lo, hi = spec.min_replicas, spec.max_replicas
    if spec.behavior is None:
        cap = int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))
        if hi > cap:
            top, reason, message = cap, "ScaleUpLimit", MSG_SCALE_UP_LIMIT
        else:
            top, reason, message = hi, "TooManyReplicas", MSG_TOO_MANY
        if desired < lo:
            return lo, Condition("ScalingLimited", "True", "TooFewReplicas", MSG_TOO_FEW)
        if desired > top:
            return top, Condition("ScalingLimited", "True", reason, message)
    elif desired > current:
        cap = max(
            scale_up_limit(current=current, rules=spec.behavior.scale_up, history=history, now=now),
            current,
        )
        if hi > cap:
            top, reason, message = cap, "ScaleUpLimit", MSG_SCALE_UP_LIMIT
        else:
            top, reason, message = hi, "TooManyReplicas", MSG_TOO_MANY
        if desired > top:
            return top, Condition("ScalingLimited", "True", reason, message)
    elif desired < current:
        floor = min(
            scale_down_limit(
                current=current, rules=spec.behavior.scale_down, history=history, now=now
            ),
            current,
        )
        if lo < floor:
            bottom, reason, message = floor, "ScaleDownLimit", MSG_SCALE_DOWN_LIMIT
        else:
            bottom, reason, message = lo, "TooFewReplicas", MSG_TOO_FEW
        if desired < bottom:
            return bottom, Condition("ScalingLimited", "True", reason, message)
    return desired, Condition("ScalingLimited", "False", "DesiredWithinRange", MSG_WITHIN_RANGE)


def _record_scale_event(
    spec: HpaSpec, history: HpaHistory, before: int, after: int, now: float
) -> HpaHistory:
    """``storeScaleEvent``: only HPAs with a behavior keep events, and only as long as the
    longest policy period of that direction needs them."""
    if spec.behavior is None or before == after:
        return history
    if after > before:
        keep = max((p.period_seconds for p in spec.behavior.scale_up.policies), default=0)
        events = tuple(e for e in history.scale_up_events if e.time >= now - keep)
        return replace(history, scale_up_events=(*events, ScaleEvent(now, after - before)))
    keep = max((p.period_seconds for p in spec.behavior.scale_down.policies), default=0)
    events = tuple(e for e in history.scale_down_events if e.time >= now - keep)
    return replace(history, scale_down_events=(*events, ScaleEvent(now, before - after)))


# --- one sync -------------------------------------------------------------------------------


def _tolerances(spec: HpaSpec, tolerance: float) -> tuple[float, float]:
    if spec.behavior is None:
        return tolerance, tolerance
    up = spec.behavior.scale_up.tolerance
    down = spec.behavior.scale_down.tolerance
    return (tolerance if up is None else up), (tolerance if down is None else down)


def _first_sight(history: HpaHistory, current: int, now: float) -> HpaHistory:
    """``recordInitialRecommendation``: an HPA seen for the first time remembers the current
    count, so a new HPA over an idle target still waits out the scale-down window."""
    if history.recommendations:
        return history
    return replace(history, recommendations=(Recommendation(now, current),))


def _pick_proposal(
    proposals: tuple[MetricProposal, ...],
) -> tuple[MetricProposal | None, list[MetricProposal]]:
    """``computeReplicasForMetrics``: the largest proposal wins; failures are returned apart."""
    best: MetricProposal | None = None
    invalid = []
    for p in proposals:
        if p.error is not None:
            invalid.append(p)
        elif best is None or p.replicas > best.replicas:
            best = p
    return best, invalid


def hpa_decide(
    *,
    spec: HpaSpec,
    current_replicas: int,
    pods: list[PodSample] | tuple[PodSample, ...],
    history: HpaHistory,
    now: float,
    tolerance: float = TOLERANCE,
    downscale_stabilization: float = DOWNSCALE_STABILIZATION,
    cpu_initialization_period: float = CPU_INITIALIZATION_PERIOD,
    initial_readiness_delay: float = INITIAL_READINESS_DELAY,
) -> HpaDecision:
    """One ``reconcileAutoscaler`` pass for a target whose ``spec.replicas`` is
    ``current_replicas``: conditions, the desired count, the events, and the new history.

    An empty ``history`` means the controller has never seen this HPA. Order as in
    horizontal.go: a target scaled to 0 disables the HPA (``ScalingDisabled``); a
    count above max or below min is brought into range without looking at metrics; otherwise
    every metric proposes a count (the largest wins; if all fail, or some fail and the rest
    would scale down, nothing happens), then stabilisation, then rate limits and min/max.
    """
    conditions: dict[str, Condition] = {}
    events: list[Event] = []
    lines: list[str] = []
    proposals: tuple[MetricProposal, ...] = ()
    reason = ""

    def decision(desired: int, rescale: bool, new_history: HpaHistory) -> HpaDecision:
        new_history = (
            _record_scale_event(spec, new_history, current_replicas, desired, now)
            if rescale
            else new_history
        )
        if rescale:
            conditions["AbleToScale"] = Condition(
                "AbleToScale",
                "True",
                "SucceededRescale",
                f"the HPA controller was able to update the target scale to {desired}",
            )
            events.append(
                Event("Normal", "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
            )
            lines.append(f"rescale {current_replicas} -> {desired}: {reason}")
        else:
            lines.append(f"no rescale: stays at {current_replicas}")
        order = ("AbleToScale", "ScalingActive", "ScalingLimited")
        return HpaDecision(
            current_replicas=current_replicas,
            desired_replicas=desired if rescale else current_replicas,
            rescale=rescale,
            reason=reason if rescale else "",
            conditions=tuple(conditions[t] for t in order if t in conditions),
            events=tuple(events),
            proposals=proposals,
            history=new_history,
            explanation=tuple(lines),
        )

    conditions["AbleToScale"] = Condition(
        "AbleToScale",
        "True",
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale",
    )
    history = _first_sight(history, current_replicas, now)
    if current_replicas == 0 and spec.min_replicas != 0:
        conditions["ScalingActive"] = Condition(
            "ScalingActive", "False", "ScalingDisabled", MSG_SCALING_DISABLED
        )
        lines.append("the target was scaled to 0 by hand: autoscaling is off until it is not")
        return decision(0, False, history)
    if current_replicas > spec.max_replicas:
        reason = MSG_ABOVE_MAX
        return decision(spec.max_replicas, True, history)
    if current_replicas < spec.min_replicas:
        reason = MSG_BELOW_MIN
        return decision(spec.min_replicas, True, history)

    up_tol, down_tol = _tolerances(spec, tolerance)
    proposals = tuple(
        resource_replicas(
            current_replicas=current_replicas,
            metric=metric,
            pods=pods,
            now=now,
            tolerance_up=up_tol,
            tolerance_down=down_tol,
            cpu_initialization_period=cpu_initialization_period,
            initial_readiness_delay=initial_readiness_delay,
        )
        for metric in spec.metrics
    )
    best, invalid = _pick_proposal(proposals)
    events.extend(Event("Warning", "FailedGetResourceMetric", p.error or "") for p in invalid)
    for p in proposals:
        lines.extend(f"{p.metric.name}: {line}" for line in p.explanation)
    if invalid and (best is None or best.replicas < current_replicas):
        first = invalid[0]
        conditions["ScalingActive"] = Condition(
            "ScalingActive",
            "False",
            "FailedGetResourceMetric",
            f"the HPA was unable to compute the replica count: {first.error}",
        )
        events.append(
            Event(
                "Warning",
                "FailedComputeMetricsReplicas",
                f"invalid metrics ({len(invalid)} invalid out of {len(proposals)}), "
                f"first error is: {first.error}",
            )
        )
        lines.append("no usable metric (or only a scale-down among failures): nothing changes")
        return decision(current_replicas, False, history)
    assert best is not None
    conditions["ScalingActive"] = Condition(
        "ScalingActive",
        "True",
        "ValidMetricFound",
        f"the HPA was able to successfully calculate a replica count from {best.metric.name}",
    )
    proposed = best.replicas
    if proposed > current_replicas:
        reason = f"{best.metric.name} above target"
    elif proposed < current_replicas:
        reason = MSG_ALL_BELOW
    lines.append(f"the metrics propose {proposed} replicas")

    stabilized, able, new_history = stabilize(
        spec=spec,
        current=current_replicas,
        desired=proposed,
        history=history,
        now=now,
        downscale_stabilization=downscale_stabilization,
    )
    conditions["AbleToScale"] = able
    if stabilized != proposed:
        lines.append(f"stabilisation window holds it at {stabilized} ({able.reason})")
    limited, limit = limit_rate(
        spec=spec, current=current_replicas, desired=stabilized, history=history, now=now
    )
    conditions["ScalingLimited"] = limit
    if limited != stabilized:
        lines.append(f"limited to {limited}: {limit.reason} ({limit.message})")
    return decision(limited, limited != current_replicas, new_history)
