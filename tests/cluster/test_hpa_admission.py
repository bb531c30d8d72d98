"""HorizontalPodAutoscaler admission (cluster/services/autoscaling.py): the v2 defaults and the
apiserver's validation wording; the v1 <-> v2 conversion; the `kubectl get hpa` TARGETS cell."""

from __future__ import annotations

import copy

import pytest

from cluster.api import hpa_versions, tables
from cluster.services import autoscaling
from cluster.services.errors import Invalid


def hpa(**spec) -> dict:
    base = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "maxReplicas": 5,
    }
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {**base, **spec},
    }


def test_defaults_min_one_and_cpu_80_without_behavior() -> None:
    body = hpa()
    autoscaling.hpa_admit(body)
    assert body["spec"]["minReplicas"] == 1
    assert body["spec"]["metrics"] == [autoscaling.cpu_metric(80)]
    assert "behavior" not in body["spec"]


def test_a_given_behavior_is_completed_with_the_default_rules() -> None:
    body = hpa(behavior={"scaleDown": {"stabilizationWindowSeconds": 60}})
    autoscaling.hpa_admit(body)
    behavior = body["spec"]["behavior"]
    assert behavior["scaleUp"]["policies"] == [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ]
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 0
    assert behavior["scaleDown"] == {
        "selectPolicy": "Max",
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        "stabilizationWindowSeconds": 60,
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"scaleTargetRef": {}}, "spec.scaleTargetRef.kind: Required value"),
        ({"scaleTargetRef": {"kind": "Deployment"}}, "spec.scaleTargetRef.name: Required value"),
        (
            {"minReplicas": 0},
            "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
        ),
        (
            {"minReplicas": 6},
            "spec.maxReplicas: Invalid value: 5: must be greater than or equal to `minReplicas`",
        ),
        ({"maxReplicas": 0}, "spec.maxReplicas: Invalid value: 0: must be greater than 0"),
        (
            {"metrics": [autoscaling.cpu_metric(0)]},
            "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be "
            "greater than 0",
        ),
        (
            {"metrics": [{"type": "Magic"}]},
            'spec.metrics[0].type: Unsupported value: "Magic"',
        ),
        (
            {
                "behavior": {
                    "scaleUp": {"policies": [{"type": "Pods", "value": 0, "periodSeconds": 15}]}
                }
            },
            "spec.behavior.scaleUp.policies[0].value: Invalid value: 0: must be greater than zero",
        ),
        (
            {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 4000}}},
            "spec.behavior.scaleDown.stabilizationWindowSeconds: Invalid value: 4000: must be "
            "less than or equal to 3600",
        ),
    ],
    ids=[
        "no-kind",
        "no-name",
        "min-0",
        "max-below-min",
        "max-0",
        "util-0",
        "type",
        "policy",
        "window",
    ],
)
def test_validation_errors(spec: dict, message: str) -> None:
    with pytest.raises(Invalid) as err:
        autoscaling.hpa_admit(hpa(**spec))
    assert str(err.value).startswith('HorizontalPodAutoscaler.autoscaling "web" is invalid: ')
    assert message in str(err.value)


def test_v1_round_trip() -> None:
    v1 = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "maxReplicas": 10,
            "targetCPUUtilizationPercentage": 50,
        },
    }
    v2 = hpa_versions.to_v2(v1)
    assert v2["apiVersion"] == "autoscaling/v2"
    assert v2["spec"]["metrics"] == [autoscaling.cpu_metric(50)]
    assert "targetCPUUtilizationPercentage" not in v2["spec"]
    stored = copy.deepcopy(v2)
    stored["status"] = {
        "currentReplicas": 2,
        "desiredReplicas": 3,
        "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 75}}}
        ],
        "conditions": [{"type": "AbleToScale", "status": "True"}],
    }
    back = hpa_versions.to_v1(stored)
    assert back["spec"]["targetCPUUtilizationPercentage"] == 50
    assert back["status"]["currentCPUUtilizationPercentage"] == 75
    assert hpa_versions.CONDITIONS_ANNOTATION in back["metadata"]["annotations"]
    assert hpa_versions.to_v2(back)["spec"] == v2["spec"]


@pytest.mark.parametrize(
    ("status", "cell"),
    [
        ({}, "cpu: <unknown>/50%"),
        (
            {
                "currentMetrics": [
                    {
                        "type": "Resource",
                        "resource": {"name": "cpu", "current": {"averageUtilization": 45}},
                    }
                ]
            },
            "cpu: 45%/50%",
        ),
    ],
)
def test_targets_cell(status: dict, cell: str) -> None:
    body = hpa(metrics=[autoscaling.cpu_metric(50)])
    body["status"] = status
    assert tables.hpa_targets(body) == cell
