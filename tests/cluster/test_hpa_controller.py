"""The HorizontalPodAutoscaler controller inside one process on an injected clock: pods burning
CPU (the ``cpu`` behaviour) against their requests make it scale up with a SuccessfulRescale
event; once the load is gone it scales down only after the 300 s stabilisation window; just
started pods have no metrics; min/max clamp (ScalingLimited); a target scaled to 0 disables it;
a restarted kube-controller-manager forgets its history; nothing runs while it is stopped."""

from __future__ import annotations

import random

import pytest

from cluster import k8s, load, reconcile, services
from cluster.models import Cluster, KubeObject, Wakeup
from cluster.services import autoscaling, objects
from cluster.services import traffic as traffic_services
from cluster.services.components import component_start, component_stop

pytestmark = pytest.mark.django_db

T0 = 1_800_000_000.0


def run(cluster: Cluster, seconds: float, rng: random.Random) -> None:
    end = cluster.sim_now + seconds
    while cluster.sim_now < end:
        reconcile.run_to(cluster, min(cluster.sim_now + 5, end), rng)


def hpa(cluster: Cluster) -> KubeObject:
    return KubeObject.objects.get(cluster=cluster, kind="HorizontalPodAutoscaler", name="web")


def replicas(cluster: Cluster) -> int:
    dep = KubeObject.objects.get(cluster=cluster, kind="Deployment", name="web")
    return int(dep.spec["replicas"])


def events(cluster: Cluster, reason: str) -> list[str]:
    rows = KubeObject.objects.filter(cluster=cluster, kind="Event").order_by("resource_version")
    return [b["message"] for b in rows.values_list("body", flat=True) if b["reason"] == reason]


def condition(cluster: Cluster, ctype: str) -> dict:
    cond = k8s.get_condition(hpa(cluster).status, ctype)
    assert cond is not None, hpa(cluster).status
    return cond


@pytest.fixture
def rng() -> random.Random:
    return random.Random(7)


@pytest.fixture
def cluster(rng: random.Random) -> Cluster:
    """Three workers, ``web`` with 2 pods requesting 200m CPU each, running for a minute."""
    cluster = services.cluster_create(name="t", profile="kubernetes", wall_now=T0)
    services.node_add(cluster=cluster, name="control-plane", control_plane=True)
    for i in (1, 2, 3):
        services.node_add(cluster=cluster, name=f"node-{i}")
    services.deployment_create(
        cluster=cluster, name="web", image="nginx:1.27", replicas=2, cpu_request="200m"
    )
    run(cluster, 60, rng)
    return cluster


def autoscale(cluster: Cluster, *, low: int = 1, high: int = 10, cpu: int = 50) -> None:
    autoscaling.hpa_create(
        cluster=cluster,
        namespace="default",
        deployment="web",
        min_replicas=low,
        max_replicas=high,
        cpu_percent=cpu,
    )


def test_cpu_burn_scales_up_then_down_after_the_window(cluster: Cluster, rng) -> None:
    autoscale(cluster)
    run(cluster, 20, rng)
    assert replicas(cluster) == 2
    assert condition(cluster, "ScalingActive")["reason"] == "ValidMetricFound"
    assert (
        hpa(cluster).status["currentMetrics"][0]["resource"]["current"]["averageUtilization"] == 0
    )

    services.deployment_behavior_set(
        cluster=cluster, namespace="default", name="web", behavior="cpu 400m"
    )
    run(cluster, 120, rng)
    assert replicas(cluster) > 2
    rescales = events(cluster, "SuccessfulRescale")
    assert rescales[0].startswith("New size: ")
    assert rescales[0].endswith(
        "reason: cpu resource utilization (percentage of request) above target"
    )
    assert condition(cluster, "AbleToScale")["status"] == "True"
    decisions = hpa(cluster).sim["decisions"]
    assert any(d["rescale"] for d in decisions) and decisions[-1]["lines"]
    peak = replicas(cluster)

    services.deployment_behavior_set(cluster=cluster, namespace="default", name="web", behavior="")
    run(cluster, 200, rng)
    assert replicas(cluster) == peak, "scale-down must wait for the stabilisation window"
    assert condition(cluster, "AbleToScale")["reason"] == "ScaleDownStabilized"
    run(cluster, 200, rng)
    assert replicas(cluster) == 1
    assert (
        events(cluster, "SuccessfulRescale")[-1] == "New size: 1; reason: All metrics below target"
    )


def test_just_started_pods_have_no_metrics(rng) -> None:
    cluster = services.cluster_create(name="t", profile="kubernetes", wall_now=T0)
    services.node_add(cluster=cluster, name="node-1")
    services.deployment_create(
        cluster=cluster, name="web", image="nginx:1.27", replicas=1, cpu_request="200m"
    )
    autoscale(cluster)
    run(cluster, 12, rng)
    assert condition(cluster, "ScalingActive")["status"] == "False"
    assert condition(cluster, "ScalingActive")["reason"] == "FailedGetResourceMetric"
    assert events(cluster, "FailedGetResourceMetric")
    assert events(cluster, "FailedComputeMetricsReplicas")[0].startswith(
        "invalid metrics (1 invalid out of 1), first error is: "
    )


def test_min_and_max_clamp_with_scaling_limited(cluster: Cluster, rng) -> None:
    autoscale(cluster, low=3, high=4)
    run(cluster, 20, rng)
    assert replicas(cluster) == 3
    assert events(cluster, "SuccessfulRescale")[0] == (
        "New size: 3; reason: Current number of replicas below Spec.MinReplicas"
    )
    services.deployment_behavior_set(
        cluster=cluster, namespace="default", name="web", behavior="cpu 1"
    )
    run(cluster, 120, rng)
    assert replicas(cluster) == 4
    limited = condition(cluster, "ScalingLimited")
    assert (limited["status"], limited["reason"]) == ("True", "TooManyReplicas")


def test_target_scaled_to_zero_disables_autoscaling(cluster: Cluster, rng) -> None:
    autoscale(cluster)
    run(cluster, 20, rng)
    objects.object_scale(
        cluster=cluster,
        kind="Deployment",
        namespace="default",
        name="web",
        replicas=0,
        actor="user",
    )
    run(cluster, 20, rng)
    active = condition(cluster, "ScalingActive")
    assert (active["status"], active["reason"]) == ("False", "ScalingDisabled")
    assert replicas(cluster) == 0


def test_one_wakeup_per_hpa_and_none_while_stopped(cluster: Cluster, rng) -> None:
    autoscale(cluster)
    run(cluster, 20, rng)
    wakeups = Wakeup.objects.filter(
        cluster=cluster, controller="horizontal-pod-autoscaler-controller"
    )
    assert [w.key for w in wakeups] == ["default/web"]
    component_stop(cluster=cluster, name="kube-controller-manager")
    services.deployment_behavior_set(
        cluster=cluster, namespace="default", name="web", behavior="cpu 400m"
    )
    run(cluster, 120, rng)
    assert replicas(cluster) == 2
    component_start(cluster=cluster, name="kube-controller-manager")
    run(cluster, 60, rng)
    assert replicas(cluster) > 2


def test_traffic_load_scales_up_spreads_and_its_removal_scales_down_late(
    cluster: Cluster, rng
) -> None:
    """The whole chain of issue 5: requests through the Service make CPU (metrics-server's
    usage model), the HPA scales ``web`` up, the new pods join the endpoints and take their
    share so utilisation settles near the target; when the traffic stops, the replicas stay
    for the 300 s stabilisation window and only then go down to the minimum."""
    services.service_expose_deployment(
        cluster=cluster, namespace="default", deployment="web", port=80
    )
    autoscale(cluster)
    # 200 rps over 2 pods: 100 rps each = 200m of CPU, 100% of the 200m request (target 50%).
    traffic_services.service_traffic_set(
        cluster=cluster, namespace="default", name="web", rps=200
    )
    run(cluster, 180, rng)

    assert replicas(cluster) >= 4
    served = load.pod_request_rates(cluster=cluster, namespace="default")
    assert len(served) == replicas(cluster), "every new pod takes its share of the traffic"
    assert sum(served.values()) == pytest.approx(200, rel=0.05)
    utilization = hpa(cluster).status["currentMetrics"][0]["resource"]["current"][
        "averageUtilization"
    ]
    assert 35 <= utilization <= 60
    assert any("above target" in m for m in events(cluster, "SuccessfulRescale"))
    peak = replicas(cluster)

    traffic_services.service_traffic_set(
        cluster=cluster, namespace="default", name="web", rps=0
    )
    run(cluster, 200, rng)
    assert replicas(cluster) == peak, "scale-down must wait for the stabilisation window"
    run(cluster, 200, rng)
    assert replicas(cluster) == 1
    last = events(cluster, "SuccessfulRescale")[-1]
    assert last == "New size: 1; reason: All metrics below target"
