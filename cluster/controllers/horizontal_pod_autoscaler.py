"""HorizontalPodAutoscaler controller (kube-controller-manager): scales a Deployment or ReplicaSet
on its pods' CPU utilisation.

Models ``pkg/controller/podautoscaler/horizontal.go`` (``reconcileAutoscaler``) with the
replica calculator of ``replica_calculator.go``; the arithmetic is the pure ``cluster/hpa.py``
(``hpa_decide``), see docs/autoscaling.md and ../shared/k8s-reference.md §5:

- Every HPA is synced every ``--horizontal-pod-autoscaler-sync-period`` (15 s of simulated time):
  one wakeup per HPA, re-armed by each sync; a change to the HPA syncs it at once (a status write
  of our own does not make a second decision inside the period).
- A sync reads the target's scale (``spec.replicas`` and its selector), the pods its selector
  matches (one query) and their metrics-server samples (``metrics_selectors.pods_usage``), builds
  ``PodSample``s and asks ``hpa_decide``. A rescale goes through ``objects.object_scale``, the
  service behind ``kubectl scale`` and the scale subresource.
- ``status`` (currentReplicas, desiredReplicas, currentMetrics, conditions AbleToScale /
  ScalingActive / ScalingLimited, lastScaleTime, observedGeneration) is written only when it
  changed; conditions keep their lastTransitionTime while their status holds.
- Events as the controller words them: ``SuccessfulRescale`` ("New size: 4; reason: cpu resource
  utilization (percentage of request) above target"), ``FailedGetResourceMetric``,
  ``FailedComputeMetricsReplicas``, ``FailedGetScale``.
- The recommendation and scale-event history lives in the controller's memory (``ctx.state``):
  a restarted kube-controller-manager starts with none, as the real one does (so a fresh start
  may scale down without waiting out the window it had seen before).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from cluster import hpa, k8s, metrics_selectors
from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change, KubeObject
from cluster.scheduling.quantity import QuantityError, parse_cpu, parse_memory
from cluster.services import objects, store
from cluster.services.components import STARTED_AT
from cluster.services.errors import ServiceError
from cluster.services.k8s_events import event_record

KIND = "HorizontalPodAutoscaler"
COMPONENT = "horizontal-pod-autoscaler"
MEMORY_KEY = "hpa"
SCALABLE = {"Deployment", "ReplicaSet"}
CONDITION_ORDER = ("AbleToScale", "ScalingActive", "ScalingLimited")
MAX_DECISIONS = 8


def _time(value: Any) -> float | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# --- reading the objects into hpa.py's dataclasses ----------------------------------------------


def _rules(raw: dict | None, default: hpa.ScalingRules) -> hpa.ScalingRules:
    if not raw:
        return default
    policies = tuple(
        hpa.ScalingPolicy(p["type"], int(p["value"]), int(p["periodSeconds"]))
        for p in raw.get("policies") or []
    )
    return hpa.ScalingRules(
        policies=policies or default.policies,
        select_policy=raw.get("selectPolicy", "Max"),
        stabilization_window_seconds=raw.get("stabilizationWindowSeconds"),
    )


def spec_of(body: dict) -> hpa.HpaSpec:
    """The stored (defaulted, v2) spec as ``hpa_decide`` takes it; only ``Resource`` metrics
    with a ``Utilization`` target are modelled."""
    spec = body.get("spec") or {}
    metrics = tuple(
        hpa.ResourceMetric(
            resource=m["resource"]["name"],
            average_utilization=int(m["resource"]["target"]["averageUtilization"]),
        )
        for m in spec.get("metrics") or []
        if m.get("type") == "Resource"
        and (m.get("resource") or {}).get("target", {}).get("type") == "Utilization"
    )
    raw = spec.get("behavior")
    behavior = (
        hpa.Behavior(
            scale_up=_rules(raw.get("scaleUp"), hpa.DEFAULT_SCALE_UP),
            scale_down=_rules(raw.get("scaleDown"), hpa.DEFAULT_SCALE_DOWN),
        )
        if raw
        else None
    )
    return hpa.HpaSpec(
        max_replicas=int(spec.get("maxReplicas", 1)),
        min_replicas=int(spec.get("minReplicas", 1)),
        metrics=metrics,
        behavior=behavior,
    )


def _requests(pod: dict) -> tuple[dict[str, int], str]:
    """Summed container requests in milli-units; a resource missing from any container is
    absent (the calculator then names that container)."""
    totals: dict[str, int] = {"cpu": 0, "memory": 0}
    missing: dict[str, str] = {}
    first = ""
    for container in (pod.get("spec") or {}).get("containers") or []:
        first = first or container.get("name", "")
        requests = (container.get("resources") or {}).get("requests") or {}
        for resource, parse in (("cpu", parse_cpu), ("memory", parse_memory)):
            value = requests.get(resource)
            try:
                amount = parse(str(value)) if value not in (None, "") else None
            except QuantityError:
                amount = None
            if amount is None:
                missing.setdefault(resource, container.get("name", ""))
            else:
                totals[resource] += amount if resource == "cpu" else amount * 1000
    for resource in missing:
        totals.pop(resource)
    return totals, missing.get("cpu") or missing.get("memory") or first


def pod_samples(ctx: SyncContext, pods: list[KubeObject]) -> list[hpa.PodSample]:
    usage = {u.name: u for u in metrics_selectors.pods_usage(cluster=ctx.cluster, pods=pods)}
    samples = []
    for pod in pods:
        body = pod.body
        status = body.get("status") or {}
        ready = k8s.get_condition(status, "Ready")
        requests, container = _requests(body)
        sample = usage.get(pod.name)
        samples.append(
            hpa.PodSample(
                name=pod.name,
                requests=requests,
                usage=(
                    {"cpu": sample.cpu_millis, "memory": sample.memory_bytes * 1000}
                    if sample is not None
                    else {}
                ),
                phase=status.get("phase", "Pending"),
                ready=None if ready is None else ready.get("status") == "True",
                deleting=pod.deleting,
                start_time=_time(status.get("startTime")),
                ready_transition_time=_time((ready or {}).get("lastTransitionTime")) or 0.0,
                metric_time=sample.timestamp if sample is not None else None,
                container=container,
            )
        )
    return samples


# --- the controller's memory ---------------------------------------------------------------------


def _history_to_json(history: hpa.HpaHistory) -> dict:
    return {
        "recommendations": [[r.time, r.replicas] for r in history.recommendations],
        "up": [[e.time, e.change] for e in history.scale_up_events],
        "down": [[e.time, e.change] for e in history.scale_down_events],
    }


def _history_from_json(raw: dict | None) -> hpa.HpaHistory:
    raw = raw or {}
    return hpa.HpaHistory(
        recommendations=tuple(hpa.Recommendation(t, n) for t, n in raw.get("recommendations", [])),
        scale_up_events=tuple(hpa.ScaleEvent(t, n) for t, n in raw.get("up", [])),
        scale_down_events=tuple(hpa.ScaleEvent(t, n) for t, n in raw.get("down", [])),
    )


def _memory(ctx: SyncContext) -> dict:
    """Per-HPA memory of this process; a restart (a new STARTED_AT) forgets it."""
    epoch = ctx.state.get(STARTED_AT)
    mem = ctx.state.get(MEMORY_KEY)
    if not isinstance(mem, dict) or mem.get("epoch") != epoch:
        mem = {"epoch": epoch, "hpas": {}}
        ctx.state[MEMORY_KEY] = mem
    return mem["hpas"]


# --- status ------------------------------------------------------------------------------------


def _conditions(old: list[dict], new: tuple[hpa.Condition, ...], now: float) -> list[dict]:
    before = {c.get("type"): c for c in old or []}
    out = []
    for cond in sorted(new, key=lambda c: CONDITION_ORDER.index(c.type)):
        prev = before.get(cond.type)
        stamp = (
            prev["lastTransitionTime"]
            if prev and prev.get("status") == cond.status and prev.get("lastTransitionTime")
            else k8s.rfc3339(now)
        )
        out.append(
            {
                "type": cond.type,
                "status": cond.status,
                "lastTransitionTime": stamp,
                "reason": cond.reason,
                "message": cond.message,
            }
        )
    return out


def _current_metrics(decision: hpa.HpaDecision) -> list[dict]:
    out = []
    for p in decision.proposals:
        if p.error is not None or p.utilization is None:
            continue
        current: dict = {"averageUtilization": p.utilization}
        if p.average_value is not None:
            current["averageValue"] = (
                f"{p.average_value}m"
                if p.metric.resource == "cpu"
                else str(p.average_value // 1000)
            )
        out.append(
            {"type": "Resource", "resource": {"name": p.metric.resource, "current": current}}
        )
    return out


class HorizontalPodAutoscalerController(Controller):
    name = "horizontal-pod-autoscaler-controller"
    watches = (KIND,)

    def keys_for(self, change: Change) -> Iterable[str]:
        yield f"{change.namespace}/{change.name}"

    def all_keys(self, ctx: SyncContext) -> Iterable[str]:
        return [
            f"{ns}/{name}"
            for ns, name in ctx.objects(KIND).order_by("pk").values_list("namespace", "name")
        ]

    def sync(self, ctx: SyncContext, key: str) -> None:
        namespace, _, name = key.partition("/")
        memory = _memory(ctx)
        obj = ctx.get(KIND, name, namespace)
        if obj is None or obj.deleting:
            memory.pop(key, None)
            ctx.cancel(key)
            return
        seen = memory.get(key) or {}
        generation = obj.metadata.get("generation", 1)
        last = seen.get("last")
        if (
            last is not None
            and ctx.now < last + hpa.SYNC_PERIOD - 1e-6
            and seen.get("gen") == generation
        ):
            return  # our own status write, or a label change: the next periodic sync is set
        history = self._reconcile(ctx, obj, _history_from_json(seen.get("history")))
        memory[key] = {"last": ctx.now, "gen": generation, "history": _history_to_json(history)}
        ctx.reschedule(key, ctx.now + hpa.SYNC_PERIOD)

    # -- one reconcileAutoscaler ------------------------------------------------------------------

    def _event(
        self, ctx: SyncContext, obj: KubeObject, reason: str, message: str, warn: bool
    ) -> None:
        event_record(
            cluster=ctx.cluster,
            involved=obj.body,
            reason=reason,
            message=message,
            component=COMPONENT,
            type_="Warning" if warn else "Normal",
        )

    def _reconcile(
        self, ctx: SyncContext, obj: KubeObject, history: hpa.HpaHistory
    ) -> hpa.HpaHistory:
        spec = obj.spec
        ref = spec.get("scaleTargetRef") or {}
        kind, target_name = ref.get("kind", ""), ref.get("name", "")
        target = ctx.get(kind, target_name, obj.namespace) if kind in SCALABLE else None
        if target is None:
            label = objects.resource_label(kind) if kind in SCALABLE else kind.lower()
            error = f'{label} "{target_name}" not found'
            if kind not in SCALABLE:
                error = f'no matches for kind "{kind}" in group ""'
            self._event(ctx, obj, "FailedGetScale", error, warn=True)
            cond = hpa.Condition(
                "AbleToScale",
                "False",
                "FailedGetScale",
                f"the HPA controller was unable to get the target's current scale: {error}",
            )
            self._write_status(
                ctx, obj, conditions=(cond,), current=None, desired=None, metrics=None
            )
            return history
        current = int(target.spec.get("replicas", 1))
        selector = target.spec.get("selector") or {}
        # The target's namespace holds few pods; the label match is the selector's own.
        pods = [
            p
            for p in ctx.objects("Pod").filter(namespace=obj.namespace).order_by("name")
            if k8s.selector_matches(selector, p.metadata.get("labels") or {})
        ]
        for pod in pods:
            pod.cluster = ctx.cluster
        hpa_spec = spec_of(obj.body)
        if not hpa_spec.metrics:
            cond = hpa.Condition(
                "ScalingActive",
                "False",
                "InvalidMetricSourceType",
                "the HPA was unable to compute the replica count: only Resource metrics with a "
                "Utilization target are simulated",
            )
            self._write_status(
                ctx, obj, conditions=(cond,), current=current, desired=current, metrics=[]
            )
            return history
        decision = hpa.hpa_decide(
            spec=hpa_spec,
            current_replicas=current,
            pods=pod_samples(ctx, pods),
            history=history,
            now=ctx.now,
        )
        scaled = False
        if decision.rescale:
            try:
                objects.object_scale(
                    cluster=ctx.cluster,
                    kind=kind,
                    namespace=obj.namespace,
                    name=target_name,
                    replicas=decision.desired_replicas,
                    actor=self.name,
                )
                scaled = True
            except ServiceError as exc:
                self._event(
                    ctx,
                    obj,
                    "FailedRescale",
                    f"New size: {decision.desired_replicas}; reason: {decision.reason}; "
                    f"error: {exc}",
                    warn=True,
                )
                cond = hpa.Condition(
                    "AbleToScale",
                    "False",
                    "FailedUpdateScale",
                    f"the HPA controller was unable to update the target scale: {exc}",
                )
                conditions = (cond, *(c for c in decision.conditions if c.type != "AbleToScale"))
                self._write_status(
                    ctx,
                    obj,
                    conditions=conditions,
                    current=current,
                    desired=current,
                    metrics=_current_metrics(decision),
                )
                return history
        for event in decision.events:
            self._event(ctx, obj, event.reason, event.message, warn=event.type == "Warning")
        self._write_status(
            ctx,
            obj,
            conditions=decision.conditions,
            current=current,
            desired=decision.desired_replicas,
            metrics=_current_metrics(decision),
            scaled=scaled,
            note={
                "time": ctx.now,
                "from": current,
                "to": decision.desired_replicas,
                "rescale": scaled,
                "reason": decision.reason,
                "lines": list(decision.explanation),
            },
        )
        return decision.history

    def _write_status(
        self,
        ctx: SyncContext,
        obj: KubeObject,
        *,
        conditions: tuple[hpa.Condition, ...],
        current: int | None,
        desired: int | None,
        metrics: list[dict] | None,
        scaled: bool = False,
        note: dict | None = None,
    ) -> None:
        """Write status when it changed, and keep the last decisions (``sim.decisions``, what
        the dashboard explains) when one differs from the previous."""
        obj = ctx.get(KIND, obj.name, obj.namespace) or obj
        old = obj.body.get("status") or {}
        status: dict = {}
        if old.get("lastScaleTime"):
            status["lastScaleTime"] = old["lastScaleTime"]
        if scaled:
            status["lastScaleTime"] = k8s.rfc3339(ctx.now)
        status["observedGeneration"] = obj.metadata.get("generation", 1)
        status["currentReplicas"] = (
            current if current is not None else old.get("currentReplicas", 0)
        )
        status["desiredReplicas"] = (
            desired if desired is not None else old.get("desiredReplicas", 0)
        )
        if metrics:
            status["currentMetrics"] = metrics
        status["conditions"] = _conditions(old.get("conditions") or [], conditions, ctx.now)
        decisions = list((obj.sim or {}).get("decisions") or [])
        if note is not None:
            last = decisions[-1] if decisions else {}
            same = {k: last.get(k) for k in ("from", "to", "lines")} == {
                k: note[k] for k in ("from", "to", "lines")
            }
            if note["rescale"] or not same:
                decisions = [*decisions, note][-MAX_DECISIONS:]
        if status == old and decisions == (obj.sim or {}).get("decisions", []):
            return
        obj.body["status"] = status
        obj.sim = {**(obj.sim or {}), "decisions": decisions}
        store.object_update(obj=obj, actor=self.name)
