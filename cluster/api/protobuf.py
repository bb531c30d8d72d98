"""Kubernetes protobuf request bodies, decoded into the JSON dict the client would have sent.

kubectl ≥ 1.32 sends its typed shortcuts (``kubectl create deployment``, ``create namespace``)
as ``application/vnd.kubernetes.protobuf`` and does not fall back to JSON on a 415. The body is
the 4 bytes ``k8s\\0`` and a ``runtime.Unknown`` {typeMeta{apiVersion=1, kind=2}=1, raw=2,
contentEncoding=3, contentType=4}; ``raw`` is the object in the wire format of k8s.io/api's
``generated.proto`` (proto2, field names equal to the JSON names).

:data:`SCHEMA` covers only the messages reachable from the kinds in :data:`KINDS`, and of those
the fields clients set (no affinity, security contexts, lifecycle hooks, or container statuses):
an unknown field number is skipped, as a proto decoder does. The reader is written here, wire
format only (varint, 64-bit, length-delimited, 32-bit), so no protobuf library is needed.

Zero values follow Go, not proto: gogo-protobuf writes every non-pointer scalar even when zero
(``generateName: ""``, ``generation: 0``, ``stdin: false``), which Go's ``omitempty`` JSON
leaves out, so a zero scalar is dropped unless its field is marked ``keep`` (a pointer such as
``replicas``, which is on the wire only when set, or a field without ``omitempty`` such as
``containerPort``). Embedded messages are always written, and Go's JSON always writes structs,
so a present empty message is ``{}`` (``strategy: {}``, ``resources: {}``) and an empty
``metav1.Time`` is ``null`` (``creationTimestamp: null``), as in kubectl's own JSON.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any, NamedTuple

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"


class ProtobufError(ValueError):
    """The body is not a well-formed Kubernetes protobuf message."""


class UnsupportedKind(Exception):
    """A well-formed envelope around a kind this decoder has no schema for."""

    def __init__(self, api_version: str, kind: str) -> None:
        super().__init__(f"{api_version}, Kind={kind}")
        self.api_version = api_version
        self.kind = kind


# --- the schema ---------------------------------------------------------------------------------

STRING, INT32, INT64, BOOL = "string", "int32", "int64", "bool"
MESSAGE = "message"  # a message in SCHEMA, named by Field.message
INLINE = "inline"  # an embedded Go struct (`json:",inline"`): its fields merge into the parent
MAP = "map"  # map<string, string>, or map<string, Quantity> when Field.message == QUANTITY
TIME = "time"  # metav1.Time {seconds=1, nanos=2} → RFC 3339, whole seconds, or null when empty
INTSTR = "intstr"  # intstr.IntOrString {type=1, intVal=2, strVal=3} → int or string
QUANTITY = "quantity"  # resource.Quantity {string=1} → its canonical string
FIELDS_V1 = "fieldsV1"  # metav1.FieldsV1 {Raw=1}: JSON bytes → the object they encode

SCALARS = {STRING: 2, INT32: 0, INT64: 0, BOOL: 0}  # kind → wire type
ZERO: dict[str, Any] = {STRING: "", INT32: 0, INT64: 0, BOOL: False}


class Field(NamedTuple):
    name: str
    kind: str
    repeated: bool = False
    message: str | None = None
    keep: bool = False  # written by Go's JSON even when zero (a pointer, or no omitempty)


def _f(name: str, kind: str = STRING, message: str | None = None, *, keep: bool = False) -> Field:
    return Field(name, kind, False, message, keep)


def _rep(name: str, kind: str = STRING, message: str | None = None) -> Field:
    return Field(name, kind, True, message)


def _msg(name: str, message: str) -> Field:
    return Field(name, MESSAGE, False, message)


_OBJECT = {1: _msg("metadata", "ObjectMeta")}
_CONDITION = {
    1: _f("type", keep=True),
    2: _f("status", keep=True),
    4: _f("reason"),
    5: _f("message"),
}
_REF = {1: _f("localObjectReference", INLINE, "LocalObjectReference")}

SCHEMA: dict[str, dict[int, Field]] = {
    # k8s.io/apimachinery/pkg/apis/meta/v1
    "ObjectMeta": {
        1: _f("name"),
        2: _f("generateName"),
        3: _f("namespace"),
        4: _f("selfLink"),
        5: _f("uid"),
        6: _f("resourceVersion"),
        7: _f("generation", INT64),
        8: _f("creationTimestamp", TIME),
        9: _f("deletionTimestamp", TIME),
        10: _f("deletionGracePeriodSeconds", INT64, keep=True),
        11: _f("labels", MAP),
        12: _f("annotations", MAP),
        13: _rep("ownerReferences", MESSAGE, "OwnerReference"),
        14: _rep("finalizers"),
        17: _rep("managedFields", MESSAGE, "ManagedFieldsEntry"),
    },
    "OwnerReference": {
        5: _f("apiVersion", keep=True),
        1: _f("kind", keep=True),
        3: _f("name", keep=True),
        4: _f("uid", keep=True),
        6: _f("controller", BOOL, keep=True),
        7: _f("blockOwnerDeletion", BOOL, keep=True),
    },
    "ManagedFieldsEntry": {
        1: _f("manager"),
        2: _f("operation"),
        3: _f("apiVersion"),
        4: _f("time", TIME),
        6: _f("fieldsType"),
        7: _f("fieldsV1", FIELDS_V1),
        8: _f("subresource"),
    },
    "LabelSelector": {
        1: _f("matchLabels", MAP),
        2: _rep("matchExpressions", MESSAGE, "LabelSelectorRequirement"),
    },
    "LabelSelectorRequirement": {
        1: _f("key", keep=True),
        2: _f("operator", keep=True),
        3: _rep("values"),
    },
    # k8s.io/api/apps/v1
    "Deployment": {
        **_OBJECT,
        2: _msg("spec", "DeploymentSpec"),
        3: _msg("status", "DeploymentStatus"),
    },
    "DeploymentSpec": {
        1: _f("replicas", INT32, keep=True),
        2: _msg("selector", "LabelSelector"),
        3: _msg("template", "PodTemplateSpec"),
        4: _msg("strategy", "DeploymentStrategy"),
        5: _f("minReadySeconds", INT32),
        6: _f("revisionHistoryLimit", INT32, keep=True),
        7: _f("paused", BOOL),
        9: _f("progressDeadlineSeconds", INT32, keep=True),
    },
    "DeploymentStrategy": {1: _f("type"), 2: _msg("rollingUpdate", "RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: _f("maxUnavailable", INTSTR), 2: _f("maxSurge", INTSTR)},
    "DeploymentStatus": {
        1: _f("observedGeneration", INT64),
        2: _f("replicas", INT32),
        3: _f("updatedReplicas", INT32),
        7: _f("readyReplicas", INT32),
        4: _f("availableReplicas", INT32),
        5: _f("unavailableReplicas", INT32),
        6: _rep("conditions", MESSAGE, "DeploymentCondition"),
        8: _f("collisionCount", INT32, keep=True),
    },
    "DeploymentCondition": {
        **_CONDITION,
        6: _f("lastUpdateTime", TIME),
        7: _f("lastTransitionTime", TIME),
    },
    "ReplicaSet": {
        **_OBJECT,
        2: _msg("spec", "ReplicaSetSpec"),
        3: _msg("status", "ReplicaSetStatus"),
    },
    "ReplicaSetSpec": {
        1: _f("replicas", INT32, keep=True),
        4: _f("minReadySeconds", INT32),
        2: _msg("selector", "LabelSelector"),
        3: _msg("template", "PodTemplateSpec"),
    },
    "ReplicaSetStatus": {
        1: _f("replicas", INT32, keep=True),
        2: _f("fullyLabeledReplicas", INT32),
        4: _f("readyReplicas", INT32),
        5: _f("availableReplicas", INT32),
        3: _f("observedGeneration", INT64),
        6: _rep("conditions", MESSAGE, "ReplicaSetCondition"),
    },
    "ReplicaSetCondition": {**_CONDITION, 3: _f("lastTransitionTime", TIME)},
    # k8s.io/api/core/v1
    "Namespace": {
        **_OBJECT,
        2: _msg("spec", "NamespaceSpec"),
        3: _msg("status", "NamespaceStatus"),
    },
    "NamespaceSpec": {1: _rep("finalizers")},
    "NamespaceStatus": {1: _f("phase"), 2: _rep("conditions", MESSAGE, "NamespaceCondition")},
    "NamespaceCondition": {
        1: _f("type", keep=True),
        2: _f("status", keep=True),
        4: _f("lastTransitionTime", TIME),
        5: _f("reason"),
        6: _f("message"),
    },
    "Node": {**_OBJECT, 2: _msg("spec", "NodeSpec"), 3: _msg("status", "NodeStatus")},
    "NodeSpec": {
        1: _f("podCIDR"),
        7: _rep("podCIDRs"),
        3: _f("providerID"),
        4: _f("unschedulable", BOOL),
        5: _rep("taints", MESSAGE, "Taint"),
        2: _f("externalID"),
    },
    "Taint": {
        1: _f("key", keep=True),
        2: _f("value"),
        3: _f("effect", keep=True),
        4: _f("timeAdded", TIME),
    },
    "NodeStatus": {
        1: _f("capacity", MAP, QUANTITY),
        2: _f("allocatable", MAP, QUANTITY),
        3: _f("phase"),
    },
    "Pod": {**_OBJECT, 2: _msg("spec", "PodSpec"), 3: _msg("status", "PodStatus")},
    "PodStatus": {
        1: _f("phase"),
        3: _f("message"),
        4: _f("reason"),
        11: _f("nominatedNodeName"),
        5: _f("hostIP"),
        6: _f("podIP"),
        7: _f("startTime", TIME),
        9: _f("qosClass"),
    },
    "PodTemplateSpec": {**_OBJECT, 2: _msg("spec", "PodSpec")},
    "PodSpec": {
        1: _rep("volumes", MESSAGE, "Volume"),
        20: _rep("initContainers", MESSAGE, "Container"),
        2: _rep("containers", MESSAGE, "Container"),
        3: _f("restartPolicy"),
        4: _f("terminationGracePeriodSeconds", INT64, keep=True),
        5: _f("activeDeadlineSeconds", INT64, keep=True),
        6: _f("dnsPolicy"),
        7: _f("nodeSelector", MAP),
        8: _f("serviceAccountName"),
        9: _f("serviceAccount"),
        21: _f("automountServiceAccountToken", BOOL, keep=True),
        10: _f("nodeName"),
        11: _f("hostNetwork", BOOL),
        12: _f("hostPID", BOOL),
        13: _f("hostIPC", BOOL),
        27: _f("shareProcessNamespace", BOOL, keep=True),
        15: _rep("imagePullSecrets", MESSAGE, "LocalObjectReference"),
        16: _f("hostname"),
        17: _f("subdomain"),
        19: _f("schedulerName"),
        22: _rep("tolerations", MESSAGE, "Toleration"),
        24: _f("priorityClassName"),
        25: _f("priority", INT32, keep=True),
        29: _f("runtimeClassName", keep=True),
        30: _f("enableServiceLinks", BOOL, keep=True),
        31: _f("preemptionPolicy", keep=True),
        35: _f("setHostnameAsFQDN", BOOL, keep=True),
    },
    "Toleration": {
        1: _f("key"),
        2: _f("operator"),
        3: _f("value"),
        4: _f("effect"),
        5: _f("tolerationSeconds", INT64, keep=True),
    },
    "LocalObjectReference": {1: _f("name")},
    "Container": {
        1: _f("name", keep=True),
        2: _f("image"),
        3: _rep("command"),
        4: _rep("args"),
        5: _f("workingDir"),
        6: _rep("ports", MESSAGE, "ContainerPort"),
        19: _rep("envFrom", MESSAGE, "EnvFromSource"),
        7: _rep("env", MESSAGE, "EnvVar"),
        8: _msg("resources", "ResourceRequirements"),
        9: _rep("volumeMounts", MESSAGE, "VolumeMount"),
        10: _msg("livenessProbe", "Probe"),
        11: _msg("readinessProbe", "Probe"),
        22: _msg("startupProbe", "Probe"),
        13: _f("terminationMessagePath"),
        20: _f("terminationMessagePolicy"),
        14: _f("imagePullPolicy"),
        16: _f("stdin", BOOL),
        17: _f("stdinOnce", BOOL),
        18: _f("tty", BOOL),
    },
    # k8s.io/api/core/v1 Service (what ``kubectl create service`` sends)
    "Service": {
        **_OBJECT,
        2: _msg("spec", "ServiceSpec"),
        3: _msg("status", "ServiceStatus"),
    },
    "ServiceSpec": {
        1: _rep("ports", MESSAGE, "ServicePort"),
        2: _f("selector", MAP),
        3: _f("clusterIP"),
        4: _f("type"),
        5: _rep("externalIPs"),
        7: _f("sessionAffinity"),
        8: _f("loadBalancerIP"),
        9: _rep("loadBalancerSourceRanges"),
        10: _f("externalName"),
        11: _f("externalTrafficPolicy"),
        12: _f("healthCheckNodePort", INT32),
        13: _f("publishNotReadyAddresses", BOOL),
        17: _f("ipFamilyPolicy"),
        18: _rep("clusterIPs"),
        19: _rep("ipFamilies"),
        20: _f("allocateLoadBalancerNodePorts", BOOL, keep=True),
        21: _f("loadBalancerClass"),
        22: _f("internalTrafficPolicy"),
    },
    "ServicePort": {
        1: _f("name"),
        2: _f("protocol"),
        3: _f("port", INT32, keep=True),
        4: _f("targetPort", INTSTR),
        5: _f("nodePort", INT32),
        6: _f("appProtocol"),
    },
    "ServiceStatus": {1: _msg("loadBalancer", "LoadBalancerStatus")},
    # k8s.io/api/autoscaling/v1 HorizontalPodAutoscaler (what ``kubectl autoscale`` sends)
    "HorizontalPodAutoscalerV1": {
        **_OBJECT,
        2: _msg("spec", "HorizontalPodAutoscalerSpecV1"),
    },
    "HorizontalPodAutoscalerSpecV1": {
        1: _msg("scaleTargetRef", "CrossVersionObjectReference"),
        2: _f("minReplicas", INT32, keep=True),
        3: _f("maxReplicas", INT32, keep=True),
        4: _f("targetCPUUtilizationPercentage", INT32, keep=True),
    },
    "CrossVersionObjectReference": {1: _f("kind"), 2: _f("name"), 3: _f("apiVersion")},
    # k8s.io/api/autoscaling/v2 HorizontalPodAutoscaler (the spec; status is the controller's)
    "HorizontalPodAutoscaler": {
        **_OBJECT,
        2: _msg("spec", "HorizontalPodAutoscalerSpec"),
    },
    "HorizontalPodAutoscalerSpec": {
        1: _msg("scaleTargetRef", "CrossVersionObjectReference"),
        2: _f("minReplicas", INT32, keep=True),
        3: _f("maxReplicas", INT32, keep=True),
        4: _rep("metrics", MESSAGE, "MetricSpec"),
        5: _msg("behavior", "HorizontalPodAutoscalerBehavior"),
    },
    "MetricSpec": {
        1: _f("type"),
        4: _msg("resource", "ResourceMetricSource"),
        7: _msg("containerResource", "ContainerResourceMetricSource"),
    },
    "ResourceMetricSource": {1: _f("name"), 2: _msg("target", "MetricTarget")},
    "ContainerResourceMetricSource": {
        1: _f("name"),
        2: _msg("target", "MetricTarget"),
        3: _f("container"),
    },
    "MetricTarget": {
        1: _f("type"),
        2: _f("value", QUANTITY),
        3: _f("averageValue", QUANTITY),
        4: _f("averageUtilization", INT32, keep=True),
    },
    "HorizontalPodAutoscalerBehavior": {
        1: _msg("scaleUp", "HPAScalingRules"),
        2: _msg("scaleDown", "HPAScalingRules"),
    },
    "HPAScalingRules": {
        1: _f("selectPolicy"),
        2: _rep("policies", MESSAGE, "HPAScalingPolicy"),
        3: _f("stabilizationWindowSeconds", INT32, keep=True),
    },
    "HPAScalingPolicy": {
        1: _f("type"),
        2: _f("value", INT32, keep=True),
        3: _f("periodSeconds", INT32, keep=True),
    },
    "LoadBalancerStatus": {},
    # k8s.io/api/networking/v1 Ingress (what ``kubectl create ingress`` sends)
    "Ingress": {
        **_OBJECT,
        2: _msg("spec", "IngressSpec"),
        3: _msg("status", "IngressStatus"),
    },
    "IngressSpec": {
        1: _msg("defaultBackend", "IngressBackend"),
        2: _rep("tls", MESSAGE, "IngressTLS"),
        3: _rep("rules", MESSAGE, "IngressRule"),
        4: _f("ingressClassName"),
    },
    "IngressBackend": {
        3: _msg("resource", "TypedLocalObjectReference"),
        4: _msg("service", "IngressServiceBackend"),
    },
    "TypedLocalObjectReference": {
        1: _f("apiGroup"),
        2: _f("kind", keep=True),
        3: _f("name", keep=True),
    },
    "IngressServiceBackend": {1: _f("name", keep=True), 2: _msg("port", "ServiceBackendPort")},
    "ServiceBackendPort": {1: _f("name"), 2: _f("number", INT32)},
    "IngressTLS": {1: _rep("hosts"), 2: _f("secretName")},
    "IngressRule": {1: _f("host"), 2: _f("ingressRuleValue", INLINE, "IngressRuleValue")},
    "IngressRuleValue": {1: _msg("http", "HTTPIngressRuleValue")},
    "HTTPIngressRuleValue": {1: _rep("paths", MESSAGE, "HTTPIngressPath")},
    "HTTPIngressPath": {
        1: _f("path"),
        2: _msg("backend", "IngressBackend"),
        3: _f("pathType", keep=True),
    },
    "IngressStatus": {1: _msg("loadBalancer", "IngressLoadBalancerStatus")},
    "IngressLoadBalancerStatus": {},
    "ContainerPort": {
        1: _f("name"),
        2: _f("hostPort", INT32),
        3: _f("containerPort", INT32, keep=True),
        4: _f("protocol"),
        5: _f("hostIP"),
    },
    "EnvVar": {1: _f("name", keep=True), 2: _f("value"), 3: _msg("valueFrom", "EnvVarSource")},
    "EnvVarSource": {
        1: _msg("fieldRef", "ObjectFieldSelector"),
        2: _msg("resourceFieldRef", "ResourceFieldSelector"),
        3: _msg("configMapKeyRef", "ConfigMapKeySelector"),
        4: _msg("secretKeyRef", "SecretKeySelector"),
    },
    "ObjectFieldSelector": {1: _f("apiVersion"), 2: _f("fieldPath", keep=True)},
    "ResourceFieldSelector": {
        1: _f("containerName"),
        2: _f("resource", keep=True),
        3: _f("divisor", QUANTITY),
    },
    "ConfigMapKeySelector": {**_REF, 2: _f("key", keep=True), 3: _f("optional", BOOL, keep=True)},
    "SecretKeySelector": {**_REF, 2: _f("key", keep=True), 3: _f("optional", BOOL, keep=True)},
    "EnvFromSource": {
        1: _f("prefix"),
        2: _msg("configMapRef", "ConfigMapEnvSource"),
        3: _msg("secretRef", "SecretEnvSource"),
    },
    "ConfigMapEnvSource": {**_REF, 2: _f("optional", BOOL, keep=True)},
    "SecretEnvSource": {**_REF, 2: _f("optional", BOOL, keep=True)},
    "ResourceRequirements": {
        1: _f("limits", MAP, QUANTITY),
        2: _f("requests", MAP, QUANTITY),
        3: _rep("claims", MESSAGE, "ResourceClaim"),
    },
    "ResourceClaim": {1: _f("name", keep=True)},
    "VolumeMount": {
        1: _f("name", keep=True),
        2: _f("readOnly", BOOL),
        3: _f("mountPath", keep=True),
        4: _f("subPath"),
        5: _f("mountPropagation", keep=True),
        6: _f("subPathExpr"),
    },
    "Volume": {1: _f("name", keep=True), 2: _f("volumeSource", INLINE, "VolumeSource")},
    "VolumeSource": {
        1: _msg("hostPath", "HostPathVolumeSource"),
        2: _msg("emptyDir", "EmptyDirVolumeSource"),
        6: _msg("secret", "SecretVolumeSource"),
        10: _msg("persistentVolumeClaim", "PersistentVolumeClaimVolumeSource"),
        19: _msg("configMap", "ConfigMapVolumeSource"),
    },
    "HostPathVolumeSource": {1: _f("path", keep=True), 2: _f("type", keep=True)},
    "EmptyDirVolumeSource": {1: _f("medium"), 2: _f("sizeLimit", QUANTITY)},
    "SecretVolumeSource": {
        1: _f("secretName"),
        2: _rep("items", MESSAGE, "KeyToPath"),
        3: _f("defaultMode", INT32, keep=True),
        4: _f("optional", BOOL, keep=True),
    },
    "ConfigMapVolumeSource": {
        **_REF,
        2: _rep("items", MESSAGE, "KeyToPath"),
        3: _f("defaultMode", INT32, keep=True),
        4: _f("optional", BOOL, keep=True),
    },
    "PersistentVolumeClaimVolumeSource": {1: _f("claimName", keep=True), 2: _f("readOnly", BOOL)},
    "KeyToPath": {
        1: _f("key", keep=True),
        2: _f("path", keep=True),
        3: _f("mode", INT32, keep=True),
    },
    "Probe": {
        1: _f("handler", INLINE, "ProbeHandler"),
        2: _f("initialDelaySeconds", INT32),
        3: _f("timeoutSeconds", INT32),
        4: _f("periodSeconds", INT32),
        5: _f("successThreshold", INT32),
        6: _f("failureThreshold", INT32),
        7: _f("terminationGracePeriodSeconds", INT64, keep=True),
    },
    "ProbeHandler": {
        1: _msg("exec", "ExecAction"),
        2: _msg("httpGet", "HTTPGetAction"),
        3: _msg("tcpSocket", "TCPSocketAction"),
        4: _msg("grpc", "GRPCAction"),
    },
    "ExecAction": {1: _rep("command")},
    "HTTPGetAction": {
        1: _f("path"),
        2: _f("port", INTSTR),
        3: _f("host"),
        4: _f("scheme"),
        5: _rep("httpHeaders", MESSAGE, "HTTPHeader"),
    },
    "HTTPHeader": {1: _f("name", keep=True), 2: _f("value", keep=True)},
    "TCPSocketAction": {1: _f("port", INTSTR), 2: _f("host")},
    "GRPCAction": {1: _f("port", INT32, keep=True), 2: _f("service", keep=True)},
}

# (apiVersion, kind) → the message of the object in Unknown.raw.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "Namespace",
    ("v1", "Node"): "Node",
    ("v1", "Pod"): "Pod",
    ("v1", "Service"): "Service",
    ("networking.k8s.io/v1", "Ingress"): "Ingress",
    ("apps/v1", "Deployment"): "Deployment",
    ("apps/v1", "ReplicaSet"): "ReplicaSet",
    ("autoscaling/v1", "HorizontalPodAutoscaler"): "HorizontalPodAutoscalerV1",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "HorizontalPodAutoscaler",
}


# --- the wire format ----------------------------------------------------------------------------

VARINT, I64, LEN, I32 = 0, 1, 2, 5
_U64 = 1 << 64


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & (_U64 - 1), pos
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint longer than 10 bytes")


def fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) for each field of a message, in wire order: an int for
    varint, 64-bit and 32-bit fields (unsigned, little-endian), bytes for length-delimited."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("field number 0")
        if wire == VARINT:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire in (I64, I32):
            size = 8 if wire == I64 else 4
            if pos + size > len(data):
                raise ProtobufError(f"truncated {size * 8}-bit field {number}")
            yield number, wire, int.from_bytes(data[pos : pos + size], "little")
            pos += size
        elif wire == LEN:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise ProtobufError(f"field {number} runs past the end of its message")
            yield number, wire, data[pos : pos + size]
            pos += size
        else:
            raise ProtobufError(f"unsupported wire type {wire} for field {number}")


# --- messages → JSON ----------------------------------------------------------------------------


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtobufError(f"invalid UTF-8 in a string field: {exc.reason}") from None


def _scalar(kind: str, value: Any) -> Any:
    if kind == STRING:
        return _text(value)
    if kind == BOOL:
        return value != 0
    return _signed(value, 32 if kind == INT32 else 64)


def _time(raw: bytes) -> str | None:
    if not raw:
        return None  # a zero metav1.Time: Go writes an empty message, and null in JSON
    seconds = 0
    for number, wire, value in fields(raw):
        if number == 1 and wire == VARINT:
            seconds = _signed(value, 64)
    try:
        moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise ProtobufError(f"time out of range: {seconds} seconds") from None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_or_string(raw: bytes) -> int | str:
    kind, number_value, text = 0, 0, ""
    for number, wire, value in fields(raw):
        if number == 1 and wire == VARINT:
            kind = _signed(value, 64)
        elif number == 2 and wire == VARINT:
            number_value = _signed(value, 32)
        elif number == 3 and wire == LEN:
            text = _text(value)
    return text if kind == 1 else number_value


def _quantity(raw: bytes) -> str:
    text = ""
    for number, wire, value in fields(raw):
        if number == 1 and wire == LEN:
            text = _text(value)
    return text or "0"


def _fields_v1(raw: bytes) -> Any:
    for number, wire, value in fields(raw):
        if number == 1 and wire == LEN:
            try:
                return json.loads(value)
            except ValueError as exc:
                raise ProtobufError(f"fieldsV1 is not JSON: {exc}") from None
    return None


_SPECIAL = {TIME: _time, INTSTR: _int_or_string, QUANTITY: _quantity, FIELDS_V1: _fields_v1}


def _map_entry(raw: bytes, value_kind: str | None) -> tuple[str, Any]:
    key, value = "", "0" if value_kind == QUANTITY else ""
    for number, wire, item in fields(raw):
        if number == 1 and wire == LEN:
            key = _text(item)
        elif number == 2 and wire == LEN:
            value = _quantity(item) if value_kind == QUANTITY else _text(item)
    return key, value


def _value(field: Field, where: str, wire: int, value: Any) -> Any:
    """One decoded value of the field (the schema has no repeated numbers, so none is packed)."""
    expected = SCALARS.get(field.kind, LEN)
    if wire != expected:
        raise ProtobufError(f"{where}.{field.name}: wire type {wire}, expected {expected}")
    if field.kind in SCALARS:
        return _scalar(field.kind, value)
    if field.kind in (MESSAGE, INLINE):
        return message(value, field.message or "", where=f"{where}.{field.name}")
    return _SPECIAL[field.kind](value)


def message(data: bytes, name: str, *, where: str = "") -> dict[str, Any]:
    """The JSON dict of one message of :data:`SCHEMA`; unknown fields are skipped."""
    schema = SCHEMA[name]
    where = where or name
    out: dict[str, Any] = {}
    for number, wire, value in fields(data):
        field = schema.get(number)
        if field is None:
            continue
        if field.kind == MAP:
            if wire != LEN:
                raise ProtobufError(f"{where}.{field.name}: wire type {wire}, expected {LEN}")
            key, item = _map_entry(value, field.message)
            out.setdefault(field.name, {})[key] = item
            continue
        decoded = _value(field, where, wire, value)
        if field.kind == INLINE:
            out.update(decoded)
        elif field.repeated:
            out.setdefault(field.name, []).append(decoded)
        elif field.kind in SCALARS and not field.keep and decoded == ZERO[field.kind]:
            out.pop(field.name, None)  # Go's omitempty; a later zero still overrides
        else:
            out[field.name] = decoded
    return out


def decode(body: bytes) -> dict[str, Any]:
    """The object in a ``k8s\\0`` + ``runtime.Unknown`` body, as the JSON dict a client would
    have sent: ``kind`` and ``apiVersion`` from the envelope's typeMeta, then the object.

    Raises :class:`ProtobufError` for malformed bytes and :class:`UnsupportedKind` for a kind
    outside :data:`KINDS`."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the protobuf prefix 'k8s\\x00'")
    api_version = kind = encoding = ""
    raw = b""
    for number, wire, value in fields(body[len(MAGIC) :]):
        if number == 1 and wire == LEN:  # runtime.TypeMeta {apiVersion=1, kind=2}
            for sub, sub_wire, item in fields(value):
                if sub == 1 and sub_wire == LEN:
                    api_version = _text(item)
                elif sub == 2 and sub_wire == LEN:
                    kind = _text(item)
        elif number == 2 and wire == LEN:
            raw = value
        elif number == 3 and wire == LEN:
            encoding = _text(value)
    if encoding:
        raise ProtobufError(f"unsupported content encoding {encoding!r}")
    if not kind or not api_version:
        raise ProtobufError("the envelope names no apiVersion and kind")
    name = KINDS.get((api_version, kind))
    if name is None:
        raise UnsupportedKind(api_version, kind)
    return {"kind": kind, "apiVersion": api_version, **message(raw, name)}
