"""The kubelet's container lifecycle on an injected clock: crash loops, OOM, bad images, probes,
restartPolicy, behaviour and image changes (k8s-reference §2.2-2.4, §8.3)."""

from __future__ import annotations

import random

import pytest

from cluster import k8s, reconcile, services
from cluster.api.tables import table
from cluster.models import Cluster, KubeObject
from cluster.services import objects
from cluster.services.errors import Invalid

pytestmark = pytest.mark.django_db

T0 = 1_800_000_000.0
MI = 2**20


@pytest.fixture
def rng() -> random.Random:
    return random.Random(11)


@pytest.fixture
def cluster(rng: random.Random) -> Cluster:
    cluster = services.cluster_create(name="c", profile="kubernetes", wall_now=T0)
    services.node_add(cluster=cluster, name="node-1")
    reconcile.run_to(cluster, cluster.sim_now + 5, rng)
    return cluster


def make_pod(
    cluster: Cluster,
    name: str = "app",
    *,
    behavior: str | None = None,
    image: str = "nginx:1.27",
    restart: str = "Always",
    **container,
) -> KubeObject:
    meta: dict = {"name": name, "namespace": "default"}
    if behavior is not None:
        meta["annotations"] = {"k8sviz.io/behavior": behavior}
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {
            "restartPolicy": restart,
            "containers": [{"name": "app", "image": image, **container}],
        },
    }
    return objects.object_create(cluster=cluster, body=body, namespace="default", actor="user")


def pod(cluster: Cluster, name: str = "app") -> dict:
    return KubeObject.objects.get(cluster=cluster, kind="Pod", name=name).body


def cs(cluster: Cluster, name: str = "app") -> dict:
    return pod(cluster, name)["status"]["containerStatuses"][0]


def run(cluster: Cluster, seconds: float, rng: random.Random) -> None:
    cluster.refresh_from_db()
    reconcile.run_to(cluster, cluster.sim_now + seconds, rng)
    cluster.refresh_from_db()


def sample(cluster: Cluster, seconds: int, rng: random.Random, name: str = "app") -> list:
    """(t, restartCount, printed status) once per simulated second."""
    out = []
    start = cluster.sim_now
    for _ in range(seconds):
        run(cluster, 1, rng)
        body = pod(cluster, name)
        out.append(
            (round(cluster.sim_now - start), k8s.pod_restarts(body), k8s.pod_printed_status(body))
        )
    return out


def events(cluster: Cluster, reason: str) -> list[dict]:
    rows = KubeObject.objects.filter(cluster=cluster, kind="Event").order_by("pk")
    return [e.body for e in rows if e.body.get("reason") == reason]


def test_crash_loop_backs_off_0_10_20_40(cluster: Cluster, rng: random.Random) -> None:
    """A crashing container restarts at once, then after 10, 20, 40 s of CrashLoopBackOff, with
    restartCount, lastState and the kubelet's BackOff event as Kubernetes reports them."""
    make_pod(cluster, behavior="crash after=5s exit=3")
    samples = sample(cluster, 110, rng)
    restarts_at = [now[0] for now, before in zip(samples[1:], samples[:-1]) if now[1] > before[1]]
    # pull 4 s + start 1 s, runs 5 s, immediate restart (start 1 s), runs 5 s, then 10 s back-off.
    gaps = [b - a for a, b in zip(restarts_at, restarts_at[1:])]
    assert gaps[:3] == [5 + 10 + 1, 5 + 20 + 1, 5 + 40 + 1], samples
    statuses = {s[2] for s in samples}
    assert {"Running", "CrashLoopBackOff", "Error"} <= statuses
    body = pod(cluster)
    status = cs(cluster)
    assert status["lastState"]["terminated"]["exitCode"] == 3
    assert status["lastState"]["terminated"]["reason"] == "Error"
    assert body["status"]["phase"] == "Running"
    backoff = events(cluster, "BackOff")
    uid = body["metadata"]["uid"]
    assert backoff[0]["type"] == "Warning"
    assert backoff[0]["message"] == (
        f"Back-off restarting failed container app in pod app_default({uid})"
    )
    # While backing off: waiting CrashLoopBackOff with the kubelet's message.
    while k8s.pod_printed_status(pod(cluster)) != "CrashLoopBackOff":
        run(cluster, 1, rng)
    waiting = cs(cluster)["state"]["waiting"]
    assert waiting["reason"] == "CrashLoopBackOff"
    assert waiting["message"].startswith("back-off ")
    assert waiting["message"].endswith(f"s restarting failed container=app pod=app_default({uid})")


def test_backoff_resets_after_ten_minutes_running(cluster: Cluster, rng) -> None:
    """A container that ran 10 minutes since its last restart starts a fresh streak: its next
    restart is immediate again."""
    make_pod(cluster, behavior="crash after=5s")
    run(cluster, 60, rng)
    assert cs(cluster)["restartCount"] >= 3
    services.pod_behavior_set(
        cluster=cluster, namespace="default", name="app", behavior="crash after=700s"
    )
    while "running" not in cs(cluster)["state"]:
        run(cluster, 1, rng)
    before = cs(cluster)["restartCount"]
    run(cluster, 701, rng)
    run(cluster, 3, rng)  # crash, immediate restart, running again without a back-off
    assert cs(cluster)["restartCount"] == before + 1
    assert "running" in cs(cluster)["state"]


@pytest.mark.parametrize(
    ("restart", "behavior", "phase", "printed"),
    [
        ("Never", "crash after=3s exit=1", "Failed", "Error"),
        ("Never", "crash after=3s exit=0", "Succeeded", "Completed"),
        ("OnFailure", "crash after=3s exit=0", "Succeeded", "Completed"),
    ],
)
def test_restart_policy_keeps_container_terminated(
    cluster: Cluster, rng, restart, behavior, phase, printed
) -> None:
    make_pod(cluster, behavior=behavior, restart=restart)
    run(cluster, 40, rng)
    body = pod(cluster)
    assert body["status"]["phase"] == phase
    assert k8s.pod_printed_status(body) == printed
    assert cs(cluster)["restartCount"] == 0
    assert cs(cluster)["state"]["terminated"]["exitCode"] == int(behavior[-1])


def test_on_failure_restarts_after_non_zero_exit(cluster: Cluster, rng) -> None:
    make_pod(cluster, behavior="crash after=3s exit=2", restart="OnFailure")
    run(cluster, 40, rng)
    assert pod(cluster)["status"]["phase"] == "Running"
    assert cs(cluster)["restartCount"] >= 2


def test_memory_leak_is_oom_killed_at_the_limit(cluster: Cluster, rng) -> None:
    """20 MiB/s against a 100 MiB limit: OOMKilled (137) 5 s after start, then restarted."""
    make_pod(
        cluster,
        behavior="memory-leak rate=20Mi/s",
        resources={"limits": {"memory": "100Mi"}},
    )
    samples = sample(cluster, 12, rng)
    assert "OOMKilled" in {s[2] for s in samples}
    last = cs(cluster)["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (137, "OOMKilled")


def test_bad_image_err_image_pull_then_back_off(cluster: Cluster, rng) -> None:
    """An image the registry lacks: Failed + ErrImagePull, then ImagePullBackOff; the retries
    come 10, 20, 40 s apart; fixing the image starts the container."""
    make_pod(cluster, image="nginx:does-not-exist")
    samples = sample(cluster, 90, rng)
    printed = [s[2] for s in samples]
    assert "ErrImagePull" in printed and "ImagePullBackOff" in printed
    failed = [e["message"] for e in events(cluster, "Failed")]
    assert any(
        m.startswith('Failed to pull image "nginx:does-not-exist": ') and "not found" in m
        for m in failed
    )
    assert "Error: ErrImagePull" in failed and "Error: ImagePullBackOff" in failed
    backoff = events(cluster, "BackOff")[0]["message"]
    assert backoff == 'Back-off pulling image "nginx:does-not-exist"'
    # ErrImagePull episodes start at pull failures: 4 s pulls separated by 10, 20, 40 s back-offs.
    starts = [
        t for (t, _, p), (_, _, q) in zip(samples[1:], samples[:-1]) if p == "ErrImagePull" != q
    ]
    assert [b - a for a, b in zip(starts, starts[1:])][:2] == [10 + 4, 20 + 4]
    assert pod(cluster)["status"]["phase"] == "Pending"
    body = pod(cluster)
    body["spec"]["containers"][0]["image"] = "nginx:1.27"
    objects.object_replace(
        cluster=cluster, kind="Pod", namespace="default", name="app", body=body, actor="user"
    )
    run(cluster, 8, rng)
    assert k8s.pod_printed_status(pod(cluster)) == "Running"
    assert cs(cluster)["restartCount"] == 0


def test_unknown_repository_is_pull_access_denied(cluster: Cluster, rng) -> None:
    make_pod(cluster, image="ngnix:1.27")
    for _ in range(10):
        run(cluster, 1, rng)
        if k8s.pod_printed_status(pod(cluster)) == "ErrImagePull":
            break
    status = cs(cluster)["state"]["waiting"]
    assert status["reason"] == "ErrImagePull"
    assert "pull access denied" in status["message"]


def test_liveness_failure_kills_and_restarts(cluster: Cluster, rng) -> None:
    probe = {"httpGet": {"path": "/healthz", "port": 80}}
    make_pod(cluster, behavior="liveness-fail after=20s", livenessProbe=probe)
    # Defaults as the apiserver sets them.
    assert pod(cluster)["spec"]["containers"][0]["livenessProbe"] == {
        "httpGet": {"path": "/healthz", "port": 80, "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    run(cluster, 5 + 20 + 20 - 1, rng)  # probes at +20, +30, +40 fail: killed at +40
    assert cs(cluster)["restartCount"] == 0
    run(cluster, 3, rng)
    assert cs(cluster)["restartCount"] == 1
    unhealthy = events(cluster, "Unhealthy")
    assert unhealthy[0]["message"] == (
        "Liveness probe failed: HTTP probe failed with statuscode: 500"
    )
    assert unhealthy[0]["count"] == 3
    assert events(cluster, "Killing")[0]["message"] == (
        "Container app failed liveness probe, will be restarted"
    )
    assert cs(cluster)["lastState"]["terminated"]["exitCode"] == 137


def test_readiness_flapping(cluster: Cluster, rng) -> None:
    """readiness-fail for 30 s: Ready True -> False (after 3 failed probes) -> True again; the
    container keeps running."""
    make_pod(
        cluster,
        behavior="readiness-fail after=20s for=30s",
        readinessProbe={"tcpSocket": {"port": 80}},
    )
    samples = []
    for _ in range(70):
        run(cluster, 1, rng)
        body = pod(cluster)
        samples.append(k8s.pod_is_ready(body))
    flips = [i for i in range(1, len(samples)) if samples[i] != samples[i - 1]]
    assert len(flips) == 3, samples  # ready, not ready, ready
    assert samples[-1] is True
    body = pod(cluster)
    assert k8s.pod_ready_count(body) == "1/1"
    assert cs(cluster)["restartCount"] == 0
    assert events(cluster, "Unhealthy")[0]["message"].startswith("Readiness probe failed")


def test_never_ready_running_but_not_ready(cluster: Cluster, rng) -> None:
    make_pod(cluster, behavior="never-ready", readinessProbe={"httpGet": {"port": 80}})
    run(cluster, 30, rng)
    body = pod(cluster)
    assert k8s.pod_printed_status(body) == "Running"
    assert k8s.pod_ready_count(body) == "0/1"
    assert k8s.get_condition(body["status"], "ContainersReady")["status"] == "False"


def test_annotating_a_running_pod_takes_effect_from_now(cluster: Cluster, rng) -> None:
    make_pod(cluster)
    run(cluster, 100, rng)
    assert cs(cluster)["restartCount"] == 0
    services.pod_behavior_set(
        cluster=cluster, namespace="default", name="app", behavior="crash after=10s exit=1"
    )
    run(cluster, 9, rng)
    assert "running" in cs(cluster)["state"]
    run(cluster, 3, rng)
    assert cs(cluster)["restartCount"] == 1


def test_image_change_restarts_the_container(cluster: Cluster, rng) -> None:
    make_pod(cluster)
    run(cluster, 20, rng)
    body = pod(cluster)
    body["spec"]["containers"][0]["image"] = "nginx:1.27.3-alpine"
    objects.object_replace(
        cluster=cluster, kind="Pod", namespace="default", name="app", body=body, actor="user"
    )
    run(cluster, 10, rng)
    status = cs(cluster)
    assert status["restartCount"] == 1
    assert status["image"] == "nginx:1.27.3-alpine"
    assert "running" in status["state"]
    assert any(
        e["message"] == "Container app definition changed, will be restarted"
        for e in events(cluster, "Killing")
    )


def test_behavior_is_validated(cluster: Cluster) -> None:
    with pytest.raises(Invalid) as err:
        make_pod(cluster, behavior="explode")
    assert 'metadata.annotations[k8sviz.io/behavior]: Invalid value: "explode"' in str(err.value)
    make_pod(cluster)
    with pytest.raises(Invalid):
        services.pod_behavior_set(
            cluster=cluster, namespace="default", name="app", behavior="crash exit=999"
        )


def test_deployment_behavior_rolls_out(cluster: Cluster, rng) -> None:
    services.deployment_create(cluster=cluster, name="web", image="nginx:1.27", replicas=2)
    run(cluster, 15, rng)
    services.deployment_behavior_set(
        cluster=cluster, namespace="default", name="web", behavior="crash after=5s"
    )
    run(cluster, 30, rng)
    pods = KubeObject.objects.filter(cluster=cluster, kind="Pod")
    annotated = [
        p for p in pods if (p.body["metadata"].get("annotations") or {}).get("k8sviz.io/behavior")
    ]
    assert annotated and all(k8s.pod_restarts(p.body) >= 1 for p in annotated)


def test_kubectl_table_restarts_column(cluster: Cluster, rng) -> None:
    make_pod(cluster, behavior="crash after=5s")
    run(cluster, 40, rng)
    rows = table(kind="Pod", bodies=[pod(cluster)], now=cluster.sim_now, resource_version="1")[
        "rows"
    ]
    restarts = rows[0]["cells"][3]
    assert " ago)" in restarts and restarts.split()[0] == str(cs(cluster)["restartCount"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"restartPolicy": "Sometimes"}, 'spec.restartPolicy: Unsupported value: "Sometimes"'),
        (
            {
                "containers": [
                    {"name": "a", "image": "x", "livenessProbe": {"periodSeconds": 0}}
                ]
            },
            "spec.containers[0].livenessProbe.periodSeconds: Invalid value: 0",
        ),
        (
            {
                "containers": [
                    {"name": "a", "image": "x", "startupProbe": {"successThreshold": 2}}
                ]
            },
            "spec.containers[0].startupProbe.successThreshold: Invalid value: 2: must be 1",
        ),
    ],
)
def test_pod_admission_errors(cluster: Cluster, change: dict, message: str) -> None:
    body = {
        "metadata": {"name": "bad", "namespace": "default"},
        "kind": "Pod",
        "apiVersion": "v1",
        "spec": {"containers": [{"name": "a", "image": "nginx"}], **change},
    }
    with pytest.raises(Invalid) as err:
        objects.object_create(cluster=cluster, body=body, namespace="default", actor="user")
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("template_meta", "template_spec_extra", "message"),
    [
        (
            {"labels": {"app": "x"}, "annotations": {"k8sviz.io/behavior": "crash after=x"}},
            {},
            "spec.template.metadata.annotations[k8sviz.io/behavior]: "
            'Invalid value: "crash after=x"',
        ),
        ({"labels": {"app": "x"}}, {"restartPolicy": "Never"}, "supported values: \"Always\""),
    ],
)
def test_deployment_template_admission(
    cluster, template_meta, template_spec_extra, message
) -> None:
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "x"}},
            "template": {
                "metadata": template_meta,
                "spec": {"containers": [{"name": "a", "image": "nginx"}], **template_spec_extra},
            },
        },
    }
    with pytest.raises(Invalid) as err:
        objects.object_create(cluster=cluster, body=body, namespace="default", actor="user")
    assert message in str(err.value)


def test_deployment_template_probes_are_defaulted(cluster: Cluster) -> None:
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "x", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "x"}},
            "template": {
                "metadata": {"labels": {"app": "x"}},
                "spec": {
                    "containers": [
                        {"name": "a", "image": "nginx", "readinessProbe": {"httpGet": {"port": 80}}}
                    ]
                },
            },
        },
    }
    created = objects.object_create(cluster=cluster, body=body, namespace="default", actor="user")
    probe = created.body["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe["periodSeconds"] == 10 and probe["failureThreshold"] == 3
    assert probe["httpGet"] == {"port": 80, "path": "/", "scheme": "HTTP"}


def test_slow_start_with_readiness_probe(cluster: Cluster, rng) -> None:
    """slow-start 30s with a readiness probe: Running 0/1 until the first probe after 30 s."""
    make_pod(cluster, behavior="slow-start 30s", readinessProbe={"httpGet": {"port": 80}})
    run(cluster, 5 + 25, rng)  # pulled and started at ~5 s
    body = pod(cluster)
    assert (k8s.pod_printed_status(body), k8s.pod_ready_count(body)) == ("Running", "0/1")
    assert cs(cluster)["started"] is True
    run(cluster, 15, rng)
    assert k8s.pod_ready_count(pod(cluster)) == "1/1"


def test_slow_start_killed_by_liveness_unless_a_startup_probe_waits(
    cluster: Cluster, rng
) -> None:
    probe = {"httpGet": {"port": 80}}
    make_pod(cluster, "impatient", behavior="slow-start 45s", livenessProbe=probe)
    make_pod(
        cluster,
        "patient",
        behavior="slow-start 45s",
        livenessProbe=probe,
        startupProbe={"httpGet": {"port": 80}, "failureThreshold": 30},
    )
    run(cluster, 30, rng)
    assert cs(cluster, "impatient")["restartCount"] == 1
    assert cs(cluster, "patient")["restartCount"] == 0
    assert cs(cluster, "patient")["started"] is False
    run(cluster, 40, rng)
    assert cs(cluster, "patient")["started"] is True
    assert cs(cluster, "patient")["restartCount"] == 0


def test_never_ready_on_a_ready_pod_takes_three_failed_probes(cluster: Cluster, rng) -> None:
    """Readiness counts on from what the probes had seen: a ready pod set to never-ready goes
    not ready after failureThreshold (3) failed probes, not at once."""
    make_pod(cluster, readinessProbe={"httpGet": {"port": 80}})
    run(cluster, 30, rng)
    assert k8s.pod_ready_count(pod(cluster)) == "1/1"
    services.pod_behavior_set(
        cluster=cluster, namespace="default", name="app", behavior="never-ready"
    )
    run(cluster, 15, rng)
    assert k8s.pod_ready_count(pod(cluster)) == "1/1"
    run(cluster, 20, rng)
    assert k8s.pod_ready_count(pod(cluster)) == "0/1"
