"""Rollout writes on a Deployment: edit (image, resources, replicas, strategy, change-cause),
pause, resume, restart and rollback, as ``kubectl set image/resources``, ``kubectl scale``,
``kubectl rollout pause/resume/restart/undo`` do them.

Every write builds the Deployment's new body and hands it to ``objects.object_replace``, the
API's own PUT, so the dashboard and kubectl share one admission (defaults, strategy validation,
the pod budget, generation). The Deployment controller does the rest.

Rollback follows kubectl's ``DeploymentRollbacker`` (k8s-reference §3.3): the chosen
ReplicaSet's template, minus ``pod-template-hash``, becomes the Deployment's template, with the
ReplicaSet's annotations (its change-cause); the controller then reuses that ReplicaSet as the
newest revision. A paused Deployment cannot be rolled back; a missing revision and a revision
whose template is already the current one are refused with the reasons the old server-side
rollback used (DeploymentRollbackRevisionNotFound / DeploymentRollbackTemplateUnchanged).
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass

from django.db import transaction

from cluster import k8s
from cluster.controllers.deployment import (
    CHANGE_CAUSE,
    HASH_LABEL,
    REVISION,
    SKIPPED_ANNOTATIONS,
)
from cluster.models import Cluster, KubeObject
from cluster.scheduling.quantity import QuantityError, parse_cpu, parse_memory
from cluster.services import objects, store
from cluster.services.errors import BadRequest, Invalid
from cluster.services.k8s_events import event_record

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
ROLLBACK_PAUSED = (
    "you cannot rollback a paused deployment; resume it first with "
    "'kubectl rollout resume' and try again"
)
REVISION_NOT_FOUND = "unable to find specified revision {revision} in history"
NO_HISTORY = "no rollout history found for deployment {name!r}"
NO_PREVIOUS = "no previous revision found for deployment {name!r}"
TEMPLATE_UNCHANGED = "skipped rollback (current template already matches revision {revision})"
ALREADY_PAUSED = 'deployment "{name}" is already paused'
NOT_PAUSED = 'deployment "{name}" is not paused'
RESTART_PAUSED = "can't restart paused deployment (run rollout resume first)"
NO_CONTAINER = 'unable to find container named "{container}"'
BAD_REVISION = "revision must be a whole number, 0 for the previous one"

REASON_NOT_FOUND = "DeploymentRollbackRevisionNotFound"
REASON_UNCHANGED = "DeploymentRollbackTemplateUnchanged"


class RollbackRefused(BadRequest):
    """A rollback that cannot be done; ``event_reason`` says why, in Kubernetes' terms."""

    def __init__(self, message: str, *, event_reason: str = "") -> None:
        super().__init__(message)
        self.event_reason = event_reason


@dataclass(frozen=True)
class Revision:
    """One ReplicaSet of a Deployment as a revision of its template."""

    number: int
    rs_name: str
    template: dict  # without pod-template-hash
    annotations: dict


def template_without_hash(template: dict) -> dict:
    t = copy.deepcopy(template)
    labels = (t.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return t


def revisions_of(replicasets: list[dict]) -> list[Revision]:
    """A Deployment's revisions, newest first, from its ReplicaSets' bodies."""
    out = []
    for body in replicasets:
        annotations = body["metadata"].get("annotations") or {}
        try:
            number = int(annotations.get(REVISION, 0))
        except ValueError:
            continue
        if number <= 0:
            continue
        out.append(
            Revision(
                number=number,
                rs_name=body["metadata"]["name"],
                template=template_without_hash(body["spec"].get("template") or {}),
                annotations=dict(annotations),
            )
        )
    return sorted(out, key=lambda r: -r.number)


def plan_rollback(
    *, name: str, current_template: dict, paused: bool, revisions: list[Revision], to_revision: int
) -> Revision:
    """Which revision ``kubectl rollout undo [--to-revision=N]`` restores, or why it cannot:
    0 means the previous one (the second newest)."""
    if paused:
        raise RollbackRefused(ROLLBACK_PAUSED)
    if to_revision < 0:
        raise RollbackRefused(BAD_REVISION)
    if to_revision:
        chosen = next((r for r in revisions if r.number == to_revision), None)
        if chosen is None:
            raise RollbackRefused(
                REVISION_NOT_FOUND.format(revision=to_revision), event_reason=REASON_NOT_FOUND
            )
    else:
        if not revisions:
            raise RollbackRefused(NO_HISTORY.format(name=name), event_reason=REASON_NOT_FOUND)
        if len(revisions) < 2:
            raise RollbackRefused(NO_PREVIOUS.format(name=name), event_reason=REASON_NOT_FOUND)
        chosen = revisions[1]
    if chosen.template == current_template:
        raise RollbackRefused(
            TEMPLATE_UNCHANGED.format(revision=chosen.number), event_reason=REASON_UNCHANGED
        )
    return chosen


def deployment_revisions(*, deployment: KubeObject) -> list[Revision]:
    rows = KubeObject.objects.filter(
        cluster_id=deployment.cluster_id, kind="ReplicaSet", owner_uid=deployment.uid
    ).values_list("body", flat=True)
    return revisions_of(list(rows))


def _replace(cluster: Cluster, deployment: KubeObject, body: dict, actor: str) -> KubeObject:
    body["metadata"].pop("resourceVersion", None)
    return objects.object_replace(
        cluster=cluster,
        kind="Deployment",
        namespace=deployment.namespace,
        name=deployment.name,
        body=body,
        actor=actor,
    )


def _get(cluster: Cluster, namespace: str, name: str) -> KubeObject:
    return store.object_get(cluster=cluster, kind="Deployment", namespace=namespace, name=name)


def deployment_rollback(
    *,
    cluster: Cluster,
    namespace: str,
    name: str,
    to_revision: int = 0,
    actor: str = "user",
) -> KubeObject:
    """``kubectl rollout undo deployment/NAME [--to-revision=N]``."""
    try:
        to_revision = int(to_revision)
    except (TypeError, ValueError):
        raise RollbackRefused(BAD_REVISION) from None
    try:
        return _rollback(cluster, namespace, name, to_revision, actor)
    except RollbackRefused as refused:
        if refused.event_reason:
            # Recorded after the refused write's transaction rolled back, so it stays.
            deployment = _get(cluster, namespace, name)
            _rollback_event(cluster, deployment, refused.event_reason, refused.message, "Warning")
        raise


def _rollback(
    cluster: Cluster, namespace: str, name: str, to_revision: int, actor: str
) -> KubeObject:
    with transaction.atomic():
        deployment = _get(cluster, namespace, name)
        chosen = plan_rollback(
            name=name,
            current_template=deployment.spec.get("template") or {},
            paused=bool(deployment.spec.get("paused")),
            revisions=deployment_revisions(deployment=deployment),
            to_revision=to_revision,
        )
        body = copy.deepcopy(deployment.body)
        body["spec"]["template"] = copy.deepcopy(chosen.template)
        annotations = {
            k: v
            for k, v in (body["metadata"].get("annotations") or {}).items()
            if k in SKIPPED_ANNOTATIONS or k == REVISION
        }
        for source in (deployment.body["metadata"].get("annotations") or {}, chosen.annotations):
            for key, value in source.items():
                if key not in SKIPPED_ANNOTATIONS:
                    annotations[key] = value
        if CHANGE_CAUSE not in chosen.annotations:
            annotations.pop(CHANGE_CAUSE, None)
        body["metadata"]["annotations"] = annotations
        updated = _replace(cluster, deployment, body, actor)
        _rollback_event(
            cluster,
            updated,
            "DeploymentRollback",
            f'Rolled back deployment "{name}" to revision {chosen.number}',
            "Normal",
        )
        return updated


def _rollback_event(
    cluster: Cluster, deployment: KubeObject, reason: str, message: str, type_: str
) -> None:
    event_record(
        cluster=cluster,
        involved=deployment.body,
        reason=reason,
        message=message,
        component="deployment-controller",
        type_=type_,
    )


def deployment_pause(
    *, cluster: Cluster, namespace: str, name: str, actor: str = "user"
) -> KubeObject:
    """``kubectl rollout pause``: template changes stop rolling out; scaling still works."""
    return _set_paused(cluster, namespace, name, True, actor)


def deployment_resume(
    *, cluster: Cluster, namespace: str, name: str, actor: str = "user"
) -> KubeObject:
    """``kubectl rollout resume``."""
    return _set_paused(cluster, namespace, name, False, actor)


def _set_paused(
    cluster: Cluster, namespace: str, name: str, paused: bool, actor: str
) -> KubeObject:
    with transaction.atomic():
        deployment = _get(cluster, namespace, name)
        if bool(deployment.spec.get("paused")) == paused:
            raise BadRequest((ALREADY_PAUSED if paused else NOT_PAUSED).format(name=name))
        body = copy.deepcopy(deployment.body)
        if paused:
            body["spec"]["paused"] = True
        else:
            body["spec"].pop("paused", None)
        return _replace(cluster, deployment, body, actor)


def deployment_restart(
    *, cluster: Cluster, namespace: str, name: str, actor: str = "user"
) -> KubeObject:
    """``kubectl rollout restart``: a new ``restartedAt`` template annotation, hence a new
    revision whose pods replace every old one."""
    with transaction.atomic():
        deployment = _get(cluster, namespace, name)
        if deployment.spec.get("paused"):
            raise BadRequest(RESTART_PAUSED)
        body = copy.deepcopy(deployment.body)
        meta = body["spec"].setdefault("template", {}).setdefault("metadata", {})
        meta.setdefault("annotations", {})[RESTARTED_AT] = k8s.rfc3339(cluster.sim_now)
        return _replace(cluster, deployment, body, actor)


RESOURCE_FIELDS = (
    ("requests", "cpu", parse_cpu),
    ("limits", "cpu", parse_cpu),
    ("requests", "memory", parse_memory),
    ("limits", "memory", parse_memory),
)


def _parse_int_or_percent(text: str) -> int | str:
    text = text.strip()
    return int(text) if text.lstrip("-").isdigit() else text


def deployment_update(
    *,
    cluster: Cluster,
    namespace: str,
    name: str,
    container: str | None = None,
    image: str | None = None,
    resources: dict[str, dict[str, str]] | None = None,
    replicas: int | str | None = None,
    strategy_type: str | None = None,
    max_surge: int | str | None = None,
    max_unavailable: int | str | None = None,
    change_cause: str | None = None,
    actor: str = "user",
) -> KubeObject:
    """The dashboard's "edit deployment": one container's image and resources (``kubectl set
    image`` / ``set resources``; empty strings remove a request or limit), replicas, strategy
    and its fields, and ``kubernetes.io/change-cause``. Only what is given changes; a template
    change starts a rollout."""
    with transaction.atomic():
        deployment = _get(cluster, namespace, name)
        body = copy.deepcopy(deployment.body)
        spec = body["spec"]
        containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
        target = next((c for c in containers if container in (None, "", c.get("name"))), None)
        if target is None:
            raise Invalid(NO_CONTAINER.format(container=container))
        causes = _set_image(target, image) + _set_resources(target, resources or {})
        if replicas is not None and str(replicas).strip() != "":
            try:
                spec["replicas"] = int(str(replicas).strip())
            except ValueError:
                causes.append({"field": "spec.replicas", "message": "must be a whole number"})
        _set_strategy(spec, strategy_type, max_surge, max_unavailable)
        if causes:
            detail = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
            raise Invalid(
                f'Deployment.apps "{name}" is invalid: {detail}',
                causes=causes,
                kind="Deployment",
                name=name,
            )
        if change_cause is not None and change_cause.strip():
            body["metadata"].setdefault("annotations", {})[CHANGE_CAUSE] = change_cause.strip()
        return _replace(cluster, deployment, body, actor)


def _set_image(target: dict, image: str | None) -> list[dict]:
    if image is None:
        return []
    image = image.strip()
    if not image or any(ch.isspace() for ch in image):
        message = "Required value" if not image else "must not contain spaces"
        return [{"field": "spec.template.spec.containers[0].image", "message": message}]
    target["image"] = image
    return []


def _set_resources(target: dict, resources: dict[str, dict[str, str]]) -> list[dict]:
    """Requests and limits as ``kubectl set resources`` sets them (empty: removed); a request
    above its limit is refused as the apiserver does."""
    causes = []
    res = target.setdefault("resources", {})
    for section, resource, parse in RESOURCE_FIELDS:
        value = (resources.get(section) or {}).get(resource)
        if value is None:
            continue
        value = str(value).strip()
        if not value:
            (res.get(section) or {}).pop(resource, None)
            continue
        try:
            if parse(value) < 0:
                raise QuantityError("must be greater than or equal to 0")
        except QuantityError as exc:
            causes.append({"field": f"resources.{section}.{resource}", "message": str(exc)})
            continue
        res.setdefault(section, {})[resource] = value
    for section in ("requests", "limits"):
        if section in res and not res[section]:
            res.pop(section)
    for resource, parse in (("cpu", parse_cpu), ("memory", parse_memory)):
        req = (res.get("requests") or {}).get(resource)
        lim = (res.get("limits") or {}).get(resource)
        with contextlib.suppress(QuantityError):
            if req and lim and parse(req) > parse(lim):
                causes.append(
                    {
                        "field": f"resources.requests.{resource}",
                        "message": f'Invalid value: "{req}": must be less than or equal to '
                        f"{resource} limit of {lim}",
                    }
                )
    if not res:
        target.pop("resources")
    return causes


def _set_strategy(
    spec: dict,
    strategy_type: str | None,
    max_surge: int | str | None,
    max_unavailable: int | str | None,
) -> None:
    """The strategy type and its fenceposts; Recreate drops rollingUpdate (the apiserver
    refuses both together)."""
    if strategy_type:
        strategy = spec.setdefault("strategy", {})
        strategy["type"] = strategy_type
        if strategy_type == "Recreate":
            strategy.pop("rollingUpdate", None)
    if (spec.get("strategy") or {}).get("type") == "Recreate":
        return
    ru = spec.setdefault("strategy", {}).setdefault("rollingUpdate", {})
    for key, value in (("maxSurge", max_surge), ("maxUnavailable", max_unavailable)):
        if value is not None and str(value).strip() != "":
            ru[key] = _parse_int_or_percent(str(value))
