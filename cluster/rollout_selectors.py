"""Reads for the rollout panel and the edit form: a Deployment's progress and its revision
history (what ``kubectl rollout status`` and ``kubectl rollout history`` print)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cluster import k8s
from cluster.controllers.deployment import (
    CHANGE_CAUSE,
    NEW_RS_AVAILABLE,
    PAUSED,
    TIMED_OUT,
    strategy_fenceposts,
)
from cluster.models import Cluster, KubeObject
from cluster.services.rollouts import revisions_of
from cluster.services.store import object_get

#: Hues of revisions 1, 2, 3, ... (cycling), the same list as REVISION_HUES in rollout.js.
REVISION_HUES = (210, 28, 145, 280, 350, 55)


def revision_hue(revision: int) -> int:
    return REVISION_HUES[(max(revision, 1) - 1) % len(REVISION_HUES)]


@dataclass
class HistoryRow:
    revision: int
    rs_name: str
    change_cause: str
    images: list[str]
    replicas: int  # spec.replicas of the ReplicaSet
    ready: int
    current: bool

    @property
    def hue(self) -> int:
        return revision_hue(self.revision)


@dataclass
class Rollout:
    namespace: str
    name: str
    revision: int
    desired: int
    total: int
    updated: int
    ready: int
    available: int
    unavailable: int
    paused: bool
    state: str  # complete | progressing | stalled | paused
    summary: str  # kubectl rollout status' line
    strategy: str
    max_surge: str
    max_unavailable: str
    surge: int  # resolved against desired
    unavailable_allowed: int
    progress_deadline: int | None
    min_ready_seconds: int
    conditions: list[dict] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)
    container: str = ""
    image: str = ""
    requests: dict = field(default_factory=dict)
    limits: dict = field(default_factory=dict)
    change_cause: str = ""

    @property
    def hue(self) -> int:
        return revision_hue(self.revision)

    @property
    def stalled(self) -> bool:
        return self.state == "stalled"


def rollout_state(deployment: dict) -> tuple[str, str]:  # noqa: PLR0911 - kubectl's cases
    """(state, kubectl rollout status' message) for a Deployment body."""
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    name = deployment["metadata"]["name"]
    replicas = int(spec.get("replicas", 1))
    cond = k8s.get_condition(status, "Progressing") or {}
    updated = int(status.get("updatedReplicas", 0))
    total = int(status.get("replicas", 0))
    available = int(status.get("availableReplicas", 0))
    if cond.get("reason") == TIMED_OUT:
        return "stalled", f'deployment "{name}" exceeded its progress deadline'
    if spec.get("paused") or cond.get("reason") == PAUSED:
        return "paused", f'deployment "{name}" is paused'
    generation = int(deployment["metadata"].get("generation", 1))
    if int(status.get("observedGeneration", 0)) < generation:
        return "progressing", "Waiting for deployment spec update to be observed..."
    if updated < replicas:
        return "progressing", (
            f'Waiting for deployment "{name}" rollout to finish: {updated} out of {replicas} '
            "new replicas have been updated..."
        )
    if total > updated:
        return "progressing", (
            f'Waiting for deployment "{name}" rollout to finish: {total - updated} old replicas '
            "are pending termination..."
        )
    if available < updated:
        return "progressing", (
            f'Waiting for deployment "{name}" rollout to finish: {available} of {updated} '
            "updated replicas are available..."
        )
    if cond and cond.get("reason") not in (NEW_RS_AVAILABLE, None) and total != replicas:
        return "progressing", f'deployment "{name}" is progressing'
    return "complete", f'deployment "{name}" successfully rolled out'


def deployment_rollout(*, cluster: Cluster, namespace: str, name: str) -> Rollout:
    deployment = object_get(cluster=cluster, kind="Deployment", namespace=namespace, name=name)
    rs_bodies = list(
        KubeObject.objects.filter(
            cluster=cluster, kind="ReplicaSet", owner_uid=deployment.uid
        ).values_list("body", flat=True)
    )
    return rollout_of(deployment.body, rs_bodies)


def rollout_of(body: dict, rs_bodies: list[dict]) -> Rollout:
    spec, status = body.get("spec") or {}, body.get("status") or {}
    annotations = body["metadata"].get("annotations") or {}
    replicas = int(spec.get("replicas", 1))
    strategy = spec.get("strategy") or {}
    ru = strategy.get("rollingUpdate") or {}
    surge, unavailable = strategy_fenceposts(strategy, replicas)
    try:
        revision = int(annotations.get("deployment.kubernetes.io/revision", 0))
    except ValueError:
        revision = 0
    by_name = {b["metadata"]["name"]: b for b in rs_bodies}
    history = []
    for rev in revisions_of(rs_bodies):
        rs = by_name[rev.rs_name]
        containers = (rev.template.get("spec") or {}).get("containers") or []
        history.append(
            HistoryRow(
                revision=rev.number,
                rs_name=rev.rs_name,
                change_cause=rev.annotations.get(CHANGE_CAUSE, ""),
                images=[c.get("image", "") for c in containers],
                replicas=int(rs["spec"].get("replicas", 0)),
                ready=int((rs.get("status") or {}).get("readyReplicas", 0)),
                current=rev.number == revision,
            )
        )
    state, summary = rollout_state(body)
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or [{}]
    first = containers[0]
    resources = first.get("resources") or {}
    return Rollout(
        namespace=body["metadata"].get("namespace", ""),
        name=body["metadata"]["name"],
        revision=revision,
        desired=replicas,
        total=int(status.get("replicas", 0)),
        updated=int(status.get("updatedReplicas", 0)),
        ready=int(status.get("readyReplicas", 0)),
        available=int(status.get("availableReplicas", 0)),
        unavailable=int(status.get("unavailableReplicas", 0)),
        paused=bool(spec.get("paused")),
        state=state,
        summary=summary,
        strategy=strategy.get("type", "RollingUpdate"),
        max_surge=str(ru.get("maxSurge", "")),
        max_unavailable=str(ru.get("maxUnavailable", "")),
        surge=surge,
        unavailable_allowed=unavailable,
        progress_deadline=spec.get("progressDeadlineSeconds"),
        min_ready_seconds=int(spec.get("minReadySeconds", 0)),
        conditions=[
            {
                "type": c.get("type", ""),
                "status": c.get("status", ""),
                "reason": c.get("reason", ""),
                "message": c.get("message", ""),
            }
            for c in status.get("conditions", [])
        ],
        history=history,
        container=first.get("name", ""),
        image=first.get("image", ""),
        requests=dict(resources.get("requests") or {}),
        limits=dict(resources.get("limits") or {}),
        change_cause=annotations.get(CHANGE_CAUSE, ""),
    )


def deployment_names(*, cluster: Cluster) -> list[tuple[str, str]]:
    return list(
        KubeObject.objects.filter(cluster=cluster, kind="Deployment")
        .order_by("namespace", "name")
        .values_list("namespace", "name")
    )


def deployment_shown(*, cluster: Cluster, namespace: str = "", name: str = "") -> tuple[str, str]:
    """The Deployment a per-Deployment panel shows: the one asked for, else the first by
    namespace and name, else none (``("default", "")``)."""
    if name:
        return namespace, name
    first = deployment_names(cluster=cluster)
    return first[0] if first else ("default", "")
