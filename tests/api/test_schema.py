"""Server-side field validation against the v1.32 types: unknown fields named as the
apiserver's strict decoder names them, wrong JSON types as Status causes with encoding/json's
messages, and int-or-string and quantity fields accepting both of their forms."""

from __future__ import annotations

import copy
import time

import pytest

from cluster.api import schema

APPS = {"group": "apps", "version": "v1", "kind": "Deployment"}
POD = {"group": "", "version": "v1", "kind": "Pod"}


def deployment(**spec: object) -> dict:
    """A valid Deployment manifest; ``spec`` overrides top-level spec fields."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "labels": {"app": "web", "any-label": "x"},
            "annotations": {"example.com/anything": "y"},
        },
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1},
            },
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.27",
                            "ports": [{"containerPort": 80, "protocol": "TCP"}],
                            "env": [{"name": "A", "value": "1"}],
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "64Mi"},
                                "limits": {"cpu": 1, "memory": "128Mi"},
                            },
                            "readinessProbe": {"httpGet": {"path": "/", "port": "http"}},
                        }
                    ],
                    "nodeSelector": {"disk": "ssd"},
                    "tolerations": [{"key": "k", "operator": "Exists"}],
                },
            },
            **spec,
        },
        "status": {"replicas": 3, "conditions": [{"type": "Available", "status": "True"}]},
    }


def container(body: dict) -> dict:
    return body["spec"]["template"]["spec"]["containers"][0]


def test_valid_deployment_has_no_unknown_fields_or_type_errors() -> None:
    """Map keys (labels, annotations, nodeSelector, resources) are free; every declared field,
    status included, is known; int-or-string and quantity values in both forms pass."""
    body = deployment()
    assert schema.unknown_fields(body, **APPS) == []
    assert schema.type_errors(body, **APPS) == []


def test_nulls_are_accepted() -> None:
    """Go decodes ``null`` as the zero value: no type error for any field."""
    body = deployment(replicas=None, strategy=None)
    container(body)["ports"] = None
    assert schema.type_errors(body, **APPS) == []


def test_unknown_fields_are_named_with_paths_and_indices() -> None:
    """In document order, as the strict decoder meets them."""
    body = deployment(replicass=2)
    body["metadata"]["labelz"] = {}
    body["spec"]["template"]["spec"]["containers"].append({"name": "b", "imagee": "x"})
    container(body)["ports"][0]["hostPortt"] = 1
    body["bogus"] = True
    assert schema.unknown_fields(body, **APPS) == [
        "metadata.labelz",
        "spec.template.spec.containers[0].ports[0].hostPortt",
        "spec.template.spec.containers[1].imagee",
        "spec.replicass",
        "bogus",
    ]


def test_unknown_fields_of_a_pod() -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "nginx", "imagee": "typo"}]},
    }
    assert schema.unknown_fields(pod, **POD) == ["spec.containers[0].imagee"]


def test_unknown_kind_is_not_validated() -> None:
    assert schema.unknown_fields({"x": 1}, group="example.com", version="v1", kind="Foo") == []
    assert schema.type_errors({"x": 1}, group="example.com", version="v1", kind="Foo") == []


def test_strict_decoding_message_is_the_apiservers() -> None:
    message = schema.strict_decoding_message(
        kind="Deployment", version="v1", fields=["spec.replicass", "metadata.labelz"]
    )
    assert message == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'unknown field "spec.replicass", unknown field "metadata.labelz"'
    )
    assert schema.unknown_field_warnings(["spec.x"]) == ['unknown field "spec.x"']


def mutate(path: str, value: object) -> dict:
    """A valid Deployment with the value at a dotted path (``[0]`` for list items) replaced."""
    body = copy.deepcopy(deployment())
    *parents, last = path.replace("[0]", ".0").split(".")
    node: object = body
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]  # type: ignore[index]
    node[last] = value  # type: ignore[index]
    return body


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        (
            "spec.replicas",
            "three",
            "spec.replicas",
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas"
            " of type int32",
        ),
        (
            "spec.replicas",
            1.5,
            "spec.replicas",
            "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas"
            " of type int32",
        ),
        (
            "spec.replicas",
            2**31,
            "spec.replicas",
            "json: cannot unmarshal number 2147483648 into Go struct field"
            " DeploymentSpec.spec.replicas of type int32",
        ),
        (
            "spec.paused",
            "yes",
            "spec.paused",
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.paused"
            " of type bool",
        ),
        (
            "spec.template.spec.containers[0].ports[0].containerPort",
            "80",
            "spec.template.spec.containers[0].ports[0].containerPort",
            "json: cannot unmarshal string into Go struct field"
            " ContainerPort.spec.template.spec.containers.ports.containerPort of type int32",
        ),
        (
            "spec.template.spec.containers",
            {"name": "web"},
            "spec.template.spec.containers",
            "json: cannot unmarshal object into Go struct field"
            " PodSpec.spec.template.spec.containers of type []v1.Container",
        ),
        (
            "spec.template",
            "nginx",
            "spec.template",
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.template"
            " of type v1.PodTemplateSpec",
        ),
        (
            "metadata.labels",
            ["app"],
            "metadata.labels",
            "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels"
            " of type map[string]string",
        ),
        (
            "metadata.labels.app",
            7,
            "metadata.labels.app",
            "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels"
            " of type string",
        ),
        (
            "spec.strategy.rollingUpdate.maxSurge",
            True,
            "spec.strategy.rollingUpdate.maxSurge",
            "json: cannot unmarshal bool into Go struct field"
            " RollingUpdateDeployment.spec.strategy.rollingUpdate.maxSurge"
            " of type intstr.IntOrString",
        ),
        (
            "spec.template.spec.containers[0].resources.limits.memory",
            "lots",
            "spec.template.spec.containers[0].resources.limits.memory",
            "quantities must match the regular expression"
            " '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ),
        (
            "spec.template.spec.containers[0].resources.limits.memory",
            {"value": 1},
            "spec.template.spec.containers[0].resources.limits.memory",
            "json: cannot unmarshal object into Go struct field"
            " ResourceRequirements.spec.template.spec.containers.resources.limits"
            " of type resource.Quantity",
        ),
    ],
    ids=[
        "int-as-string",
        "int-as-fraction",
        "int32-overflow",
        "bool-as-string",
        "nested-list-item",
        "object-for-list",
        "string-for-struct",
        "array-for-map",
        "map-value",
        "int-or-string-bool",
        "quantity-syntax",
        "quantity-object",
    ],
)
def test_type_errors(path: str, value: object, field: str, message: str) -> None:
    causes = schema.type_errors(mutate(path, value), **APPS)
    assert causes == [{"reason": "FieldValueTypeInvalid", "message": message, "field": field}]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("spec.strategy.rollingUpdate.maxSurge", 2),
        ("spec.strategy.rollingUpdate.maxSurge", "50%"),
        ("spec.template.spec.containers[0].resources.limits.cpu", "250m"),
        ("spec.template.spec.containers[0].resources.limits.cpu", 0.5),
        ("spec.template.spec.containers[0].resources.limits.memory", "1e3"),
        ("spec.template.spec.containers[0].readinessProbe.httpGet.port", 8080),
    ],
    ids=["ios-int", "ios-percent", "qty-milli", "qty-number", "qty-exponent", "port-int"],
)
def test_int_or_string_and_quantity_accept_both_forms(path: str, value: object) -> None:
    assert schema.type_errors(mutate(path, value), **APPS) == []


def test_validation_is_fast() -> None:
    """It runs on every write: both checks of a Deployment take well under a few ms."""
    body = deployment()
    schema.unknown_fields(body, **APPS)  # loads the definitions once
    start = time.perf_counter()
    for _ in range(100):
        schema.unknown_fields(body, **APPS)
        schema.type_errors(body, **APPS)
    assert (time.perf_counter() - start) / 100 < 0.003
