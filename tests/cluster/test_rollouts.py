"""Rollouts end to end inside one process on an injected clock: the Deployment controller,
ReplicaSet controller, scheduler and kubelets play a rolling update, a stuck one, pause/resume,
rollback and restart, driven by the services the dashboard and the API use."""

from __future__ import annotations

import random

import pytest

from cluster import k8s, reconcile, services
from cluster.controllers.deployment import TIMED_OUT
from cluster.models import Cluster, KubeObject
from cluster.rollout_selectors import deployment_rollout
from cluster.services import objects, rollouts
from cluster.services.errors import Invalid

pytestmark = pytest.mark.django_db

T0 = 1_800_000_000.0


def run(cluster: Cluster, seconds: float, rng: random.Random, check=None) -> None:
    """Advance in 1 s steps, calling ``check`` after each."""
    end = cluster.sim_now + seconds
    while cluster.sim_now < end:
        reconcile.run_to(cluster, cluster.sim_now + 1, rng)
        if check:
            check()


def dep(cluster: Cluster) -> KubeObject:
    return KubeObject.objects.get(cluster=cluster, kind="Deployment", name="nginx")


def rss(cluster: Cluster) -> dict[str, KubeObject]:
    return {r.name: r for r in KubeObject.objects.filter(cluster=cluster, kind="ReplicaSet")}


def active_pods(cluster: Cluster) -> list[KubeObject]:
    return [
        p
        for p in KubeObject.objects.filter(cluster=cluster, kind="Pod")
        if k8s.pod_is_active(p.body)
    ]


def events(cluster: Cluster, reason: str | None = None) -> list[str]:
    rows = KubeObject.objects.filter(cluster=cluster, kind="Event").order_by("resource_version")
    return [
        b["message"]
        for b in rows.values_list("body", flat=True)
        if reason is None or b["reason"] == reason
    ]


@pytest.fixture
def rng() -> random.Random:
    return random.Random(11)


@pytest.fixture
def demo(rng: random.Random) -> Cluster:
    cluster = services.cluster_create(name="t", profile="kubernetes", wall_now=T0)
    services.node_add(cluster=cluster, name="control-plane", control_plane=True)
    for i in (1, 2, 3):
        services.node_add(cluster=cluster, name=f"node-{i}")
    services.deployment_create(
        cluster=cluster, name="nginx", image="nginx:1.26", replicas=4, cpu_request="100m"
    )
    run(cluster, 40, rng)
    assert deployment_rollout(cluster=cluster, namespace="default", name="nginx").state == (
        "complete"
    )
    return cluster


def test_image_change_rolls_out_within_the_fenceposts(demo: Cluster, rng) -> None:
    """Replicas 4 with 25%/25% (surge 1, unavailable 1): at every second at most 5 active pods
    and at least 3 available; the rollout ends with 4 pods of revision 2, the old ReplicaSet at
    0, the change-cause on the new one, events scaling up before down, and Progressing
    NewReplicaSetAvailable."""
    rollouts.deployment_update(
        cluster=demo,
        namespace="default",
        name="nginx",
        image="nginx:1.27",
        change_cause="nginx 1.27",
    )

    def check() -> None:
        assert len(active_pods(demo)) <= 5
        assert int(dep(demo).status.get("availableReplicas", 0)) >= 3

    run(demo, 120, rng, check)
    view = deployment_rollout(cluster=demo, namespace="default", name="nginx")
    assert view.state == "complete", view.summary
    assert (view.updated, view.available, view.total, view.revision) == (4, 4, 4, 2)
    by_rev = {row.revision: row for row in view.history}
    assert by_rev[2].images == ["nginx:1.27"] and by_rev[2].change_cause == "nginx 1.27"
    assert by_rev[2].current and by_rev[1].replicas == 0
    images = {p.body["spec"]["containers"][0]["image"] for p in active_pods(demo)}
    assert images == {"nginx:1.27"} and len(active_pods(demo)) == 4
    scaling = events(demo, "ScalingReplicaSet")
    new_rs = by_rev[2].rs_name
    assert scaling[1] == f"Scaled up replica set {new_rs} from 0 to 1"
    assert scaling[-1].startswith(f"Scaled down replica set {by_rev[1].rs_name} from 1 to 0")
    cond = k8s.get_condition(dep(demo).status, "Progressing")
    assert cond["reason"] == "NewReplicaSetAvailable"


def test_stuck_rollout_times_out_then_rollback_restores(demo: Cluster, rng) -> None:
    """A template whose pods cannot be scheduled (64 cpu): the rollout stalls with old pods
    serving (available >= replicas - maxUnavailable), Progressing=False/ProgressDeadlineExceeded
    after progressDeadlineSeconds, then a rollback to the previous revision restores it as
    revision 3 with a DeploymentRollback event."""
    d = dep(demo)
    d.body["spec"]["progressDeadlineSeconds"] = 30
    objects.object_replace(
        cluster=demo,
        kind="Deployment",
        namespace="default",
        name="nginx",
        body=d.body,
        actor="user",
    )
    rollouts.deployment_update(
        cluster=demo,
        namespace="default",
        name="nginx",
        image="nginx:broken",
        resources={"requests": {"cpu": "64"}},
    )
    run(demo, 20, rng, lambda: None)
    cond = k8s.get_condition(dep(demo).status, "Progressing")
    assert cond["reason"] == "ReplicaSetUpdated" or cond["reason"] == "NewReplicaSetCreated"
    run(demo, 20, rng, lambda: None)
    status = dep(demo).status
    cond = k8s.get_condition(status, "Progressing")
    assert (cond["status"], cond["reason"]) == ("False", TIMED_OUT)
    assert cond["message"].endswith("has timed out progressing.")
    assert status["availableReplicas"] >= 3
    view = deployment_rollout(cluster=demo, namespace="default", name="nginx")
    assert view.state == "stalled"

    rollouts.deployment_rollback(cluster=demo, namespace="default", name="nginx")
    run(demo, 60, rng)
    view = deployment_rollout(cluster=demo, namespace="default", name="nginx")
    assert view.state == "complete", view.summary
    assert view.revision == 3 and view.available == 4 and view.updated == 4
    assert [r.revision for r in view.history] == [3, 2]
    assert view.history[0].images == ["nginx:1.26"]
    assert 'Rolled back deployment "nginx" to revision 1' in events(demo, "DeploymentRollback")
    rs = rss(demo)[view.history[0].rs_name]
    assert rs.body["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"


def test_rollback_refusals(demo: Cluster, rng) -> None:
    """No previous revision, a missing one, an unchanged template and a paused Deployment are
    refused with kubectl's words."""
    with pytest.raises(rollouts.RollbackRefused, match="no previous revision"):
        rollouts.deployment_rollback(cluster=demo, namespace="default", name="nginx")
    rollouts.deployment_update(cluster=demo, namespace="default", name="nginx", image="nginx:2")
    run(demo, 60, rng)
    with pytest.raises(rollouts.RollbackRefused, match="unable to find specified revision 7"):
        rollouts.deployment_rollback(cluster=demo, namespace="default", name="nginx", to_revision=7)
    with pytest.raises(rollouts.RollbackRefused, match="current template already matches"):
        rollouts.deployment_rollback(cluster=demo, namespace="default", name="nginx", to_revision=2)
    rollouts.deployment_pause(cluster=demo, namespace="default", name="nginx")
    with pytest.raises(rollouts.RollbackRefused, match="cannot rollback a paused"):
        rollouts.deployment_rollback(cluster=demo, namespace="default", name="nginx")
    reasons = {
        b["reason"]
        for b in KubeObject.objects.filter(cluster=demo, kind="Event").values_list(
            "body", flat=True
        )
    }
    assert {"DeploymentRollbackRevisionNotFound", "DeploymentRollbackTemplateUnchanged"} <= reasons


def test_pause_holds_template_changes_but_scales_then_resume_rolls_out(demo: Cluster, rng) -> None:
    """Paused: an image change creates no ReplicaSet, scaling still works, Progressing is
    Unknown/DeploymentPaused; resume: DeploymentResumed, then the rollout runs."""
    rollouts.deployment_pause(cluster=demo, namespace="default", name="nginx")
    rollouts.deployment_update(
        cluster=demo, namespace="default", name="nginx", image="nginx:1.27", replicas=6
    )
    run(demo, 30, rng)
    assert len(rss(demo)) == 1
    cond = k8s.get_condition(dep(demo).status, "Progressing")
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "Unknown",
        "DeploymentPaused",
        "Deployment is paused",
    )
    assert len(active_pods(demo)) == 6
    assert deployment_rollout(cluster=demo, namespace="default", name="nginx").state == "paused"
    rollouts.deployment_resume(cluster=demo, namespace="default", name="nginx")
    reconcile.run_to(demo, demo.sim_now + 0.5, rng)
    cond = k8s.get_condition(dep(demo).status, "Progressing")
    assert cond["reason"] in {"DeploymentResumed", "NewReplicaSetCreated", "ReplicaSetUpdated"}
    run(demo, 90, rng)
    view = deployment_rollout(cluster=demo, namespace="default", name="nginx")
    assert view.state == "complete" and view.updated == 6 and view.revision == 2


def test_scaling_mid_rollout_is_proportional(demo: Cluster, rng) -> None:
    """Scale 4 -> 8 while a stuck rollout holds both ReplicaSets: the added replicas are spread
    over both in proportion; the total is replicas + maxSurge."""
    rollouts.deployment_update(
        cluster=demo,
        namespace="default",
        name="nginx",
        resources={"requests": {"cpu": "64"}},
    )
    run(demo, 10, rng)
    sizes = sorted(int(r.spec["replicas"]) for r in rss(demo).values())
    assert sizes == [2, 3]  # new 2 (surge 1 + unavailable 1), old 3
    services.deployment_scale(cluster=demo, namespace="default", name="nginx", replicas=8)
    run(demo, 5, rng)
    sizes = sorted(int(r.spec["replicas"]) for r in rss(demo).values())
    assert sum(sizes) == 8 + 2 and sizes == [4, 6]
    assert all(
        r.body["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "8"
        for r in rss(demo).values()
    )


def test_min_ready_seconds_delays_availability(demo: Cluster, rng) -> None:
    """With minReadySeconds 20 a new pod counts as available only 20 s after it became Ready."""
    d = dep(demo)
    d.body["spec"]["minReadySeconds"] = 20
    d.body["spec"]["replicas"] = 5
    objects.object_replace(
        cluster=demo,
        kind="Deployment",
        namespace="default",
        name="nginx",
        body=d.body,
        actor="user",
    )
    seen = []
    run(
        demo,
        60,
        rng,
        lambda: seen.append(
            (
                int(dep(demo).status.get("readyReplicas", 0)),
                int(dep(demo).status.get("availableReplicas", 0)),
            )
        ),
    )
    assert (5, 4) in seen  # a window where the fifth pod is ready but not yet available
    assert seen[-1] == (5, 5)


def test_restart_makes_a_new_revision(demo: Cluster, rng) -> None:
    """rollout restart stamps restartedAt on the template: a new revision replaces every pod."""
    before = {p.name for p in active_pods(demo)}
    rollouts.deployment_restart(cluster=demo, namespace="default", name="nginx")
    run(demo, 90, rng)
    view = deployment_rollout(cluster=demo, namespace="default", name="nginx")
    assert view.revision == 2 and view.state == "complete"
    assert not before & {p.name for p in active_pods(demo)}


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        (
            {"type": "Recreate", "rollingUpdate": {"maxSurge": 1}},
            "spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is",
        ),
        (
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}},
            "maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0",
        ),
        (
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "abc", "maxUnavailable": 1}},
            'maxSurge: Invalid value: "abc": a valid percent string',
        ),
        (
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "150%"}},
            'maxUnavailable: Invalid value: "150%": must not be greater than 100%',
        ),
        (
            {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": -1, "maxUnavailable": 1}},
            "maxSurge: Invalid value: -1: must be greater than or equal to 0",
        ),
        ({"type": "BlueGreen"}, 'spec.strategy.type: Unsupported value: "BlueGreen"'),
    ],
    ids=["recreate-with-rolling", "both-zero", "bad-percent", "over-100", "negative", "type"],
)
def test_strategy_admission(demo: Cluster, strategy, message) -> None:
    """A bad strategy is refused at admission (422) as the apiserver words it."""
    d = dep(demo)
    d.body["spec"]["strategy"] = strategy
    with pytest.raises(Invalid) as exc:
        objects.object_replace(
            cluster=demo,
            kind="Deployment",
            namespace="default",
            name="nginx",
            body=d.body,
            actor="user",
        )
    assert message in exc.value.message
    assert exc.value.message.startswith('Deployment.apps "nginx" is invalid: ')


def test_edit_form_validation(demo: Cluster) -> None:
    """The edit service refuses bad quantities, an empty image and requests above limits."""
    with pytest.raises(Invalid, match="image"):
        rollouts.deployment_update(cluster=demo, namespace="default", name="nginx", image=" ")
    with pytest.raises(Invalid, match=r"resources\.requests\.cpu"):
        rollouts.deployment_update(
            cluster=demo, namespace="default", name="nginx", resources={"requests": {"cpu": "x"}}
        )
    with pytest.raises(Invalid, match="must be less than or equal to memory limit"):
        rollouts.deployment_update(
            cluster=demo,
            namespace="default",
            name="nginx",
            resources={"requests": {"memory": "1Gi"}, "limits": {"memory": "512Mi"}},
        )
    with pytest.raises(Invalid, match="may not be 0 when `maxSurge` is 0"):
        rollouts.deployment_update(
            cluster=demo, namespace="default", name="nginx", max_surge="0", max_unavailable="0%"
        )
    d = rollouts.deployment_update(
        cluster=demo, namespace="default", name="nginx", strategy_type="Recreate"
    )
    assert d.spec["strategy"] == {"type": "Recreate"}


def test_broken_image_stalls_in_image_pull_back_off_then_rollback(demo: Cluster, rng) -> None:
    """The issue's story: an image the registry does not have. The new pods go ErrImagePull ->
    ImagePullBackOff while the old ones keep serving (never fewer than replicas - maxUnavailable
    available), the Deployment reaches ProgressDeadlineExceeded, and a rollback brings every pod
    back to the old image with no pull failures left."""
    d = dep(demo)
    d.body["spec"]["progressDeadlineSeconds"] = 60
    objects.object_replace(
        cluster=demo,
        kind="Deployment",
        namespace="default",
        name="nginx",
        body=d.body,
        actor="user",
    )
    rollouts.deployment_update(
        cluster=demo, namespace="default", name="nginx", image="nginx:does-not-exist"
    )
    seen: set[str] = set()

    def check() -> None:
        assert int(dep(demo).status.get("availableReplicas", 0)) >= 3
        for p in active_pods(demo):
            if p.body["spec"]["containers"][0]["image"] == "nginx:does-not-exist":
                seen.add(k8s.pod_printed_status(p.body))

    run(demo, 90, rng, check)
    assert {"ErrImagePull", "ImagePullBackOff"} <= seen, seen
    cond = k8s.get_condition(dep(demo).status, "Progressing")
    assert (cond["status"], cond["reason"]) == ("False", TIMED_OUT)
    assert any(m.startswith('Failed to pull image "nginx:does-not-exist"') for m in events(demo))
    assert deployment_rollout(cluster=demo, namespace="default", name="nginx").state == "stalled"

    rollouts.deployment_rollback(cluster=demo, namespace="default", name="nginx")
    run(demo, 60, rng)
    view = deployment_rollout(cluster=demo, namespace="default", name="nginx")
    assert view.state == "complete", view.summary
    pods = active_pods(demo)
    assert len(pods) == 4
    assert {p.body["spec"]["containers"][0]["image"] for p in pods} == {"nginx:1.26"}
    assert {k8s.pod_printed_status(p.body) for p in pods} == {"Running"}
