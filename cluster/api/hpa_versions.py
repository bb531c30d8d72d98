"""autoscaling/v1 HorizontalPodAutoscalers, converted to and from the stored autoscaling/v2.

As kube-apiserver's conversion (``pkg/apis/autoscaling/v1/conversion.go``) does it:
``spec.targetCPUUtilizationPercentage`` is the v2 CPU ``Resource`` metric with a
``Utilization`` target; ``status.currentCPUUtilizationPercentage`` is that metric's current
utilisation; the v2-only parts a v1 client cannot see (other metrics, the conditions) travel in
the ``autoscaling.alpha.kubernetes.io/...`` annotations. kubectl 1.32's ``autoscale`` creates
v1 objects; everything else reads the preferred v2.
"""

from __future__ import annotations

import contextlib
import copy
import json

from cluster.api.resources import Resource
from cluster.services.autoscaling import API_VERSION, KIND, cpu_metric

V1 = "autoscaling/v1"
CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior"
_V2_ONLY = (CONDITIONS_ANNOTATION, CURRENT_METRICS_ANNOTATION, METRICS_ANNOTATION)


def is_v1(res: Resource) -> bool:
    return res.kind == KIND and res.version == "v1"


def _is_cpu_utilization(metric: dict) -> bool:
    source = metric.get("resource") or {}
    return (
        metric.get("type") == "Resource"
        and source.get("name") == "cpu"
        and (source.get("target") or {}).get("type") == "Utilization"
    )


def to_v2(body: dict) -> dict:
    """A v1 body (as a client sent it) in the stored v2 shape."""
    out = copy.deepcopy(body)
    out["apiVersion"] = API_VERSION
    spec = out.setdefault("spec", {})
    annotations = (out.get("metadata") or {}).get("annotations") or {}
    metrics = []
    percent = spec.pop("targetCPUUtilizationPercentage", None)
    if percent is not None:
        metrics.append(cpu_metric(percent))
    extra = annotations.pop(METRICS_ANNOTATION, None)
    if extra:
        # not ours to validate: a v1 client's free-form annotation
        with contextlib.suppress(ValueError):
            metrics.extend(json.loads(extra))
    if metrics:
        spec["metrics"] = metrics
    behavior = annotations.pop(BEHAVIOR_ANNOTATION, None)
    if behavior:
        with contextlib.suppress(ValueError):
            spec["behavior"] = json.loads(behavior)
    for key in (CONDITIONS_ANNOTATION, CURRENT_METRICS_ANNOTATION):
        annotations.pop(key, None)
    status = out.get("status")
    if isinstance(status, dict):
        status.pop("currentCPUUtilizationPercentage", None)
    return out


def to_v1(body: dict) -> dict:
    """A stored v2 body as a v1 client reads it."""
    out = copy.deepcopy(body)
    out["apiVersion"] = V1
    meta = out.setdefault("metadata", {})
    spec = out.setdefault("spec", {})
    metrics = spec.pop("metrics", None) or []
    cpu = next((m for m in metrics if _is_cpu_utilization(m)), None)
    others = [m for m in metrics if m is not cpu]
    annotations = dict(meta.get("annotations") or {})
    if cpu is not None:
        spec["targetCPUUtilizationPercentage"] = cpu["resource"]["target"]["averageUtilization"]
    if others:
        annotations[METRICS_ANNOTATION] = json.dumps(others, separators=(",", ":"))
    behavior = spec.pop("behavior", None)
    if behavior:
        annotations[BEHAVIOR_ANNOTATION] = json.dumps(behavior, separators=(",", ":"))
    status = out.get("status")
    if isinstance(status, dict):
        current = status.pop("currentMetrics", None) or []
        conditions = status.pop("conditions", None)
        for metric in current:
            if (metric.get("resource") or {}).get("name") == "cpu":
                value = ((metric["resource"].get("current")) or {}).get("averageUtilization")
                if value is not None:
                    status["currentCPUUtilizationPercentage"] = value
        if conditions:
            annotations[CONDITIONS_ANNOTATION] = json.dumps(conditions, separators=(",", ":"))
        status.setdefault("currentReplicas", 0)
        status.setdefault("desiredReplicas", 0)
    if annotations:
        meta["annotations"] = annotations
    return out
