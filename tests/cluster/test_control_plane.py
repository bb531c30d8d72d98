"""Stopping and starting control-plane components, on an injected clock (no Celery, no sleeping).

The store's guard (a stopped etcd or kube-apiserver refuses every write of an API object), the
component service's validation, and each component's outage and recovery stepped through
``reconcile.run_to``.
"""

from __future__ import annotations

import random

import pytest

from cluster import k8s, reconcile, services
from cluster.models import Change, Cluster, KubeObject
from cluster.services import errors, store
from tests.cluster.sim import deploy_nginx, make_cluster, node, pods, run, running_ready

pytestmark = pytest.mark.django_db


@pytest.fixture
def rng() -> random.Random:
    return random.Random(11)


@pytest.fixture
def demo(rng: random.Random) -> Cluster:
    cluster = deploy_nginx(make_cluster(), rng)
    assert len(running_ready(cluster)) == 6
    return cluster


def fresh(cluster: Cluster) -> Cluster:
    return Cluster.objects.get(pk=cluster.pk)


def reasons(cluster: Cluster) -> list[str]:
    return [
        b["reason"]
        for b in KubeObject.objects.filter(cluster=cluster, kind="Event").values_list(
            "body", flat=True
        )
    ]


# --- the guard ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("components_running", "expected"),
    [
        ({}, None),
        ({"kube-scheduler": False, "kube-controller-manager": False}, None),
        ({"etcd": False}, errors.EtcdUnavailable),
        ({"kube-apiserver": False}, errors.ApiServerUnavailable),
        ({"kube-apiserver": False, "etcd": False}, errors.ApiServerUnavailable),
    ],
    ids=["all-up", "scheduler-cm-down", "etcd-down", "apiserver-down", "both-down"],
)
def test_api_unavailable_table(components_running: dict, expected: type | None) -> None:
    """Only a stopped kube-apiserver or etcd refuses writes; the apiserver's error wins."""
    error = store.api_unavailable(components_running)
    assert (None if error is None else type(error)) is expected


@pytest.mark.parametrize(
    ("component", "error_type", "code", "text"),
    [
        ("etcd", errors.EtcdUnavailable, 500, "etcdserver: request timed out"),
        ("kube-apiserver", errors.ApiServerUnavailable, 503, "kube-apiserver of this cluster"),
    ],
)
def test_store_refuses_api_writes_but_not_machines(
    component: str, error_type: type, code: int, text: str
) -> None:
    """With etcd or the apiserver stopped, create/update/remove of an API object raise a clear
    error and leave no trace (no rv bump, no change-log entry); a Machine (physical) is written."""
    cluster = make_cluster()
    services.component_stop(cluster=cluster, name=component)
    cluster = fresh(cluster)
    rv = cluster.resource_version
    changes = Change.objects.filter(cluster=cluster).count()
    with pytest.raises(error_type) as caught:
        services.deployment_create(cluster=cluster, name="web", image="nginx", replicas=1)
    assert text in caught.value.message
    assert caught.value.code == code
    ns = store.object_get(cluster=cluster, kind="Namespace", namespace="", name="default")
    ns.body["metadata"]["labels"]["x"] = "y"
    with pytest.raises(error_type):
        store.object_update(obj=ns, actor="user")
    with pytest.raises(error_type):
        store.object_remove(obj=ns, actor="user")
    assert fresh(cluster).resource_version == rv
    assert Change.objects.filter(cluster=cluster).count() == changes
    machine = services.node_power_off(cluster=cluster, name="node-1")
    assert machine.spec["powered"] is False
    assert fresh(cluster).resource_version == rv + 1


@pytest.mark.parametrize(
    ("action", "name", "message"),
    [
        ("stop", "kube-proxy", 'unknown control-plane component "kube-proxy"'),
        ("start", "kube-scheduler", "kube-scheduler is already running"),
    ],
)
def test_component_service_validates(action: str, name: str, message: str) -> None:
    cluster = make_cluster()
    service = services.component_stop if action == "stop" else services.component_start
    with pytest.raises(errors.Invalid, match=message):
        service(cluster=cluster, name=name)


def test_stop_twice_refused_and_recorded_as_events() -> None:
    """A second stop is refused; stop and start each leave an Event naming who did it."""
    cluster = make_cluster()
    services.component_stop(cluster=cluster, name="kube-scheduler")
    assert fresh(cluster).components["kube-scheduler"] is False
    with pytest.raises(errors.Invalid, match="kube-scheduler is already stopped"):
        services.component_stop(cluster=cluster, name="kube-scheduler")
    services.component_start(cluster=cluster, name="kube-scheduler")
    assert fresh(cluster).components["kube-scheduler"] is True
    messages = [
        (b["reason"], b["message"], b["involvedObject"]["kind"])
        for b in KubeObject.objects.filter(cluster=cluster, kind="Event").values_list(
            "body", flat=True
        )
    ]
    assert ("Stopped", "kube-scheduler stopped by you", "ComponentStatus") in messages
    assert ("Started", "kube-scheduler started by you", "ComponentStatus") in messages


def test_etcd_stop_and_start_are_recorded_around_the_outage() -> None:
    """The stop Event is stored before etcd goes, the start Event once it is back."""
    cluster = make_cluster()
    services.component_stop(cluster=cluster, name="etcd")
    services.component_start(cluster=cluster, name="etcd")
    found = [r for r in reasons(cluster) if r in {"Stopped", "Started"}]
    assert sorted(found) == ["Started", "Stopped"]


# --- outages and recoveries --------------------------------------------------------------------


def test_scheduler_outage_leaves_new_pods_pending_then_binds_them(demo, rng) -> None:
    """Scheduler stopped: a scale-up's pods are created (the controller manager works) but stay
    Pending, unbound, however long; started again, it binds them within a second."""
    services.component_stop(cluster=demo, name="kube-scheduler")
    demo = fresh(demo)
    services.deployment_scale(cluster=demo, namespace="default", name="nginx", replicas=9)
    run(demo, 120, rng)
    unbound = [p for p in pods(demo) if not p.node_name]
    assert len(unbound) == 3
    assert all(p.phase == "Pending" for p in unbound)
    services.component_start(cluster=demo, name="kube-scheduler")
    demo = fresh(demo)
    run(demo, 1, rng)
    assert all(p.node_name for p in pods(demo))
    run(demo, 30, rng)
    assert len(running_ready(demo)) == 9


def test_restarted_scheduler_forgets_back_off(rng) -> None:
    """A pod that has just failed scheduling for the tenth time (10 s back-off) is tried at once
    by a restarted scheduler, which binds it since a node has room now."""
    cluster = make_cluster()
    run(cluster, 20, rng)
    for name in ("node-1", "node-2", "node-3"):
        services.node_cordon(cluster=cluster, name=name)
    services.pod_create(
        cluster=cluster,
        body={
            "metadata": {"name": "lonely", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        },
        actor="user",
    )
    run(cluster, 30, rng)
    pod = KubeObject.objects.get(cluster=cluster, kind="Pod", name="lonely")
    assert not pod.node_name and int(pod.sim["attempts"]) >= 1
    services.component_stop(cluster=cluster, name="kube-scheduler")
    cluster = fresh(cluster)
    pod.cluster = cluster
    pod.sim.update(attempts=10, last_attempt=cluster.sim_now - 1)  # it has just failed
    store.object_sim_update(obj=pod)
    services.node_uncordon(cluster=cluster, name="node-1")
    services.component_start(cluster=cluster, name="kube-scheduler")
    cluster = fresh(cluster)
    run(cluster, 1, rng)
    pod = KubeObject.objects.get(cluster=cluster, kind="Pod", name="lonely")
    assert pod.node_name == "node-1"


def test_controller_manager_outage_does_not_replace_deleted_pods(demo, rng) -> None:
    """Controller manager stopped: a deleted pod is gone and not replaced; started again, the
    ReplicaSet controller catches up from its cursor and the deployment is whole again."""
    services.component_stop(cluster=demo, name="kube-controller-manager")
    demo = fresh(demo)
    victim = running_ready(demo)[0]
    services.pod_delete(cluster=demo, namespace="default", name=victim.name)
    run(demo, 120, rng)
    assert len([p for p in pods(demo) if not p.deleting]) == 5
    services.component_start(cluster=demo, name="kube-controller-manager")
    demo = fresh(demo)
    run(demo, 30, rng)
    assert len(running_ready(demo)) == 6


def test_controller_manager_outage_does_not_mark_nodes_not_ready(demo, rng) -> None:
    """Controller manager stopped while node-2 is powered off: node-2 stays Ready (nobody
    watches heartbeats). Started again, healthy nodes stay Ready (their Leases were renewed)
    and node-2 goes NotReady one grace period (50 s) after the restart, not at once."""
    services.component_stop(cluster=demo, name="kube-controller-manager")
    demo = fresh(demo)
    services.node_power_off(cluster=demo, name="node-2")
    run(demo, 200, rng)
    assert k8s.node_ready_status(node(demo, "node-2").body) == "True"
    services.component_start(cluster=demo, name="kube-controller-manager")
    demo = fresh(demo)
    restart = demo.sim_now
    run(demo, 10, rng)
    assert k8s.node_ready_status(node(demo, "node-2").body) == "True"
    run(demo, 50, rng)
    assert k8s.node_ready_status(node(demo, "node-2").body) == "Unknown"
    for name in ("control-plane", "node-1", "node-3"):
        assert k8s.node_ready_status(node(demo, name).body) == "True"
    unknown = k8s.get_condition(node(demo, "node-2").body["status"], "Ready")
    assert k8s.parse_time(unknown["lastTransitionTime"]) >= restart + 50


@pytest.mark.parametrize("component", ["etcd", "kube-apiserver"])
def test_api_outage_freezes_objects_and_everything_catches_up(demo, rng, component) -> None:
    """etcd or kube-apiserver stopped: writes are refused, nothing in the store changes for
    minutes (no lease renewals, no NotReady), running pods keep running. Started again: the
    kubelets renew their Leases first, so no node flaps NotReady; a refused write works now."""
    services.component_stop(cluster=demo, name=component)
    demo = fresh(demo)
    rv = demo.resource_version
    with pytest.raises(errors.Unavailable):
        services.deployment_scale(cluster=demo, namespace="default", name="nginx", replicas=8)
    run(demo, 300, rng)
    demo = fresh(demo)
    assert demo.resource_version == rv
    assert len(running_ready(demo)) == 6
    services.component_start(cluster=demo, name=component)
    demo = fresh(demo)
    run(demo, 5, rng)
    nodes = KubeObject.objects.filter(cluster=demo, kind="Node")
    assert all(k8s.node_ready_status(n.body) == "True" for n in nodes)
    assert "NodeNotReady" not in reasons(demo)
    services.deployment_scale(cluster=demo, namespace="default", name="nginx", replicas=8)
    run(demo, 30, rng)
    assert len(running_ready(demo)) == 8
    assert "NodeNotReady" not in reasons(demo)


def test_stop_during_reconcile_aborts_the_pass_without_errors(demo, rng, caplog) -> None:
    """A reconcile holding a stale cluster object (etcd stopped by another process meanwhile)
    re-reads the components before each controller's pass: nothing is written, nothing logged
    as a failed sync."""
    stale = fresh(demo)
    services.component_stop(cluster=demo, name="etcd")
    services_rv = fresh(demo).resource_version
    assert stale.components["etcd"] is True
    reconcile.run_to(stale, stale.sim_now + 60, rng)
    assert fresh(demo).resource_version == services_rv
    assert "failed" not in caplog.text


# --- the dashboard's edge ----------------------------------------------------------------------


def post(client, url: str, data: dict | None = None):
    return client.post(url, data or {}, headers={"HX-Request": "true"})


@pytest.mark.parametrize(
    ("url", "status", "text"),
    [
        ("/clusters/t/components/kube-scheduler/stop/", 200, "kube-scheduler stopped"),
        ("/clusters/t/components/kube-scheduler/start/", 422, "kube-scheduler is already running"),
        ("/clusters/t/components/kube-proxy/stop/", 422, "unknown control-plane component"),
        ("/clusters/t/components/etcd/reboot/", 404, 'unknown component action "reboot"'),
    ],
    ids=["stop", "already-running", "unknown-component", "unknown-action"],
)
def test_component_action_view(client, url: str, status: int, text: str) -> None:
    """Stop/Start answer a toast; bad names and repeated actions are error toasts, not 500s."""
    make_cluster()
    response = post(client, url)
    assert response.status_code == status
    assert text in response.content.decode().replace("&quot;", '"')


@pytest.mark.parametrize(
    ("component", "text"),
    [("etcd", "etcdserver: request timed out"), ("kube-apiserver", "kube-apiserver of this")],
)
def test_dashboard_writes_refused_with_a_503_toast(client, component: str, text: str) -> None:
    """A refused write is an error toast with status 503 (the one 5xx htmx swaps in), whether
    the API says 500 (etcd) or 503 (apiserver); powering a machine off still works."""
    cluster = make_cluster()
    services.deployment_create(cluster=cluster, name="web", image="nginx", replicas=1)
    services.component_stop(cluster=cluster, name=component)
    response = post(client, "/clusters/t/deployments/default/web/scale/", {"replicas": "3"})
    assert response.status_code == 503
    assert text in response.content.decode()
    assert 'class="toast error' in response.content.decode()
    response = post(client, "/clusters/t/nodes/node-1/power-off/")
    assert response.status_code == 200
    assert "node-1 powered off" in response.content.decode()


def test_yaml_panel_apply_reports_the_refusal() -> None:
    """The YAML panel's apply goes through the API's write path: it reports etcd's error in
    kubectl's words and stores nothing."""
    from django.test import Client

    cluster = make_cluster()
    services.component_stop(cluster=cluster, name="etcd")
    manifest = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n"
    response = Client().post(
        "/clusters/t/yaml/apply/", {"manifest": manifest}, headers={"HX-Request": "true"}
    )
    assert "etcdserver: request timed out" in response.content.decode()
    assert not KubeObject.objects.filter(cluster=cluster, kind="Namespace", name="team-a").exists()


def test_backlog_counts_what_waits_on_stopped_components(demo, rng) -> None:
    """The diagram's waiting line: pods without a node while the scheduler is stopped; changes
    the controller manager's controllers have not seen while it is stopped; nothing otherwise."""
    from cluster import selectors

    assert selectors.component_backlog(cluster=fresh(demo)) == {}
    services.component_stop(cluster=demo, name="kube-scheduler")
    services.component_stop(cluster=demo, name="kube-controller-manager")
    demo = fresh(demo)
    services.deployment_scale(cluster=demo, namespace="default", name="nginx", replicas=8)
    services.pod_create(
        cluster=demo,
        body={
            "metadata": {"name": "solo", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        },
        actor="user",
    )
    run(demo, 5, rng)
    backlog = selectors.component_backlog(cluster=fresh(demo))
    assert backlog["kube-scheduler"] == {"pods": 1}
    # At least the Deployment's scale and the Pod's creation wait for the controller manager.
    assert backlog["kube-controller-manager"]["changes"] >= 2
    services.component_start(cluster=fresh(demo), name="kube-controller-manager")
    services.component_start(cluster=fresh(demo), name="kube-scheduler")
    demo = fresh(demo)
    run(demo, 30, rng)
    assert selectors.component_backlog(cluster=fresh(demo)) == {}


def test_etcd_stopped_mid_pass_rolls_the_pass_back(demo, rng, caplog, monkeypatch) -> None:
    """etcd stops (as seen by the store's guard) while the ReplicaSet controller is in the middle
    of its pass: its first write is refused, the whole pass (cursor included) rolls back without
    a "failed" log, and once etcd is back the controller redoes the work: the scale-up happens.
    (The stop is simulated at the guard: a real stop commits from another process, which a
    single-connection test cannot do inside the controller's transaction.)"""
    from cluster.controllers.replicaset import ReplicaSetController

    original_sync = ReplicaSetController.sync_many
    original_guard = store.api_unavailable
    etcd = {"down": False}

    def stop_then_sync(self, ctx, keys):
        etcd["down"] = True
        return original_sync(self, ctx, keys)

    def guard(components):
        if etcd["down"]:
            return errors.EtcdUnavailable(errors.ETCD_STOPPED)
        return original_guard(components)

    monkeypatch.setattr(ReplicaSetController, "sync_many", stop_then_sync)
    monkeypatch.setattr(store, "api_unavailable", guard)
    services.deployment_scale(cluster=demo, namespace="default", name="nginx", replicas=8)
    run(fresh(demo), 5, rng)
    assert len(pods(demo)) == 6
    assert "failed" not in caplog.text
    monkeypatch.setattr(ReplicaSetController, "sync_many", original_sync)
    etcd["down"] = False
    run(fresh(demo), 30, rng)
    assert len(running_ready(demo)) == 8
