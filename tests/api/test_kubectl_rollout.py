"""Real ``/usr/bin/kubectl`` driving rollouts of the demo cluster's nginx Deployment over TLS,
with a Celery worker and beat reconciling: set image + rollout status, a stuck rollout that
exceeds its progress deadline (rollout status exits 1), rollout history (+ --revision), undo
(previous and --to-revision), pause/resume, restart, scale during a rollout, and the strategy
checks at admission."""

from __future__ import annotations

import json
import time

import pytest

from cluster import services
from cluster.models import Cluster, KubeObject

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cluster(kubectl, celery_worker_proc) -> Cluster:
    """The settled demo cluster at 10x speed, reconciled live by a worker."""
    demo = Cluster.objects.get(name="demo")
    return services.cluster_clock_update(cluster=demo, speed=10)


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def deployment(cluster: Cluster) -> dict:
    return KubeObject.objects.get(cluster=cluster, kind="Deployment", name="nginx").body


def wait_for(predicate, *, timeout: float = 60, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_set_image_status_history_and_undo_to_revision(kubectl, cluster) -> None:
    """set image rolls out (rollout status succeeds); history lists revisions with their
    change-cause; --revision shows that revision's template; undo --to-revision=1 restores the
    first image as revision 3."""
    ok(kubectl("annotate", "deploy/nginx", "kubernetes.io/change-cause=first"))
    ok(kubectl("set", "image", "deploy/nginx", "nginx=nginx:1.27.1"))
    ok(kubectl("annotate", "deploy/nginx", "kubernetes.io/change-cause=to 1.27.1", "--overwrite"))
    status = ok(kubectl("rollout", "status", "deploy/nginx", "--timeout=90s"))
    assert status.endswith('deployment "nginx" successfully rolled out')
    history = ok(kubectl("rollout", "history", "deploy/nginx"))
    rows = [line.split(None, 1) for line in history.splitlines()[2:]]
    assert [r[0] for r in rows] == ["1", "2"]
    assert rows[1][1].strip() == "to 1.27.1"
    detail = ok(kubectl("rollout", "history", "deploy/nginx", "--revision=2"))
    assert "nginx:1.27.1" in detail and "revision #2" in detail
    first_image = json.loads(ok(kubectl("get", "rs", "-o", "json")))["items"]
    first_image = next(
        rs["spec"]["template"]["spec"]["containers"][0]["image"]
        for rs in first_image
        if rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    )
    assert ok(kubectl("rollout", "undo", "deploy/nginx", "--to-revision=1")) == (
        "deployment.apps/nginx rolled back"
    )
    ok(kubectl("rollout", "status", "deploy/nginx", "--timeout=90s"))
    body = deployment(cluster)
    assert body["spec"]["template"]["spec"]["containers"][0]["image"] == first_image
    assert body["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    history = ok(kubectl("rollout", "history", "deploy/nginx"))
    assert [line.split()[0] for line in history.splitlines()[2:]] == ["2", "3"]
    refused = kubectl("rollout", "undo", "deploy/nginx", "--to-revision=9")
    assert refused.returncode == 1 and "unable to find specified revision 9" in refused.stderr


def test_stuck_rollout_exceeds_deadline_then_undo(kubectl, cluster) -> None:
    """Pods that cannot be scheduled (64 cpu): rollout status exits 1 with "exceeded its
    progress deadline"; old pods keep serving; undo restores the rollout."""
    ok(kubectl("patch", "deploy/nginx", "-p", '{"spec":{"progressDeadlineSeconds":15}}'))
    ok(kubectl("set", "resources", "deploy/nginx", "--requests=cpu=64"))
    stuck = kubectl("rollout", "status", "deploy/nginx", "--timeout=60s")
    assert stuck.returncode == 1, stuck.stdout
    assert 'deployment "nginx" exceeded its progress deadline' in stuck.stderr
    status = deployment(cluster)["status"]
    # 6 replicas, 25%: maxUnavailable 1, so at least 5 old pods stay available.
    assert status["availableReplicas"] >= 5
    conds = {c["type"]: c for c in status["conditions"]}
    assert conds["Progressing"]["reason"] == "ProgressDeadlineExceeded"
    wide = ok(kubectl("get", "deploy", "nginx"))
    assert wide.splitlines()[1].split()[1] in {"5/6", "6/6"}
    ok(kubectl("rollout", "undo", "deploy/nginx"))
    ok(kubectl("rollout", "status", "deploy/nginx", "--timeout=90s"))


def test_pause_scale_resume_restart(kubectl, cluster) -> None:
    """Paused: set image makes no new ReplicaSet and scale still works; resume rolls it out;
    undo without a second revision is refused; restart makes a new revision."""
    assert ok(kubectl("rollout", "pause", "deploy/nginx")) == "deployment.apps/nginx paused"
    ok(kubectl("set", "image", "deploy/nginx", "nginx=nginx:1.28"))
    ok(kubectl("scale", "deploy/nginx", "--replicas=8"))
    wait_for(
        lambda: deployment(cluster)["status"].get("availableReplicas") == 8,
        what="8 available replicas while paused",
    )
    assert KubeObject.objects.filter(cluster=cluster, kind="ReplicaSet").count() == 1
    refused = kubectl("rollout", "undo", "deploy/nginx")  # only one revision exists
    assert refused.returncode == 1 and "no rollout history found" in refused.stderr
    assert ok(kubectl("rollout", "resume", "deploy/nginx")) == "deployment.apps/nginx resumed"
    ok(kubectl("rollout", "status", "deploy/nginx", "--timeout=90s"))
    assert deployment(cluster)["status"]["updatedReplicas"] == 8
    assert ok(kubectl("rollout", "restart", "deploy/nginx")) == "deployment.apps/nginx restarted"
    ok(kubectl("rollout", "status", "deploy/nginx", "--timeout=90s"))
    assert (
        deployment(cluster)["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    )


def test_scale_during_a_rollout_is_proportional(kubectl, cluster) -> None:
    """kubectl scale while a rollout is stuck spreads the new replicas over both ReplicaSets."""
    ok(kubectl("set", "resources", "deploy/nginx", "--requests=cpu=64"))
    wait_for(
        lambda: (
            KubeObject.objects.filter(cluster=cluster, kind="ReplicaSet").count() == 2
            and deployment(cluster)["status"].get("updatedReplicas", 0) >= 2
        ),
        what="the stuck rollout's second ReplicaSet",
    )
    ok(kubectl("scale", "deploy/nginx", "--replicas=12"))

    def sizes() -> list[int]:
        return sorted(
            b["spec"]["replicas"]
            for b in KubeObject.objects.filter(cluster=cluster, kind="ReplicaSet").values_list(
                "body", flat=True
            )
        )

    # 6 -> 12 with 25%: surge 3, so 15 in all, both ReplicaSets grow.
    wait_for(lambda: sum(sizes()) == 15, what="proportional sizes")
    small, large = sizes()
    assert small > 2 and large > 5


def test_bad_strategy_is_refused(kubectl, cluster) -> None:
    """The apiserver's strategy validation: both zero, Recreate with rollingUpdate."""
    both_zero = kubectl(
        "patch",
        "deploy/nginx",
        "-p",
        '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":0,"maxUnavailable":0}}}}',
    )
    assert both_zero.returncode == 1
    assert "may not be 0 when `maxSurge` is 0" in both_zero.stderr
    recreate = kubectl("patch", "deploy/nginx", "-p", '{"spec":{"strategy":{"type":"Recreate"}}}')
    assert recreate.returncode == 1
    assert "may not be specified when strategy `type` is 'Recreate'" in recreate.stderr
