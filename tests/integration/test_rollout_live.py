"""Rollouts on the whole stack (Redis, a Celery worker and beat, daphne): actions through the
services in this process, the worker's reconcile ticks alone play the rollout out. A full image
rollout finishes with every pod on the new revision and events in order; a rollout whose pods
cannot be scheduled reaches ProgressDeadlineExceeded while the old pods keep serving, and a
rollback restores it."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from cluster import k8s, services
from cluster.models import Cluster, KubeObject
from cluster.rollout_selectors import deployment_rollout
from cluster.services import objects, rollouts

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, each=None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if each:
            each()
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def rollout(cluster: Cluster):
    return deployment_rollout(cluster=cluster, namespace="default", name="web")


def start(name: str) -> Cluster:
    cluster = services.cluster_create(name=name, profile="classroom", speed=20)
    services.node_add(cluster=cluster, name="control-plane", control_plane=True)
    for i in (1, 2, 3):
        services.node_add(cluster=cluster, name=f"node-{i}")
    services.deployment_create(
        cluster=cluster, name="web", image="nginx:1.26", replicas=4, cpu_request="100m"
    )
    wait_for(
        lambda: rollout(cluster).state == "complete" and rollout(cluster).available == 4,
        60,
        "the first rollout",
    )
    return cluster


def event_messages(cluster: Cluster, reason: str) -> list[str]:
    rows = KubeObject.objects.filter(cluster=cluster, kind="Event").order_by("resource_version")
    return [b["message"] for b in rows.values_list("body", flat=True) if b["reason"] == reason]


def test_image_rollout_finishes(stack) -> None:
    cluster = start("roll")
    rollouts.deployment_update(
        cluster=cluster, namespace="default", name="web", image="nginx:1.27", change_cause="1.27"
    )
    seen_pods: list[int] = []

    def sample() -> None:
        seen_pods.append(
            sum(
                1
                for p in KubeObject.objects.filter(cluster=cluster, kind="Pod")
                if k8s.pod_is_active(p.body)
            )
        )

    wait_for(
        lambda: rollout(cluster).revision == 2 and rollout(cluster).state == "complete",
        90,
        "revision 2 rolled out",
        each=sample,
    )
    assert max(seen_pods) <= 5  # 4 replicas + maxSurge 1
    view = rollout(cluster)
    assert (view.updated, view.available, view.total) == (4, 4, 4)
    rows = {row.revision: row for row in view.history}
    assert rows[1].replicas == 0 and rows[2].replicas == 4 and rows[2].change_cause == "1.27"
    pods = [p for p in KubeObject.objects.filter(cluster=cluster, kind="Pod", deleting=False)]
    assert {p.body["metadata"]["labels"]["pod-template-hash"] for p in pods} == {
        rows[2].rs_name.rsplit("-", 1)[1]
    }
    scaling = event_messages(cluster, "ScalingReplicaSet")
    new_up = scaling.index(f"Scaled up replica set {rows[2].rs_name} from 0 to 1")
    old_down = scaling.index(f"Scaled down replica set {rows[1].rs_name} from 1 to 0")
    assert new_up < old_down


def test_stuck_rollout_deadline_then_rollback(stack) -> None:
    cluster = start("stuck")
    body = KubeObject.objects.get(cluster=cluster, kind="Deployment", name="web").body
    body["spec"]["progressDeadlineSeconds"] = 20
    objects.object_replace(
        cluster=cluster,
        kind="Deployment",
        namespace="default",
        name="web",
        body=body,
        actor="user",
    )
    rollouts.deployment_update(
        cluster=cluster, namespace="default", name="web", resources={"requests": {"cpu": "64"}}
    )
    lows: list[int] = []
    wait_for(
        lambda: rollout(cluster).state == "stalled",
        60,
        "ProgressDeadlineExceeded",
        each=lambda: lows.append(rollout(cluster).available),
    )
    assert min(lows) >= 3  # replicas 4 - maxUnavailable 1: the old pods keep serving
    cond = next(c for c in rollout(cluster).conditions if c["type"] == "Progressing")
    assert (cond["status"], cond["reason"]) == ("False", "ProgressDeadlineExceeded")

    rollouts.deployment_rollback(cluster=cluster, namespace="default", name="web")
    wait_for(
        lambda: rollout(cluster).state == "complete" and rollout(cluster).revision == 3,
        60,
        "the rollback rolled out",
    )
    view = rollout(cluster)
    assert view.available == 4 and view.requests.get("cpu") == "100m"
    assert 'Rolled back deployment "web" to revision 1' in event_messages(
        cluster, "DeploymentRollback"
    )
