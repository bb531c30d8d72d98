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
    template_spec = spec.setdefault("template", {}).setdefault("spec", {})
    template_spec.setdefault("restartPolicy", "Always")
    template_spec.setdefault("terminationGracePeriodSeconds", 30)
    template_spec.setdefault("dnsPolicy", "ClusterFirst")
    template_spec.setdefault("schedulerName", "default-scheduler")
    template_spec.setdefault("securityContext", {})
    for container in template_spec.get("containers") or []:
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            if isinstance(container.get(probe), dict):
                probe_apply_defaults(container[probe])


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
    """Cluster size limit: the sum of desired replicas may not exceed K8SVIZ_MAX_PODS."""
    limit = settings.K8SVIZ_MAX_PODS
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
