"""HorizontalPodAutoscaler writes: admission as kube-apiserver's autoscaling registry does it,
and the dashboard's create / edit / delete.

- ``pkg/apis/autoscaling/v2/defaults.go``: ``minReplicas`` 1; no ``metrics`` means CPU at 80%
  utilisation; a given ``behavior`` has its missing direction (and fields) filled with the
  default rules (scale up: 4 pods or 100% per 15 s, no stabilisation; scale down: 100% per
  15 s); no ``behavior`` stays absent (the controller then uses its legacy rules).
- ``pkg/apis/autoscaling/validation``: ``scaleTargetRef`` kind and name required,
  ``minReplicas >= 1``, ``maxReplicas >= minReplicas``, metric sources and targets, the
  behaviour's policies and windows, with the apiserver's words.

Stored objects are autoscaling/v2; autoscaling/v1 bodies are converted at the API edge.
"""

from __future__ import annotations

import copy
from typing import Any

from cluster import containers, k8s
from cluster.models import Cluster, KubeObject
from cluster.services import objects
from cluster.services.errors import Invalid

KIND = "HorizontalPodAutoscaler"
API_VERSION = "autoscaling/v2"
DEFAULT_CPU_UTILIZATION = 80
METRIC_TYPES = ("ContainerResource", "External", "Object", "Pods", "Resource")
TARGET_TYPES = ("AverageValue", "Utilization", "Value")
POLICY_TYPES = ("Percent", "Pods")
SELECT_POLICIES = ("Disabled", "Max", "Min")
MAX_PERIOD = 1800
MAX_WINDOW = 3600

ERR_REQUIRED = "Required value"
ERR_MIN_REPLICAS = "Invalid value: {value}: must be greater than or equal to 1"
ERR_MAX_REPLICAS = "Invalid value: {value}: must be greater than or equal to `minReplicas`"
ERR_MAX_POSITIVE = "Invalid value: {value}: must be greater than 0"
ERR_UTILIZATION = "Invalid value: {value}: must be greater than 0"


def _rules(given: dict | None, *, up: bool) -> dict:
    """GenerateHPAScaleUpRules / GenerateHPAScaleDownRules: the given fields win."""
    if up:
        default: dict = {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ],
        }
    else:
        default = {
            "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        }
    rules = {**default, **{k: v for k, v in (given or {}).items() if v is not None}}
    if not rules.get("policies"):
        rules["policies"] = default["policies"]
    return rules


def hpa_apply_defaults(body: dict) -> None:
    """SetDefaults_HorizontalPodAutoscaler (v2), in place."""
    spec = body.setdefault("spec", {})
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [cpu_metric(DEFAULT_CPU_UTILIZATION)]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _rules(behavior.get("scaleUp"), up=True)
        behavior["scaleDown"] = _rules(behavior.get("scaleDown"), up=False)


def cpu_metric(utilization: int) -> dict:
    return {
        "type": "Resource",
        "resource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": utilization},
        },
    }


def _choices(values: tuple[str, ...]) -> str:
    return ", ".join(f'"{v}"' for v in values)


def _unsupported(value: Any, allowed: tuple[str, ...]) -> str:
    return f'Unsupported value: "{value}": supported values: {_choices(allowed)}'


def _too_big(value: Any, limit: int) -> str:
    return f"Invalid value: {value}: must be less than or equal to {limit}"


def _target_errors(path: str, target: Any) -> list[dict]:
    if not isinstance(target, dict):
        return [{"field": path, "message": ERR_REQUIRED}]
    errs = []
    ttype = target.get("type")
    if not ttype:
        errs.append(
            {
                "field": f"{path}.type",
                "message": "Required value: must specify a metric target type",
            }
        )
    elif ttype not in TARGET_TYPES:
        errs.append(
            {
                "field": f"{path}.type",
                "message": _unsupported(ttype, TARGET_TYPES),
            }
        )
    util = target.get("averageUtilization")
    if util is not None and (not isinstance(util, int) or util < 1):
        errs.append(
            {"field": f"{path}.averageUtilization", "message": ERR_UTILIZATION.format(value=util)}
        )
    if ttype == "Utilization" and util is None:
        errs.append(
            {
                "field": f"{path}.averageUtilization",
                "message": "Required value: must set either a target raw value or a target "
                "utilization",
            }
        )
    return errs


def _metric_errors(i: int, metric: Any) -> list[dict]:
    path = f"spec.metrics[{i}]"
    if not isinstance(metric, dict) or not metric.get("type"):
        return [
            {
                "field": f"{path}.type",
                "message": "Required value: must specify a metric source type",
            }
        ]
    mtype = metric["type"]
    if mtype not in METRIC_TYPES:
        return [
            {
                "field": f"{path}.type",
                "message": _unsupported(mtype, METRIC_TYPES),
            }
        ]
    if mtype != "Resource":
        return []  # stored as given; the simulated controller reports it cannot read it
    source = metric.get("resource")
    if not isinstance(source, dict):
        return [
            {
                "field": f"{path}.resource",
                "message": "Required value: must populate information for the given metric source",
            }
        ]
    errs = []
    if not source.get("name"):
        errs.append(
            {
                "field": f"{path}.resource.name",
                "message": "Required value: must specify a resource name",
            }
        )
    return errs + _target_errors(f"{path}.resource.target", source.get("target"))


def _rules_errors(path: str, rules: Any) -> list[dict]:
    if not isinstance(rules, dict):
        return []
    errs = []
    window = rules.get("stabilizationWindowSeconds")
    if window is not None and isinstance(window, int):
        if window < 0:
            errs.append(
                {
                    "field": f"{path}.stabilizationWindowSeconds",
                    "message": f"Invalid value: {window}: must be greater than or equal to zero",
                }
            )
        elif window > MAX_WINDOW:
            errs.append(
                {
                    "field": f"{path}.stabilizationWindowSeconds",
                    "message": _too_big(window, MAX_WINDOW),
                }
            )
    select = rules.get("selectPolicy")
    if select is not None and select not in SELECT_POLICIES:
        errs.append(
            {
                "field": f"{path}.selectPolicy",
                "message": _unsupported(select, SELECT_POLICIES),
            }
        )
    for j, policy in enumerate(rules.get("policies") or []):
        ppath = f"{path}.policies[{j}]"
        if not isinstance(policy, dict):
            continue
        ptype = policy.get("type")
        if ptype not in POLICY_TYPES:
            errs.append(
                {
                    "field": f"{ppath}.type",
                    "message": _unsupported(ptype, POLICY_TYPES),
                }
            )
        value = policy.get("value")
        if not isinstance(value, int) or value <= 0:
            errs.append(
                {
                    "field": f"{ppath}.value",
                    "message": f"Invalid value: {value}: must be greater than zero",
                }
            )
        period = policy.get("periodSeconds")
        if not isinstance(period, int) or period <= 0:
            errs.append(
                {
                    "field": f"{ppath}.periodSeconds",
                    "message": f"Invalid value: {period}: must be greater than zero",
                }
            )
        elif period > MAX_PERIOD:
            errs.append(
                {
                    "field": f"{ppath}.periodSeconds",
                    "message": _too_big(period, MAX_PERIOD),
                }
            )
    return errs


def hpa_validation_errors(body: dict) -> list[dict]:
    """ValidateHorizontalPodAutoscaler's causes for a defaulted v2 body."""
    spec = body.get("spec") or {}
    errs: list[dict] = []
    ref = spec.get("scaleTargetRef")
    if not isinstance(ref, dict):
        ref = {}
    if not ref.get("kind"):
        errs.append({"field": "spec.scaleTargetRef.kind", "message": ERR_REQUIRED})
    if not ref.get("name"):
        errs.append({"field": "spec.scaleTargetRef.name", "message": ERR_REQUIRED})
    else:
        errs.extend(
            {"field": "spec.scaleTargetRef.name", "message": f'Invalid value: "{ref["name"]}": {m}'}
            for m in k8s.name_errors(str(ref["name"]))
        )
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    if isinstance(low, int) and low < 1:
        errs.append({"field": "spec.minReplicas", "message": ERR_MIN_REPLICAS.format(value=low)})
    if not isinstance(high, int):
        errs.append({"field": "spec.maxReplicas", "message": ERR_REQUIRED})
    elif high < 1:
        errs.append({"field": "spec.maxReplicas", "message": ERR_MAX_POSITIVE.format(value=high)})
    elif isinstance(low, int) and high < low:
        errs.append({"field": "spec.maxReplicas", "message": ERR_MAX_REPLICAS.format(value=high)})
    for i, metric in enumerate(spec.get("metrics") or []):
        errs.extend(_metric_errors(i, metric))
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        errs.extend(_rules_errors("spec.behavior.scaleUp", behavior.get("scaleUp")))
        errs.extend(_rules_errors("spec.behavior.scaleDown", behavior.get("scaleDown")))
    return errs


def hpa_admit(body: dict) -> None:
    """Admission of a new or updated HPA (mutates ``body``): defaults, then validation."""
    hpa_apply_defaults(body)
    errs = hpa_validation_errors(body)
    if errs:
        name = body.get("metadata", {}).get("name", "")
        detail = ", ".join(f"{c['field']}: {c['message']}" for c in errs)
        raise Invalid(
            f'{KIND}.autoscaling "{name}" is invalid: {detail}', causes=errs, kind=KIND, name=name
        )


# --- the dashboard's writes ------------------------------------------------------------------


def _body(*, namespace: str, name: str, target: str, low: int, high: int, cpu: int) -> dict:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
            "minReplicas": low,
            "maxReplicas": high,
            "metrics": [cpu_metric(cpu)],
        },
    }


def hpa_create(
    *,
    cluster: Cluster,
    namespace: str,
    deployment: str,
    min_replicas: int,
    max_replicas: int,
    cpu_percent: int,
    actor: str = "user",
) -> KubeObject:
    """``kubectl autoscale deployment NAME --min --max --cpu-percent``: an HPA named after its
    Deployment."""
    body = _body(
        namespace=namespace,
        name=deployment,
        target=deployment,
        low=min_replicas,
        high=max_replicas,
        cpu=cpu_percent,
    )
    return objects.object_create(cluster=cluster, body=body, namespace=namespace, actor=actor)


def hpa_update(
    *,
    cluster: Cluster,
    namespace: str,
    name: str,
    min_replicas: int,
    max_replicas: int,
    cpu_percent: int,
    actor: str = "user",
) -> KubeObject:
    """Change an HPA's bounds and CPU target (the rest of its spec is kept)."""
    obj = objects.object_get(cluster=cluster, kind=KIND, namespace=namespace, name=name)
    body = copy.deepcopy(obj.body)
    spec = body["spec"]
    spec["minReplicas"], spec["maxReplicas"] = min_replicas, max_replicas
    others = [
        m for m in spec.get("metrics") or [] if (m.get("resource") or {}).get("name") != "cpu"
    ]
    spec["metrics"] = [cpu_metric(cpu_percent), *others]
    return objects.object_replace(
        cluster=cluster, kind=KIND, namespace=namespace, name=name, body=body, actor=actor
    )


def hpa_delete(*, cluster: Cluster, namespace: str, name: str, actor: str = "user") -> None:
    objects.object_delete(cluster=cluster, kind=KIND, namespace=namespace, name=name, actor=actor)


def deployment_cpu_burn_set(
    *, cluster: Cluster, namespace: str, name: str, cpu: str, actor: str = "user"
) -> KubeObject:
    """Make every pod of a Deployment burn ``cpu`` (a quantity; empty: none) on top of its
    load: the ``cpu`` clause of its template's behaviour, other clauses kept. A template change,
    so it rolls out, as any template change does."""
    from cluster.services.pods import deployment_behavior_set  # noqa: PLC0415 - pods imports objects

    dep = objects.object_get(cluster=cluster, kind="Deployment", namespace=namespace, name=name)
    template = dep.body.get("spec", {}).get("template") or {}
    current = ((template.get("metadata") or {}).get("annotations") or {}).get(
        containers.BEHAVIOR_ANNOTATION, ""
    )
    behavior = containers.behavior_with(current, "cpu", f"cpu {cpu}" if cpu else "")
    return deployment_behavior_set(
        cluster=cluster, namespace=namespace, name=name, behavior=behavior, actor=actor
    )
