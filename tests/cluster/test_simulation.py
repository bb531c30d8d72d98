"""The simulation end to end inside one process, on an injected clock (no Celery, no sleeping).

These drive ``reconcile.run_to`` directly with a seeded RNG, so each timeline is exact: the
Kubernetes-defaults profile must give Ready=Unknown at the node-monitor grace period and
eviction at grace + 300 s, as k8s-reference §1.3 describes.
"""

from __future__ import annotations

import random

import pytest

from cluster import k8s, reconcile, services
from cluster.models import Cluster, KubeObject
from tests.cluster.sim import T0, deploy_nginx, make_cluster, node, pods, run, running_ready

pytestmark = pytest.mark.django_db

@pytest.fixture
def rng() -> random.Random:
    return random.Random(7)


@pytest.fixture
def demo(rng: random.Random) -> Cluster:
    return deploy_nginx(make_cluster(), rng)


def test_kubelets_register_nodes_and_leases(demo: Cluster) -> None:
    """Each machine's kubelet registers a Ready Node and a Lease in kube-node-lease."""
    nodes = KubeObject.objects.filter(cluster=demo, kind="Node")
    assert sorted(n.name for n in nodes) == ["control-plane", "node-1", "node-2", "node-3"]
    assert all(k8s.node_ready_status(n.body) == "True" for n in nodes)
    leases = KubeObject.objects.filter(cluster=demo, kind="Lease", namespace="kube-node-lease")
    assert leases.count() == 4
    cp = node(demo, "control-plane")
    assert {"key": k8s.TAINT_CONTROL_PLANE, "effect": "NoSchedule"} in cp.body["spec"]["taints"]


def test_deployment_yields_six_running_pods_spread_over_workers(demo: Cluster) -> None:
    """6 replicas on 3 equal empty workers: LeastAllocated spreads them 2/2/2; none lands on the
    tainted control plane; each went through Pulling/Pulled/Created/Started."""
    running = running_ready(demo)
    assert len(running) == 6
    per_node: dict[str, int] = {}
    for p in running:
        per_node[p.node_name] = per_node.get(p.node_name, 0) + 1
    assert per_node == {"node-1": 2, "node-2": 2, "node-3": 2}
    reasons = {
        b["reason"]
        for b in KubeObject.objects.filter(cluster=demo, kind="Event").values_list(
            "body", flat=True
        )
    }
    assert {
        "Scheduled",
        "Pulling",
        "Pulled",
        "Created",
        "Started",
        "SuccessfulCreate",
        "ScalingReplicaSet",
    } <= reasons
    rs = KubeObject.objects.get(cluster=demo, kind="ReplicaSet")
    assert rs.name.startswith("nginx-")
    assert (
        rs.body["spec"]["template"]["metadata"]["labels"]["pod-template-hash"]
        == rs.name.split("-", 1)[1]
    )
    dep = KubeObject.objects.get(cluster=demo, kind="Deployment")
    assert dep.body["status"]["availableReplicas"] == 6
    assert k8s.get_condition(dep.body["status"], "Available")["status"] == "True"


def test_node_loss_timeline(demo: Cluster, rng: random.Random) -> None:
    """Power off node-2: Ready=Unknown once the grace period (50 s) since the last heartbeat has
    passed (on the 5 s monitor quantum), unreachable taints and pods not ready then; eviction 300 s
    after the taint; replacements Running elsewhere; none left active on node-2."""
    lease = KubeObject.objects.get(cluster=demo, kind="Lease", name="node-2")
    last_renew = k8s.parse_micro_time(lease.body["spec"]["renewTime"])
    services.node_power_off(cluster=demo, name="node-2")
    victims = {p.name for p in running_ready(demo) if p.node_name == "node-2"}
    assert len(victims) == 2

    grace = 50.0
    run(demo, last_renew + grace - demo.sim_now - 1, rng)
    assert k8s.node_ready_status(node(demo, "node-2").body) == "True"

    run(demo, 6, rng)  # past the grace period, within one monitor period
    n2 = node(demo, "node-2")
    ready = k8s.get_condition(n2.body["status"], "Ready")
    assert ready["status"] == "Unknown"
    assert ready["reason"] == "NodeStatusUnknown"
    assert ready["message"] == "Kubelet stopped posting node status."
    unknown_at = k8s.parse_time(ready["lastTransitionTime"])
    assert last_renew + grace <= unknown_at <= last_renew + grace + 5
    taints = {(t["key"], t["effect"]) for t in n2.body["spec"]["taints"]}
    assert taints == {(k8s.TAINT_UNREACHABLE, "NoSchedule"), (k8s.TAINT_UNREACHABLE, "NoExecute")}
    for p in pods(demo):
        if p.name in victims:
            assert not k8s.pod_is_ready(p.body)
            assert p.phase == "Running"

    taint_added = next(
        k8s.parse_time(t["timeAdded"])
        for t in n2.body["spec"]["taints"]
        if t["effect"] == "NoExecute"
    )
    run(demo, taint_added + 300 - 1 - demo.sim_now, rng)  # just before the toleration expires
    assert all(not p.deleting for p in pods(demo) if p.name in victims)

    run(demo, 30, rng)  # eviction, replacement, scheduling, image already present, start
    by_name = {p.name: p for p in pods(demo)}
    for name in victims:
        assert by_name[name].deleting, (
            "evicted pods stay Terminating: nobody confirms on the dead node"
        )
        assert k8s.pod_printed_status(by_name[name].body) == "Terminating"
    running = running_ready(demo)
    assert len(running) == 6
    assert all(p.node_name in {"node-1", "node-3"} for p in running)
    reasons = [
        b["reason"]
        for b in KubeObject.objects.filter(cluster=demo, kind="Event").values_list(
            "body", flat=True
        )
    ]
    assert "TaintManagerEviction" in reasons and "NodeNotReady" in reasons


def test_power_on_recovers_node_and_finalises_terminating_pods(
    demo: Cluster, rng: random.Random
) -> None:
    """Powering the node back on: Ready again, taints gone, the Terminating pods are removed."""
    services.node_power_off(cluster=demo, name="node-2")
    run(demo, 400, rng)
    services.node_power_on(cluster=demo, name="node-2")
    run(demo, 20, rng)
    n2 = node(demo, "node-2")
    assert k8s.node_ready_status(n2.body) == "True"
    assert not [t for t in n2.body["spec"].get("taints", []) if t["key"] == k8s.TAINT_UNREACHABLE]
    assert not [p for p in pods(demo) if p.node_name == "node-2"]
    assert len(running_ready(demo)) == 6


def test_all_nodes_down_evicts_nothing(rng: random.Random) -> None:
    """With every node down the zone is fully disrupted: no NoExecute taints, no evictions."""
    cluster = services.cluster_create(name="solo", profile="kubernetes", wall_now=T0)
    services.node_add(cluster=cluster, name="only")
    services.deployment_create(cluster=cluster, name="web", image="nginx:1.27", replicas=2)
    run(cluster, 30, rng)
    assert len(running_ready(cluster)) == 2
    services.node_power_off(cluster=cluster, name="only")
    run(cluster, 600, rng)
    n = node(cluster, "only")
    assert k8s.node_ready_status(n.body) == "Unknown"
    assert not [t for t in n.body["spec"].get("taints", []) if t["effect"] == "NoExecute"]
    assert not [p for p in pods(cluster) if p.deleting]


def test_scale_down_and_delete_pod(demo: Cluster, rng: random.Random) -> None:
    """Deleting a pod gets it replaced; scaling to 3 leaves 3 Running pods."""
    victim = running_ready(demo)[0]
    services.pod_delete(cluster=demo, namespace="default", name=victim.name)
    run(demo, 20, rng)
    assert victim.name not in {p.name for p in pods(demo)}
    assert len(running_ready(demo)) == 6
    services.deployment_scale(cluster=demo, namespace="default", name="nginx", replicas=3)
    run(demo, 20, rng)
    assert len(pods(demo)) == 3


def test_unschedulable_pods_get_failed_scheduling(rng: random.Random) -> None:
    """Requests that fit nowhere: Pending, PodScheduled=False/Unschedulable, and a
    FailedScheduling event in the scheduler's message format."""
    cluster = make_cluster()
    services.deployment_create(
        cluster=cluster, name="big", image="nginx:1.27", replicas=1, cpu_request="3"
    )
    run(cluster, 30, rng)
    pod = pods(cluster)[0]
    assert pod.phase == "Pending" and not pod.node_name
    cond = k8s.get_condition(pod.body["status"], "PodScheduled")
    assert cond["status"] == "False" and cond["reason"] == "Unschedulable"
    assert cond["message"].startswith("0/4 nodes are available: ")
    assert "3 Insufficient cpu" in cond["message"]
    assert (
        "1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
        in cond["message"]
    )


def test_cordon_keeps_pods_but_blocks_scheduling(demo: Cluster, rng: random.Random) -> None:
    """Cordon: the unschedulable taint appears, running pods stay, new pods avoid the node."""
    services.node_cordon(cluster=demo, name="node-1")
    run(demo, 5, rng)
    n1 = node(demo, "node-1")
    assert {"key": k8s.TAINT_UNSCHEDULABLE, "effect": "NoSchedule"} in n1.body["spec"]["taints"]
    assert k8s.node_printed_status(n1.body) == "Ready,SchedulingDisabled"
    assert len([p for p in running_ready(demo) if p.node_name == "node-1"]) == 2
    services.deployment_scale(cluster=demo, namespace="default", name="nginx", replicas=10)
    run(demo, 30, rng)
    assert len([p for p in pods(demo) if p.node_name == "node-1"]) == 2
    services.node_uncordon(cluster=demo, name="node-1")
    run(demo, 5, rng)
    assert "taints" not in node(demo, "node-1").body["spec"]


def test_deleting_deployment_cascades(demo: Cluster, rng: random.Random) -> None:
    """Background cascading deletion: ReplicaSet, then pods (terminated by their kubelets)."""
    services.deployment_delete(cluster=demo, namespace="default", name="nginx")
    run(demo, 30, rng)
    assert not KubeObject.objects.filter(cluster=demo, kind__in=["ReplicaSet", "Pod"]).exists()


def _delete(cluster: Cluster, kind: str, name: str, propagation: str, namespace: str = "default"):
    from cluster.services import objects

    return objects.object_delete(
        cluster=cluster,
        kind=kind,
        namespace=namespace,
        name=name,
        actor="kubectl",
        propagation=propagation,
    )


def test_foreground_deletion_waits_for_dependents(demo: Cluster, rng: random.Random) -> None:
    """--cascade=foreground: the Deployment stays (deletionTimestamp, foregroundDeletion) while
    its ReplicaSet, then that ReplicaSet's pods, terminate; the owners go last."""
    from cluster.models import Change

    demo.refresh_from_db()
    since = demo.resource_version
    obj, gone = _delete(demo, "Deployment", "nginx", "Foreground")
    assert not gone
    assert obj.body["metadata"]["finalizers"] == ["foregroundDeletion"]
    run(demo, 40, rng)
    assert not KubeObject.objects.filter(
        cluster=demo, kind__in=["Deployment", "ReplicaSet", "Pod"]
    ).exists()
    log = [
        (c.type, c.kind, c.object["metadata"].get("finalizers"))
        for c in Change.objects.filter(
            cluster=demo, rv__gt=since, kind__in=["Deployment", "ReplicaSet", "Pod"]
        )
    ]
    assert log[1] == ("MODIFIED", "ReplicaSet", ["foregroundDeletion"])  # deleted in turn
    deletions = [kind for change, kind, _ in log if change == "DELETED"]
    assert deletions == ["Pod"] * 6 + ["ReplicaSet", "Deployment"]  # owners last


def test_orphan_deletion_keeps_dependents(demo: Cluster, rng: random.Random) -> None:
    """--cascade=orphan: the ReplicaSet loses its ownerReference and keeps its six pods."""
    _delete(demo, "Deployment", "nginx", "Orphan")
    run(demo, 10, rng)
    assert not KubeObject.objects.filter(cluster=demo, kind="Deployment").exists()
    rs = KubeObject.objects.get(cluster=demo, kind="ReplicaSet")
    assert "ownerReferences" not in rs.body["metadata"] and not rs.deleting
    assert len(running_ready(demo)) == 6


def test_namespace_deletion_empties_it_first(demo: Cluster, rng: random.Random) -> None:
    from cluster.services import objects

    namespace = {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": "team-a"}}
    objects.object_create(cluster=demo, body=namespace, namespace=None, actor="kubectl")
    services.deployment_create(
        cluster=demo, name="api", image="nginx:1.27", replicas=2, namespace="team-a"
    )
    run(demo, 20, rng)
    assert KubeObject.objects.filter(cluster=demo, kind="Pod", namespace="team-a").count() == 2
    _, gone = _delete(demo, "Namespace", "team-a", "Background", namespace="")
    assert not gone
    ns = KubeObject.objects.get(cluster=demo, kind="Namespace", name="team-a")
    assert ns.body["status"]["phase"] == "Terminating"
    with pytest.raises(services.ServiceError, match="because it is being terminated"):
        objects.object_create(
            cluster=demo,
            body={
                "kind": "Pod",
                "apiVersion": "v1",
                "metadata": {"name": "late"},
                "spec": {"containers": [{"name": "a", "image": "nginx"}]},
            },
            namespace="team-a",
            actor="kubectl",
        )
    run(demo, 60, rng)
    assert not KubeObject.objects.filter(cluster=demo, namespace="team-a").exists()
    assert not KubeObject.objects.filter(cluster=demo, kind="Namespace", name="team-a").exists()
    assert len(running_ready(demo)) == 6  # the default namespace is untouched


def test_events_expire_after_ttl(demo: Cluster, rng: random.Random) -> None:
    """Events older than the event TTL are deleted (kube-apiserver --event-ttl)."""
    from cluster.services.k8s_events import events_expire

    count = KubeObject.objects.filter(cluster=demo, kind="Event").count()
    assert count > 0
    assert events_expire(cluster=demo, ttl=3600) == 0
    demo.sim_now += 3601
    assert events_expire(cluster=demo, ttl=3600) == count
    assert not KubeObject.objects.filter(cluster=demo, kind="Event").exists()


def test_paused_cluster_is_frozen_until_stepped(demo: Cluster) -> None:
    """Pause freezes time and reactions; a step advances exactly the requested seconds."""
    services.cluster_clock_update(cluster=demo, paused=True, wall_now=T0 + 100)
    before = Cluster.objects.get(pk=demo.pk).sim_now
    services.deployment_scale(cluster=demo, namespace="default", name="nginx", replicas=8)
    reconcile.advance(demo.pk, wall_now=T0 + 200, rng=random.Random(1))
    demo.refresh_from_db()
    assert demo.sim_now == before
    assert KubeObject.objects.filter(cluster=demo, kind="Pod").count() == 6
    services.cluster_step(cluster=demo, seconds=10)
    reconcile.advance(demo.pk, wall_now=T0 + 300, rng=random.Random(1))
    demo.refresh_from_db()
    assert demo.sim_now == pytest.approx(before + 10)
    assert demo.step_pending == 0
    assert KubeObject.objects.filter(cluster=demo, kind="Pod").count() == 8


def test_lease_renewals_are_jittered_like_the_lease_controller(demo: Cluster, rng) -> None:
    """Renewals come every renew interval plus up to 4% (wait.JitterUntil(..., 0.04, ...)),
    so nodes that booted together stop heartbeating in the same instant."""
    from cluster.models import Change

    start_rv = demo.resource_version
    run(demo, 200, rng)
    renewals: dict[str, list[float]] = {}
    for change in Change.objects.filter(
        cluster=demo, kind="Lease", rv__gt=start_rv, type=Change.Type.MODIFIED
    ).order_by("rv"):
        renew = k8s.parse_micro_time(change.object["spec"]["renewTime"])
        renewals.setdefault(change.name, []).append(renew)
    assert set(renewals) == {"control-plane", "node-1", "node-2", "node-3"}
    gaps = [b - a for times in renewals.values() for a, b in zip(times, times[1:], strict=False)]
    # The discrete-event loop's instants are at least MIN_STEP apart, so a renewal may slip.
    slack = reconcile.MIN_STEP + 1e-3
    assert all(10.0 - 1e-3 <= gap <= 10.4 + slack for gap in gaps), sorted(gaps)[-5:]
    assert len({round(gap, 3) for gap in gaps}) > 1  # not all exactly 10 s


def test_kubelet_periodic_sync_queues_only_unsettled_pods(demo: Cluster, rng) -> None:
    """Every syncFrequency each kubelet re-syncs its node's pods; Running ones would be no-ops
    and are not queued, so a steady node's pass costs nothing per pod."""
    from cluster.controllers import kubelet
    from cluster.controllers.base import SyncContext
    from cluster.models import Wakeup

    machine = KubeObject.objects.get(cluster=demo, kind="Machine", name="node-1")
    on_node = [p for p in pods(demo) if p.node_name == "node-1"]
    assert on_node and all(p.phase == "Running" for p in on_node)
    stuck = on_node[0]
    KubeObject.objects.filter(pk=stuck.pk).update(phase="Pending")  # as if a stage was lost
    machine.sim.pop("pods_synced", None)
    ctx = SyncContext(
        cluster=demo,
        now=demo.sim_now,
        rng=rng,
        timings=reconcile.timings.resolve(demo.profile, demo.timings),
        controller="kubelet",
        state={},
    )
    Wakeup.objects.filter(cluster=demo, controller="kubelet").delete()

    kubelet.Kubelet()._periodic_pod_sync(ctx, machine)

    woken = set(
        Wakeup.objects.filter(cluster=demo, controller="kubelet").values_list("key", flat=True)
    )
    assert woken == {f"pod:default/{stuck.name}"}
    # Within syncFrequency nothing is queued again.
    Wakeup.objects.filter(cluster=demo, controller="kubelet").delete()
    kubelet.Kubelet()._periodic_pod_sync(ctx, machine)
    assert not Wakeup.objects.filter(cluster=demo, controller="kubelet").exists()


def test_controllers_resync_rarely_and_not_all_at_once() -> None:
    """kube-controller-manager's informers resync every 12h x [1, 2); the kubelet not at all
    cluster-wide (each node syncs its own pods)."""
    from cluster.controllers import CONTROLLERS

    periods = {c.name: c.resync_after(1) for c in CONTROLLERS}
    assert periods["kubelet"] == 0.0
    others = [p for name, p in periods.items() if name != "kubelet"]
    assert all(12 * 3600 <= p < 24 * 3600 for p in others)
    assert len(set(others)) == len(others)
