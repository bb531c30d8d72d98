"""LoadBalancer Services and the cloud-controller-manager's service controller: the address
pool and the controller's decision (unit tables), and the controller in the simulation
(injected clock): an address with its events, ``<pending>`` while the component is stopped,
released on delete and on a type change."""

from __future__ import annotations

import random

import pytest

from cluster import networking, reconcile, selectors, services
from cluster.api.tables import _service_external_ip
from cluster.controllers.service_lb import plan_load_balancer
from cluster.models import Cluster, KubeObject
from cluster.services.objects import object_create, object_replace

T0 = 1_800_000_000.0

# --- the pool: unit table -----------------------------------------------------------------------

POOL = [
    ("empty", [], "203.0.113.1"),
    ("next-free", ["203.0.113.1", "203.0.113.2"], "203.0.113.3"),
    ("released-reused-first", ["203.0.113.1", "203.0.113.3"], "203.0.113.2"),
]


@pytest.mark.parametrize(("used", "expected"), [c[1:] for c in POOL], ids=[c[0] for c in POOL])
def test_pool_hands_out_the_lowest_free_address(used, expected) -> None:
    assert networking.allocate_load_balancer_ip(used=used) == expected


def test_pool_exhausted_says_so() -> None:
    with pytest.raises(networking.AllocationError, match="no free address left"):
        networking.allocate_load_balancer_ip(used=["10.0.0.1", "10.0.0.2"], pool="10.0.0.0/30")


def lb_body(*, type_: str = "LoadBalancer", ips: list[str] = (), deleting: bool = False, **spec):
    meta: dict = {"name": "web", "namespace": "default", "uid": "u1"}
    if deleting:
        meta["deletionTimestamp"] = "2027-01-01T00:00:00Z"
    ingress = [{"ip": ip} for ip in ips]
    return {
        "metadata": meta,
        "spec": {"type": type_, **spec},
        "status": {"loadBalancer": {"ingress": ingress} if ingress else {}},
    }


PLANS = [
    ("new-lb", lb_body(), None, ["203.0.113.1"], ("ensure", "203.0.113.2")),
    ("has-ip", lb_body(ips=["203.0.113.7"]), "203.0.113.7", [], ("none", "203.0.113.7")),
    ("other-class", lb_body(loadBalancerClass="example.com/lb"), None, [], ("none", "")),
    ("type-changed", lb_body(type_="ClusterIP", ips=["203.0.113.4"]), "203.0.113.4", [],
     ("delete", "203.0.113.4")),
    ("deleted", None, "203.0.113.5", [], ("delete", "203.0.113.5")),
    ("deleting", lb_body(ips=["203.0.113.6"], deleting=True), None, [], ("delete", "203.0.113.6")),
    ("never-had-one", lb_body(type_="ClusterIP"), None, [], ("none", "")),
]


@pytest.mark.parametrize(
    ("service", "remembered", "used", "expected"), [c[1:] for c in PLANS], ids=[c[0] for c in PLANS]
)
def test_plan_load_balancer(service, remembered, used, expected) -> None:
    plan = plan_load_balancer(service, remembered=remembered, used=used)
    assert (plan.action, plan.ip) == expected


def test_external_ip_column_is_pending_without_an_address() -> None:
    assert _service_external_ip(lb_body()) == "<pending>"
    assert _service_external_ip(lb_body(ips=["203.0.113.9"])) == "203.0.113.9"


# --- the controller in the simulation -----------------------------------------------------------


@pytest.fixture
def cluster() -> Cluster:
    """A new cluster: its ingress-nginx controller Service takes the pool's first address."""
    return services.cluster_create(name="t", wall_now=T0)


def run(cluster: Cluster, seconds: float = 1.0) -> None:
    cluster.refresh_from_db()
    reconcile.run_to(cluster, cluster.sim_now + seconds, random.Random(7))
    cluster.refresh_from_db()


def create_lb(cluster: Cluster, name: str) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], "selector": {"app": name}},
    }
    object_create(cluster=cluster, body=body, namespace="default", actor="t")


def service(cluster: Cluster, name: str) -> dict:
    return KubeObject.objects.get(cluster=cluster, kind="Service", name=name).body


def reasons(cluster: Cluster, name: str) -> list[str]:
    bodies = KubeObject.objects.filter(cluster=cluster, kind="Event").values_list("body", flat=True)
    events = [b for b in bodies if b["involvedObject"].get("name") == name]
    events.sort(key=lambda b: (b["lastTimestamp"], b["metadata"]["name"]))
    return [b["reason"] for b in events if b["source"]["component"] == "service-controller"]


@pytest.mark.django_db
def test_a_load_balancer_service_gets_an_address_with_the_controllers_events(cluster) -> None:
    create_lb(cluster, "web")
    assert _service_external_ip(service(cluster, "web")) == "<pending>"
    run(cluster)
    assert service(cluster, "web")["status"]["loadBalancer"]["ingress"][0]["ip"] == "203.0.113.2"
    assert set(reasons(cluster, "web")) == {"EnsuringLoadBalancer", "EnsuredLoadBalancer"}
    create_lb(cluster, "api")
    run(cluster)
    assert _service_external_ip(service(cluster, "api")) == "203.0.113.3"


@pytest.mark.django_db
def test_pending_while_the_cloud_controller_manager_is_stopped(cluster) -> None:
    services.component_stop(cluster=cluster, name="cloud-controller-manager")
    create_lb(cluster, "web")
    run(cluster, 30)
    assert _service_external_ip(service(cluster, "web")) == "<pending>"
    backlog = selectors.component_backlog(cluster=Cluster.objects.get(pk=cluster.pk))
    # web and the ingress-nginx controller's Service (never reconciled in this cluster yet).
    assert backlog["cloud-controller-manager"] == {"services": 2}
    services.component_start(cluster=cluster, name="cloud-controller-manager")
    run(cluster)
    assert _service_external_ip(service(cluster, "web")) == "203.0.113.2"


@pytest.mark.django_db
def test_address_released_on_delete_and_on_type_change(cluster) -> None:
    create_lb(cluster, "web")
    create_lb(cluster, "api")
    run(cluster)
    assert _service_external_ip(service(cluster, "web")) == "203.0.113.2"
    services.service_delete(cluster=cluster, namespace="default", name="web")
    run(cluster)
    assert reasons(cluster, "web")[-2:] == ["DeletingLoadBalancer", "DeletedLoadBalancer"]
    create_lb(cluster, "next")
    run(cluster)
    assert _service_external_ip(service(cluster, "next")) == "203.0.113.2"

    body = service(cluster, "api")
    body["spec"]["type"] = "ClusterIP"
    body["spec"]["ports"] = [{"port": 80}]
    body["spec"].pop("externalTrafficPolicy")
    body["spec"].pop("allocateLoadBalancerNodePorts")
    object_replace(
        cluster=cluster, kind="Service", namespace="default", name="api", body=body, actor="t"
    )
    run(cluster)
    assert service(cluster, "api")["status"]["loadBalancer"] == {}
    assert reasons(cluster, "api")[-1] == "DeletedLoadBalancer"
    create_lb(cluster, "last")
    run(cluster)
    assert _service_external_ip(service(cluster, "last")) == "203.0.113.3"
