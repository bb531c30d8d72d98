"""Node failure modes stepped on an injected clock (docs/nodes.md, k8s-reference §1, §1.6):
kubelet stopped, network partition, memory/disk pressure and its evictions, drain."""

from __future__ import annotations

import random

import pytest

from cluster import k8s, services
from cluster.controllers import eviction
from cluster.models import Cluster, KubeObject
from cluster.services import nodes as node_services
from cluster.services.errors import Invalid, NotFound
from tests.cluster.sim import (
    deploy_nginx,
    events,
    make_cluster,
    node,
    pods,
    reasons,
    run,
    running_ready,
)

pytestmark = pytest.mark.django_db

@pytest.fixture
def rng() -> random.Random:
    return random.Random(7)


@pytest.fixture
def demo(rng: random.Random) -> Cluster:
    return deploy_nginx(make_cluster(), rng)


def on_node(cluster: Cluster, name: str) -> dict[str, KubeObject]:
    return {p.name: p for p in pods(cluster) if p.node_name == name}


# --- kubelet stopped ---------------------------------------------------------------------------


def test_kubelet_stop_goes_unknown_evicts_and_restart_kills_without_reboot(
    demo: Cluster, rng: random.Random
) -> None:
    """kubelet stopped: Unknown after the grace period, unreachable taints, eviction after
    300 s (pods Terminating: nobody confirms); on restart "Starting kubelet.", Ready again, the
    deleted pods are killed, and no container was restarted (no SandboxChanged, no Rebooted)."""
    before = on_node(demo, "node-2")
    assert len(before) == 2
    boot_id = KubeObject.objects.get(cluster=demo, kind="Machine", name="node-2").sim["boot_id"]
    services.node_kubelet_stop(cluster=demo, name="node-2")
    run(demo, 70, rng)
    n2 = node(demo, "node-2")
    assert k8s.get_condition(n2.body["status"], "Ready")["reason"] == "NodeStatusUnknown"
    assert (k8s.TAINT_UNREACHABLE, "NoExecute") in {
        (t["key"], t["effect"]) for t in n2.body["spec"]["taints"]
    }
    # Containers keep running: the pods are still Running, just not Ready.
    assert all(p.phase == "Running" for p in on_node(demo, "node-2").values())
    run(demo, 320, rng)
    stuck = on_node(demo, "node-2")
    assert set(stuck) == set(before)
    assert all(p.deleting for p in stuck.values()), "evicted, Terminating until the kubelet is back"
    assert len(running_ready(demo)) == 6

    services.node_kubelet_start(cluster=demo, name="node-2")
    run(demo, 5, rng)
    n2 = node(demo, "node-2")
    assert k8s.node_ready_status(n2.body) == "True"
    assert "taints" not in n2.body["spec"]
    assert not on_node(demo, "node-2"), "the kubelet killed the pods deleted meanwhile"
    node_reasons = reasons(demo, name="node-2")
    assert node_reasons.count("Starting") == 2  # registration, then the restart
    assert "Rebooted" not in node_reasons
    assert "SandboxChanged" not in reasons(demo)
    killing = [e for e in events(demo) if e["reason"] == "Killing"]
    assert {e["involvedObject"]["name"] for e in killing} == set(before)
    machine = KubeObject.objects.get(cluster=demo, kind="Machine", name="node-2")
    assert machine.sim["boot_id"] == boot_id


def test_kubelet_restart_before_eviction_keeps_pods_and_restart_counts(
    demo: Cluster, rng: random.Random
) -> None:
    """A short kubelet outage: the pods are Ready again, same pods, restartCount still 0."""
    before = set(on_node(demo, "node-1"))
    services.node_kubelet_stop(cluster=demo, name="node-1")
    run(demo, 70, rng)
    assert k8s.node_ready_status(node(demo, "node-1").body) == "Unknown"
    services.node_kubelet_start(cluster=demo, name="node-1")
    run(demo, 5, rng)
    after = on_node(demo, "node-1")
    assert set(after) == before
    assert all(k8s.pod_is_ready(p.body) and k8s.pod_restarts(p.body) == 0 for p in after.values())


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("node_kubelet_start", node_services.KUBELET_ALREADY_RUNNING),
        ("node_heal", node_services.NOT_PARTITIONED),
    ],
)
def test_toggle_refuses_a_no_op(demo: Cluster, action: str, message: str) -> None:
    with pytest.raises(Invalid) as exc:
        getattr(services, action)(cluster=demo, name="node-1")
    assert exc.value.message == message.format(name="node-1")


def test_failure_modes_refuse_a_powered_off_or_missing_node(demo: Cluster) -> None:
    services.node_power_off(cluster=demo, name="node-3")
    for action in ("node_kubelet_stop", "node_partition"):
        with pytest.raises(Invalid, match="node-3 is powered off"):
            getattr(services, action)(cluster=demo, name="node-3")
    with pytest.raises(NotFound):
        services.node_partition(cluster=demo, name="node-9")
    with pytest.raises(Invalid, match='unknown pressure "cpu"'):
        services.node_pressure_set(cluster=demo, name="node-1", kind="cpu", on=True)


# --- network partition -------------------------------------------------------------------------


def test_partition_goes_unknown_and_heal_reposts_status_without_restarts(
    demo: Cluster, rng: random.Random
) -> None:
    """Partitioned: no Lease renewal reaches the API, Unknown then eviction; containers keep
    running locally. Heal: Ready is re-posted (no "Starting", no reboot), pods deleted
    meanwhile are killed."""
    before = set(on_node(demo, "node-3"))
    lease = KubeObject.objects.get(cluster=demo, kind="Lease", name="node-3")
    services.node_partition(cluster=demo, name="node-3")
    run(demo, 60, rng)
    after_lease = KubeObject.objects.get(cluster=demo, kind="Lease", name="node-3")
    assert after_lease.resource_version == lease.resource_version, "no renewal got through"
    assert k8s.node_ready_status(node(demo, "node-3").body) == "Unknown"
    run(demo, 330, rng)
    assert all(p.deleting for p in on_node(demo, "node-3").values())
    assert len(running_ready(demo)) == 6

    starting = reasons(demo, name="node-3").count("Starting")
    services.node_heal(cluster=demo, name="node-3")
    run(demo, 5, rng)
    assert k8s.node_ready_status(node(demo, "node-3").body) == "True"
    assert not on_node(demo, "node-3")
    assert reasons(demo, name="node-3").count("Starting") == starting
    assert "NodeReady" in reasons(demo, name="node-3")
    assert "SandboxChanged" not in reasons(demo)
    assert before


# --- pressure ----------------------------------------------------------------------------------


def test_memory_pressure_condition_taint_evictions_and_scheduler(rng: random.Random) -> None:
    """MemoryPressure: condition True (KubeletHasInsufficientMemory), NoSchedule taint, the
    BestEffort pods evicted one per monitoring interval (Failed/Evicted, Warning Evicted), the
    pods within their memory requests kept, replacements scheduled elsewhere; relief after the
    transition period removes the condition and the taint."""
    cluster = make_cluster()
    services.deployment_create(cluster=cluster, name="be", image="nginx:1.27", replicas=3)
    services.deployment_create(
        cluster=cluster,
        name="burst",
        image="nginx:1.27",
        replicas=3,
        cpu_request="100m",
        memory_request="128Mi",
    )
    run(cluster, 30, rng)
    assert len(running_ready(cluster)) == 6
    target = max(("node-1", "node-2", "node-3"), key=lambda n: len(on_node(cluster, n)))
    victims = [p for p in on_node(cluster, target).values() if p.name.startswith("be-")]
    kept = [p for p in on_node(cluster, target).values() if p.name.startswith("burst-")]

    services.node_pressure_set(cluster=cluster, name=target, kind="memory", on=True)
    run(cluster, 1, rng)
    n = node(cluster, target)
    cond = k8s.get_condition(n.body["status"], "MemoryPressure")
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "True",
        "KubeletHasInsufficientMemory",
        "kubelet has insufficient memory available",
    )
    assert {"key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule"} in n.body["spec"][
        "taints"
    ]
    assert "NodeHasInsufficientMemory" in reasons(cluster, name=target)
    run(cluster, 10 * len(victims) + 20, rng)
    by_name = {p.name: p for p in pods(cluster)}
    for v in victims:
        pod = by_name[v.name]
        assert pod.phase == "Failed"
        assert pod.body["status"]["reason"] == "Evicted"
        assert pod.body["status"]["message"].startswith(
            "The node was low on resource: memory. Threshold quantity: 100Mi"
        )
        assert k8s.pod_printed_status(pod.body) == "Evicted"
    for k in kept:
        assert by_name[k.name].phase == "Running"
    evicted = [e for e in events(cluster) if e["reason"] == "Evicted"]
    assert len(evicted) == len(victims) and all(e["type"] == "Warning" for e in evicted)
    times = sorted(k8s.parse_time(e["lastTimestamp"]) for e in evicted)
    assert all(b - a >= 10 - 1e-6 for a, b in zip(times, times[1:], strict=False))
    # Replacements: 6 active again, none on the pressured node.
    active = running_ready(cluster)
    assert len(active) == 6
    assert len([p for p in active if p.node_name == target]) == len(kept)

    services.node_pressure_set(cluster=cluster, name=target, kind="memory", on=False)
    run(cluster, 200, rng)
    assert k8s.get_condition(node(cluster, target).body["status"], "MemoryPressure")[
        "status"
    ] == "True", "held for evictionPressureTransitionPeriod (5m)"
    run(cluster, 120, rng)
    n = node(cluster, target)
    assert k8s.get_condition(n.body["status"], "MemoryPressure")["status"] == "False"
    assert "NodeHasSufficientMemory" in reasons(cluster, name=target)
    assert not [t for t in n.body["spec"].get("taints", []) if "pressure" in t["key"]]


def test_disk_pressure_taints_and_evicts_only_local_writers(demo: Cluster, rng) -> None:
    """DiskPressure on node-1 running pods within their requests and without emptyDir:
    condition and taint, but nobody to evict."""
    services.node_pressure_set(cluster=demo, name="node-1", kind="disk", on=True)
    run(demo, 60, rng)
    n = node(demo, "node-1")
    cond = k8s.get_condition(n.body["status"], "DiskPressure")
    assert (cond["status"], cond["reason"]) == ("True", "KubeletHasDiskPressure")
    assert {"key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule"} in n.body["spec"][
        "taints"
    ]
    assert "NodeHasDiskPressure" in reasons(demo, name="node-1")
    assert "Evicted" not in reasons(demo)
    with pytest.raises(Invalid, match="already under disk pressure"):
        services.node_pressure_set(cluster=demo, name="node-1", kind="disk", on=True)


def _pod(name: str, *, qos: str, priority: int = 0, requests: dict | None = None, **spec) -> dict:
    container = {"name": "app", "resources": {"requests": requests or {}}}
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [container], "priority": priority, **spec},
        "status": {"qosClass": qos},
    }


@pytest.mark.parametrize(
    ("pods_", "condition", "expected"),
    [
        pytest.param(
            [
                _pod("g", qos="Guaranteed", requests={"memory": "1Gi"}),
                _pod("b", qos="Burstable", requests={"cpu": "1"}),
                _pod("e", qos="BestEffort"),
            ],
            eviction.MEMORY,
            ["e", "b"],
            id="besteffort-then-burstable-over-request; within-request kept",
        ),
        pytest.param(
            [_pod("e", qos="BestEffort", priority=10), _pod("b", qos="Burstable")],
            eviction.MEMORY,
            ["b", "e"],
            id="priority-before-qos",
        ),
        pytest.param(
            [
                _pod("b", qos="Burstable", requests={"memory": "1Gi"}),
                _pod("v", qos="Burstable", requests={"memory": "1Gi"}, volumes=[{"emptyDir": {}}]),
                _pod("e", qos="BestEffort"),
            ],
            eviction.DISK,
            ["e", "v"],
            id="disk-local-writers-only",
        ),
    ],
)
def test_eviction_ranking(pods_: list[dict], condition: str, expected: list[str]) -> None:
    ranked = eviction.rank([eviction.candidate(p, condition) for p in pods_])
    assert [c.name for c in ranked] == expected


# --- drain -------------------------------------------------------------------------------------


def test_drain_cordons_evicts_and_pods_move(demo: Cluster, rng: random.Random) -> None:
    """drain: cordoned, every pod evicted (DisruptionTarget EvictionByEvictionAPI), replaced
    on the other workers; the node ends empty and SchedulingDisabled."""
    moved = set(on_node(demo, "node-1"))
    result = services.node_drain(cluster=demo, name="node-1")
    assert result.ok
    assert result.lines[0] == "node/node-1 cordoned"
    assert result.lines[-1] == "node/node-1 drained"
    assert {f"evicting pod default/{n}" for n in moved} <= set(result.lines)
    pod = KubeObject.objects.get(cluster=demo, kind="Pod", name=sorted(moved)[0])
    cond = k8s.get_condition(pod.body["status"], "DisruptionTarget")
    assert cond["reason"] == "EvictionByEvictionAPI"
    run(demo, 30, rng)
    assert not on_node(demo, "node-1")
    assert len(running_ready(demo)) == 6
    assert k8s.node_printed_status(node(demo, "node-1").body) == "Ready,SchedulingDisabled"


def test_drain_refuses_unmanaged_pods_unless_forced(demo: Cluster, rng) -> None:
    """A bare pod blocks the drain (kubectl's wording), the node stays cordoned; --force evicts."""
    services.pod_create(
        cluster=demo,
        body={
            "metadata": {"name": "bare", "namespace": "default"},
            "spec": {"nodeName": "node-2", "containers": [{"name": "c", "image": "nginx:1.27"}]},
        },
        actor="user",
    )
    run(demo, 10, rng)
    result = services.node_drain(cluster=demo, name="node-2")
    assert not result.ok
    assert result.errors == [
        "cannot delete Pods that declare no controller (use --force to override): default/bare"
    ]
    assert node(demo, "node-2").body["spec"]["unschedulable"] is True
    assert all(not p.deleting for p in on_node(demo, "node-2").values())
    forced = services.node_drain(cluster=demo, name="node-2", force=True)
    assert forced.ok
    assert forced.lines[0] == "node/node-2 already cordoned"
    assert (
        "Warning: deleting Pods that declare no controller: default/bare" in forced.lines
    )
    run(demo, 30, rng)
    assert not on_node(demo, "node-2")


@pytest.mark.parametrize(
    ("flags", "fatal"),
    [
        ({"ignore_daemonsets": False}, [node_services.DS_FATAL + ": default/ds"]),
        ({"delete_emptydir_data": False}, [node_services.LOCAL_FATAL + ": default/vol"]),
        ({}, []),
    ],
)
def test_drain_plan_filters(flags: dict, fatal: list[str]) -> None:
    ds_ref = [{"kind": "DaemonSet", "name": "x", "controller": True}]
    rs_ref = [{"kind": "ReplicaSet", "name": "y", "controller": True}]
    pods_ = [
        {"metadata": {"name": "ds", "namespace": "default", "ownerReferences": ds_ref}},
        {
            "metadata": {"name": "vol", "namespace": "default", "ownerReferences": rs_ref},
            "spec": {"volumes": [{"name": "v", "emptyDir": {}}]},
        },
        {
            "metadata": {
                "name": "mirror",
                "namespace": "kube-system",
                "annotations": {node_services.MIRROR_ANNOTATION: "x"},
            }
        },
        {"metadata": {"name": "done", "namespace": "default"}, "status": {"phase": "Succeeded"}},
    ]
    options = {"force": False, "ignore_daemonsets": True, "delete_emptydir_data": True, **flags}
    evict, fatal_found, _ = node_services.drain_plan(pods_, **options)
    assert [f"{m}: {', '.join(r)}" for m, r in fatal_found.items()] == fatal
    names = {p["metadata"]["name"] for p in evict}
    assert "mirror" not in names and "ds" not in names and "done" in names


@pytest.mark.parametrize(
    ("qos", "pressure", "tolerations", "refused"),
    [
        ("BestEffort", {}, [], ""),
        ("BestEffort", {eviction.MEMORY: True}, [], "The node had condition: [MemoryPressure]. "),
        ("Burstable", {eviction.MEMORY: True}, [], ""),
        (
            "BestEffort",
            {eviction.MEMORY: True},
            [{"key": "node.kubernetes.io/memory-pressure", "operator": "Exists"}],
            "",
        ),
        ("Guaranteed", {eviction.DISK: True}, [], "The node had condition: [DiskPressure]. "),
    ],
)
def test_kubelet_admission_under_pressure(
    qos: str, pressure: dict, tolerations: list, refused: str
) -> None:
    from cluster.controllers.kubelet import admission_refusal

    pod = {"spec": {"tolerations": tolerations}, "status": {"qosClass": qos}}
    assert admission_refusal(pod, pressure) == refused


def test_pod_bound_to_a_disk_pressured_node_is_refused(demo: Cluster, rng) -> None:
    """A pod that bypasses the scheduler (spec.nodeName) onto a node under DiskPressure is
    refused by the kubelet: Failed, reason Evicted, "The node had condition: [DiskPressure]. \""""
    services.node_pressure_set(cluster=demo, name="node-1", kind="disk", on=True)
    run(demo, 2, rng)
    services.pod_create(
        cluster=demo,
        body={
            "metadata": {"name": "direct", "namespace": "default"},
            "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "nginx:1.27"}]},
        },
        actor="user",
    )
    run(demo, 5, rng)
    pod = KubeObject.objects.get(cluster=demo, kind="Pod", name="direct")
    assert pod.phase == "Failed"
    assert pod.body["status"]["message"] == "The node had condition: [DiskPressure]. "


def test_power_cycle_with_kubelet_stopped_is_seen_as_a_reboot(demo: Cluster, rng) -> None:
    """Stop the kubelet, power-cycle the machine, start the kubelet: the new boot ID makes it
    a reboot (Rebooted event, containers restarted with SandboxChanged)."""
    services.node_kubelet_stop(cluster=demo, name="node-1")
    services.node_power_off(cluster=demo, name="node-1")
    run(demo, 5, rng)
    services.node_power_on(cluster=demo, name="node-1")
    run(demo, 5, rng)
    services.node_kubelet_start(cluster=demo, name="node-1")
    run(demo, 10, rng)
    assert "Rebooted" in reasons(demo, name="node-1")
    assert "SandboxChanged" in reasons(demo)
    assert all(k8s.pod_restarts(p.body) == 1 for p in on_node(demo, "node-1").values())
