"""Deployment and ReplicaSet writes: create (with the apps/v1 defaults), scale, delete."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from cluster import k8s
from cluster.containers import probe_apply_defaults
from cluster.models import Cluster, KubeObject
from cluster.scheduling.quantity import QuantityError, parse_cpu, parse_memory
from cluster.services import store
from cluster.services.errors import Invalid, LimitExceeded

REPLICAS_RANGE = "spec.replicas: Invalid value: {value}: must be greater than or equal to 0"
TOO_MANY_PODS = "this would raise the cluster's desired pods to {total}; the limit is {limit}"


def deployment_apply_defaults(body: dict) -> None:
    """apps/v1 SetDefaults_Deployment."""
    spec = body.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        ru = strategy.setdefault("rollingUpdate", {})
        ru.setdefault("maxUnavailable", "25%")
        ru.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    template = spec.setdefault("template", {})
    if (
        isinstance(template.get("metadata"), dict)
        and template["metadata"].get("creationTimestamp", "") is None
    ):
        # Go clients send a template's zero creationTimestamp as null (kubectl rollout undo
        # does); the apiserver decodes it to nothing, so the template still matches its RS.
        template["metadata"].pop("creationTimestamp")
    template_spec = template.setdefault("spec", {})
    template_spec.setdefault("restartPolicy", "Always")
    template_spec.setdefault("terminationGracePeriodSeconds", 30)
    template_spec.setdefault("dnsPolicy", "ClusterFirst")
    template_spec.setdefault("schedulerName", "default-scheduler")
    template_spec.setdefault("securityContext", {})
    for container in template_spec.get("containers") or []:
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if isinstance(container.get(probe), dict):
                probe_apply_defaults(container[probe])


PERCENT_FORMAT = (
    "a valid percent string must be a numeric string followed by an ending '%' "
    "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')"
)
RECREATE_WITH_ROLLING = "Forbidden: may not be specified when strategy `type` is 'Recreate'"
BOTH_ZERO = "Invalid value: 0: may not be 0 when `maxSurge` is 0"
DEADLINE_VS_MIN_READY = "must be greater than minReadySeconds"


def _int_or_percent_errors(field: str, value: object, *, cap_100: bool) -> list[dict]:
    """ValidatePositiveIntOrPercent (+ IsNotMoreThan100Percent for maxUnavailable)."""
    shown = f'"{value}"' if isinstance(value, str) else str(value)
    if isinstance(value, bool) or not isinstance(value, int | str):
        return [
            {"field": field, "message": f"Invalid value: {shown}: must be an integer or percentage"}
        ]
    if isinstance(value, int):
        if value < 0:
            return [
                {
                    "field": field,
                    "message": f"Invalid value: {value}: must be greater than or equal to 0",
                }
            ]
        return []
    text = value
    if not text.endswith("%") or not text[:-1].isdigit():
        return [{"field": field, "message": f"Invalid value: {shown}: {PERCENT_FORMAT}"}]
    if cap_100 and int(text[:-1]) > 100:
        return [
            {"field": field, "message": f"Invalid value: {shown}: must not be greater than 100%"}
        ]
    return []


def _is_zero(value: object) -> bool:
    return value in (0, "0%") or (
        isinstance(value, str)
        and value.endswith("%")
        and value[:-1].isdigit()
        and int(value[:-1]) == 0
    )


def deployment_spec_errors(spec: dict) -> list[dict]:
    """ValidateDeploymentSpec's strategy and timing checks, as the apiserver words them."""
    causes: list[dict] = []
    strategy = spec.get("strategy") or {}
    kind = strategy.get("type")
    ru = strategy.get("rollingUpdate")
    if kind not in ("RollingUpdate", "Recreate"):
        causes.append(
            {
                "field": "spec.strategy.type",
                "message": f'Unsupported value: "{kind}": supported values: '
                '"Recreate", "RollingUpdate"',
            }
        )
    elif kind == "Recreate" and ru is not None:
        causes.append({"field": "spec.strategy.rollingUpdate", "message": RECREATE_WITH_ROLLING})
    elif kind == "RollingUpdate" and isinstance(ru, dict):
        surge = ru.get("maxSurge", "25%")
        unavailable = ru.get("maxUnavailable", "25%")
        surge_errors = _int_or_percent_errors(
            "spec.strategy.rollingUpdate.maxSurge", surge, cap_100=False
        )
        unavailable_errors = _int_or_percent_errors(
            "spec.strategy.rollingUpdate.maxUnavailable", unavailable, cap_100=True
        )
        causes += surge_errors + unavailable_errors
        if (
            not surge_errors
            and not unavailable_errors
            and _is_zero(surge)
            and _is_zero(unavailable)
        ):
            causes.append(
                {"field": "spec.strategy.rollingUpdate.maxUnavailable", "message": BOTH_ZERO}
            )
    for field in ("minReadySeconds", "revisionHistoryLimit", "progressDeadlineSeconds"):
        value = spec.get(field)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            causes.append(
                {
                    "field": f"spec.{field}",
                    "message": f"Invalid value: {value!r}: must be an integer",
                }
            )
        elif value < 0:
            causes.append(
                {
                    "field": f"spec.{field}",
                    "message": f"Invalid value: {value}: must be greater than or equal to 0",
                }
            )
    deadline, min_ready = spec.get("progressDeadlineSeconds"), spec.get("minReadySeconds", 0)
    if (
        isinstance(deadline, int)
        and isinstance(min_ready, int)
        and not causes
        and deadline <= min_ready
    ):
        causes.append(
            {
                "field": "spec.progressDeadlineSeconds",
                "message": f"Invalid value: {deadline}: {DEADLINE_VS_MIN_READY}",
            }
        )
    if not isinstance(spec.get("paused", False), bool):
        causes.append({"field": "spec.paused", "message": "Invalid value: must be a boolean"})
    return causes


def deployment_validate(body: dict) -> None:
    """Raise Invalid, in the apiserver's words, for a bad strategy or timing field."""
    causes = deployment_spec_errors(body.get("spec") or {})
    if causes:
        detail = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
        name = (body.get("metadata") or {}).get("name", "")
        raise Invalid(
            f'Deployment.apps "{name}" is invalid: {detail}',
            causes=causes,
            kind="Deployment",
            name=name,
        )


def validate_replicas(replicas: object) -> int:
    try:
        value = int(replicas)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise Invalid(
            "spec.replicas must be a whole number",
            causes=[{"field": "spec.replicas", "message": "must be a whole number"}],
        ) from None
    if value < 0:
        raise Invalid(
            REPLICAS_RANGE.format(value=value),
            causes=[{"field": "spec.replicas", "message": "must be greater than or equal to 0"}],
        )
    return value


def check_pod_budget(cluster: Cluster, *, adding: int) -> None:
    """Cluster size limit: the sum of desired replicas may not exceed K8SVIZ_MAX_PODS (a
    sandbox's own, smaller limit for a student's sandbox)."""
    from cluster.services.clusters import cluster_limits  # noqa: PLC0415 - clusters imports us

    limit = int(cluster_limits(cluster)["pods"])
    current = 0
    for body in KubeObject.objects.filter(cluster=cluster, kind="Deployment").values_list(
        "body", flat=True
    ):
        current += int(body.get("spec", {}).get("replicas", 1))
    if adding > 0 and current + adding > limit:
        raise LimitExceeded(TOO_MANY_PODS.format(total=current + adding, limit=limit))


def deployment_create(
    *,
    cluster: Cluster,
    name: str,
    image: str,
    replicas: int,
    namespace: str = "default",
    cpu_request: str | None = None,
    memory_request: str | None = None,
    actor: str = "user",
) -> KubeObject:
    """What ``kubectl create deployment NAME --image=IMAGE --replicas=N`` sends, plus requests."""
    causes = [{"field": "metadata.name", "message": m} for m in k8s.name_errors(name)]
    if not image or any(ch.isspace() for ch in image):
        causes.append(
            {"field": "spec.template.spec.containers[0].image", "message": "Required value"}
        )
    requests: dict[str, str] = {}
    for field, value, parse in (
        ("cpu", cpu_request, parse_cpu),
        ("memory", memory_request, parse_memory),
    ):
        if value:
            try:
                if parse(value) < 0:
                    raise QuantityError("must be greater than or equal to 0")
            except QuantityError as exc:
                causes.append({"field": f"resources.requests.{field}", "message": str(exc)})
            requests[field] = str(value)
    if causes:
        detail = "; ".join(f"{c['field']}: {c['message']}" for c in causes)
        raise Invalid(f'Deployment.apps "{name}" is invalid: {detail}', causes=causes)
    replicas = validate_replicas(replicas)
    container_name = (
        image.rsplit("/", 1)[-1].split(":", maxsplit=1)[0].split("@", maxsplit=1)[0] or "app"
    )
    container: dict = {"name": container_name, "image": image}
    if requests:
        container["resources"] = {"requests": requests}
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container]},
            },
        },
    }
    return deployment_submit(cluster=cluster, body=body, actor=actor)


def deployment_submit(*, cluster: Cluster, body: dict, actor: str) -> KubeObject:
    """Create a Deployment from a full manifest (defaults, validation, size limit)."""
    deployment_apply_defaults(body)
    spec = body["spec"]
    validate_replicas(spec["replicas"])
    deployment_validate(body)
    selector = spec.get("selector")
    labels = spec["template"].get("metadata", {}).get("labels") or {}
    if not selector or not k8s.selector_matches(selector, labels):
        raise Invalid(
            f'Deployment.apps "{body["metadata"].get("name")}" is invalid: spec.template.metadata.labels: '
            "Invalid value: `selector` does not match template `labels`",
            causes=[
                {
                    "field": "spec.template.metadata.labels",
                    "message": "`selector` does not match template `labels`",
                }
            ],
        )
    with transaction.atomic():
        check_pod_budget(cluster, adding=int(spec["replicas"]))
        body.setdefault("status", {})
        return store.object_create(cluster=cluster, body=body, actor=actor)


def deployment_scale(
    *, cluster: Cluster, namespace: str, name: str, replicas: int, actor: str = "user"
) -> KubeObject:
    """The scale subresource: only spec.replicas changes (no new revision)."""
    replicas = validate_replicas(replicas)
    with transaction.atomic():
        deployment = store.object_get(
            cluster=cluster, kind="Deployment", namespace=namespace, name=name
        )
        current = int(deployment.spec.get("replicas", 1))
        check_pod_budget(cluster, adding=replicas - current)
        if current == replicas:
            return deployment
        deployment.spec["replicas"] = replicas
        return store.object_update(obj=deployment, actor=actor, spec_changed=True)


def deployment_delete(*, cluster: Cluster, namespace: str, name: str, actor: str = "user") -> None:
    """Background cascading deletion: the Deployment goes now; the garbage collector then
    deletes its ReplicaSets, and theirs pods in turn."""
    deployment = store.object_get(
        cluster=cluster, kind="Deployment", namespace=namespace, name=name
    )
    store.object_remove(obj=deployment, actor=actor)


def replicaset_scale(*, rs: KubeObject, replicas: int, actor: str) -> KubeObject:
    rs.spec["replicas"] = replicas
    return store.object_update(obj=rs, actor=actor, spec_changed=True)
