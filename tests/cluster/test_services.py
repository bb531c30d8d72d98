"""Services and EndpointSlices: admission as the apiserver's Service registry does it (unit
tables), and the EndpointSlice controller following pods in the simulation (injected clock)."""

from __future__ import annotations

import random

import pytest

from cluster import reconcile, selectors, services
from cluster.controllers.endpointslice import (
    MAX_ENDPOINTS_PER_SLICE,
    plan_slices,
    resolve_target_port,
)
from cluster.models import Cluster, KubeObject
from cluster.services.errors import Invalid
from cluster.services.objects import object_create, object_replace

T0 = 1_800_000_000.0


def svc(spec: dict, name: str = "web") -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


# --- admission: unit tables ------------------------------------------------------------------

INVALID = [
    ("no-ports", {"selector": {"app": "x"}}, "spec.ports: Required value"),
    (
        "port-zero",
        {"ports": [{"port": 0}]},
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
    ),
    ("port-high", {"ports": [{"port": 70000}]}, "spec.ports[0].port: Invalid value: 70000"),
    (
        "target-high",
        {"ports": [{"port": 80, "targetPort": 65536}]},
        "spec.ports[0].targetPort: Invalid value: 65536",
    ),
    (
        "target-name-bad",
        {"ports": [{"port": 80, "targetPort": "Not_A_Name"}]},
        'spec.ports[0].targetPort: Invalid value: "Not_A_Name"',
    ),
    (
        "protocol",
        {"ports": [{"port": 80, "protocol": "ICMP"}]},
        'spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
    ),
    ("type", {"type": "Magic", "ports": [{"port": 80}]}, 'spec.type: Unsupported value: "Magic"'),
    (
        "two-ports-unnamed",
        {"ports": [{"port": 80, "name": "a"}, {"port": 81}]},
        "spec.ports[1].name: Required value",
    ),
    (
        "dup-names",
        {"ports": [{"port": 80, "name": "a"}, {"port": 81, "name": "a"}]},
        'spec.ports[1].name: Duplicate value: "a"',
    ),
    (
        "headless-nodeport",
        {"type": "NodePort", "clusterIP": "None", "ports": [{"port": 80}]},
        "may not be set to 'None' for NodePort services",
    ),
    (
        "nodeport-on-clusterip",
        {"ports": [{"port": 80, "nodePort": 30080}]},
        "spec.ports[0].nodePort: Forbidden",
    ),
    ("bad-ip", {"clusterIP": "10.96.0.300", "ports": [{"port": 80}]}, "must be a valid IP address"),
    (
        "ip-out-of-range",
        {"clusterIP": "192.168.0.5", "ports": [{"port": 80}]},
        "provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12",
    ),
    (
        "ip-taken",
        {"clusterIP": "10.96.0.1", "ports": [{"port": 80}]},
        'spec.clusterIPs: Invalid value: []string{"10.96.0.1"}: '
        "failed to allocate IP 10.96.0.1: provided IP is already allocated",
    ),
    (
        "nodeport-out-of-range",
        {"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]},
        "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. "
        "The range of valid ports is 30000-32767",
    ),
    (
        "affinity",
        {"sessionAffinity": "Sticky", "ports": [{"port": 80}]},
        'spec.sessionAffinity: Unsupported value: "Sticky"',
    ),
]


@pytest.fixture
def cluster() -> Cluster:
    return services.cluster_create(name="t", wall_now=T0)


@pytest.mark.django_db
@pytest.mark.parametrize(("spec", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_services_are_refused_with_the_apiservers_words(cluster, spec, message) -> None:
    with pytest.raises(Invalid) as err:
        object_create(cluster=cluster, body=svc(spec), namespace="default", actor="t")
    assert message in err.value.message
    assert err.value.message.startswith('Service "web" is invalid: ')


@pytest.mark.django_db
def test_defaults_and_allocation(cluster) -> None:
    obj = object_create(
        cluster=cluster,
        body=svc({"ports": [{"port": 80}], "selector": {"app": "web"}}),
        namespace="default",
        actor="t",
    )
    spec = obj.body["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["sessionAffinity"] == "None"
    assert spec["ipFamilies"] == ["IPv4"] and spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80}]
    assert spec["clusterIP"].startswith("10.") and spec["clusterIPs"] == [spec["clusterIP"]]
    assert spec["clusterIP"] != "10.96.0.1"
    assert "nodePort" not in spec["ports"][0]


@pytest.mark.django_db
def test_nodeport_and_loadbalancer_get_node_ports_and_headless_no_ip(cluster) -> None:
    np = object_create(
        cluster=cluster,
        body=svc({"type": "NodePort", "ports": [{"port": 80}]}, "np"),
        namespace="default",
        actor="t",
    )
    assert 30000 <= np.body["spec"]["ports"][0]["nodePort"] <= 32767
    assert np.body["spec"]["externalTrafficPolicy"] == "Cluster"
    lb = object_create(
        cluster=cluster,
        body=svc({"type": "LoadBalancer", "ports": [{"port": 80}]}, "lb"),
        namespace="default",
        actor="t",
    )
    assert lb.body["spec"]["allocateLoadBalancerNodePorts"] is True
    assert lb.body["spec"]["ports"][0]["nodePort"] != np.body["spec"]["ports"][0]["nodePort"]
    taken = np.body["spec"]["ports"][0]["nodePort"]
    with pytest.raises(Invalid, match="provided port is already allocated"):
        object_create(
            cluster=cluster,
            body=svc({"type": "NodePort", "ports": [{"port": 80, "nodePort": taken}]}, "np2"),
            namespace="default",
            actor="t",
        )
    headless = object_create(
        cluster=cluster,
        body=svc({"clusterIP": "None", "selector": {"a": "b"}}, "hl"),
        namespace="default",
        actor="t",
    )
    assert headless.body["spec"]["clusterIP"] == "None"


@pytest.mark.django_db
def test_cluster_ip_is_immutable_and_kept_when_left_out(cluster) -> None:
    obj = object_create(
        cluster=cluster, body=svc({"ports": [{"port": 80}]}), namespace="default", actor="t"
    )
    ip = obj.body["spec"]["clusterIP"]
    kept = object_replace(
        cluster=cluster,
        kind="Service",
        namespace="default",
        name="web",
        body=svc({"ports": [{"port": 81}]}),
        actor="t",
    )
    assert kept.body["spec"]["clusterIP"] == ip
    with pytest.raises(
        Invalid, match=r'spec\.clusterIP: Invalid value: "10\.96\.0\.99": field is immutable'
    ):
        object_replace(
            cluster=cluster,
            kind="Service",
            namespace="default",
            name="web",
            body=svc({"clusterIP": "10.96.0.99", "ports": [{"port": 81}]}),
            actor="t",
        )


@pytest.mark.django_db
def test_every_cluster_has_the_kubernetes_service(cluster) -> None:
    kube = KubeObject.objects.get(cluster=cluster, kind="Service", name="kubernetes")
    assert kube.namespace == "default"
    assert kube.body["spec"]["clusterIP"] == "10.96.0.1"
    assert kube.body["spec"]["ports"][0]["port"] == 443


@pytest.mark.django_db
def test_a_deleted_kubernetes_service_is_recreated_by_the_apiserver(cluster) -> None:
    services.service_delete(cluster=cluster, namespace="default", name="kubernetes")
    reconcile.run_to(cluster, cluster.sim_now + 1, random.Random(1))
    assert KubeObject.objects.filter(cluster=cluster, kind="Service", name="kubernetes").exists()


# --- the EndpointSlice plan: unit tables -----------------------------------------------------


def pod(
    name: str,
    *,
    ip: str | None = "10.244.1.5",
    ready: bool = True,
    deleting: bool = False,
    phase: str = "Running",
    ports: list | None = None,
) -> dict:
    meta: dict = {
        "name": name,
        "namespace": "default",
        "uid": f"uid-{name}",
        "labels": {"app": "web"},
    }
    if deleting:
        meta["deletionTimestamp"] = "2027-01-01T00:00:00Z"
    status: dict = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
    }
    if ip:
        status["podIP"] = ip
    return {
        "kind": "Pod",
        "metadata": meta,
        "spec": {"nodeName": "node-1", "containers": [{"name": "c", "ports": ports or []}]},
        "status": status,
    }


SERVICE = {
    "metadata": {"name": "web"},
    "spec": {
        "selector": {"app": "web"},
        "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
    },
}

CONDITIONS = [
    ("ready", {}, {"ready": True, "serving": True, "terminating": False}),
    ("not-ready", {"ready": False}, {"ready": False, "serving": False, "terminating": False}),
    (
        "terminating-ready",
        {"deleting": True},
        {"ready": False, "serving": True, "terminating": True},
    ),
    (
        "terminating-not-ready",
        {"deleting": True, "ready": False},
        {"ready": False, "serving": False, "terminating": True},
    ),
]


@pytest.mark.parametrize(
    ("kwargs", "conditions"), [c[1:] for c in CONDITIONS], ids=[c[0] for c in CONDITIONS]
)
def test_endpoint_conditions(kwargs, conditions) -> None:
    [desired] = plan_slices(SERVICE, [pod("a", **kwargs)])
    [endpoint] = desired.endpoints
    assert endpoint["conditions"] == conditions
    assert endpoint["targetRef"]["name"] == "a" and endpoint["nodeName"] == "node-1"
    assert desired.ports == (("", 8080, "TCP"),)


@pytest.mark.parametrize(
    "kwargs",
    [{"ip": None}, {"phase": "Failed"}, {"phase": "Succeeded"}],
    ids=["no-ip", "failed", "succeeded"],
)
def test_pods_without_ip_or_terminal_are_left_out(kwargs) -> None:
    [placeholder] = plan_slices(SERVICE, [pod("a", **kwargs)])
    assert placeholder.endpoints == [] and placeholder.ports == ()


def test_named_target_port_resolves_per_pod_and_groups_slices() -> None:
    named = {"port": 80, "targetPort": "http", "protocol": "TCP"}
    assert (
        resolve_target_port(named, pod("a", ports=[{"name": "http", "containerPort": 8080}]))
        == 8080
    )
    assert resolve_target_port(named, pod("b")) is None
    service = {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [named]}}
    slices = plan_slices(
        service,
        [
            pod("a", ports=[{"name": "http", "containerPort": 8080}]),
            pod("b", ports=[{"name": "http", "containerPort": 9090}]),
        ],
    )
    assert sorted(s.ports for s in slices) == [(("", 8080, "TCP"),), (("", 9090, "TCP"),)]


def test_at_most_100_endpoints_per_slice() -> None:
    pods = [pod(f"p{i:03}", ip=f"10.244.{i // 200}.{i % 200 + 2}") for i in range(250)]
    sizes = [len(s.endpoints) for s in plan_slices(SERVICE, pods)]
    assert sizes == [MAX_ENDPOINTS_PER_SLICE, MAX_ENDPOINTS_PER_SLICE, 50]


# --- the controller in the simulation --------------------------------------------------------


@pytest.fixture
def rng() -> random.Random:
    return random.Random(7)


@pytest.fixture
def demo(rng: random.Random) -> Cluster:
    cluster = services.cluster_create(name="sim", profile="kubernetes", wall_now=T0)
    services.node_add(cluster=cluster, name="control-plane", control_plane=True)
    for i in (1, 2):
        services.node_add(cluster=cluster, name=f"node-{i}")
    services.deployment_create(cluster=cluster, name="nginx", image="nginx:1.27", replicas=3)
    reconcile.run_to(cluster, cluster.sim_now + 30, rng)
    return cluster


def run(cluster: Cluster, seconds: float, rng: random.Random) -> None:
    reconcile.run_to(cluster, cluster.sim_now + seconds, rng)


def slices(cluster: Cluster, service: str = "nginx") -> list[KubeObject]:
    return list(
        KubeObject.objects.filter(
            cluster=cluster, kind="EndpointSlice", namespace="default"
        ).filter(name__startswith=f"{service}-")
    )


@pytest.mark.django_db
def test_endpoints_follow_pods(demo: Cluster, rng: random.Random) -> None:
    """Exposing a Deployment gives a slice of its ready pods; a deleted pod is terminating,
    then gone from the slice, and its replacement joins once it is ready."""
    service = services.service_expose_deployment(
        cluster=demo, namespace="default", deployment="nginx", port=80, target_port=8080
    )
    assert service.body["spec"]["selector"] == {"app": "nginx"}
    run(demo, 1, rng)
    [es] = slices(demo)
    labels = es.body["metadata"]["labels"]
    assert labels["kubernetes.io/service-name"] == "nginx"
    assert labels["endpointslice.kubernetes.io/managed-by"] == "endpointslice-controller.k8s.io"
    assert es.owner_uid == service.uid
    assert len(es.name) == len("nginx-") + 5
    assert es.body["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
    view = selectors.service_endpoints(cluster=demo, namespace="default", name="nginx")
    assert len(view["ready"]) == 3 and view["terminating"] == []

    victim = KubeObject.objects.filter(cluster=demo, kind="Pod").order_by("name").first()
    services.pod_delete(cluster=demo, namespace="default", name=victim.name)
    run(demo, 0.5, rng)
    view = selectors.service_endpoints(cluster=demo, namespace="default", name="nginx")
    assert victim.name not in [e["pod"] for e in view["ready"]]
    assert [e["pod"] for e in view["terminating"]] == [victim.name]
    run(demo, 60, rng)
    view = selectors.service_endpoints(cluster=demo, namespace="default", name="nginx")
    names = [e["pod"] for e in view["ready"]]
    assert len(names) == 3 and victim.name not in names and view["terminating"] == []


@pytest.mark.django_db
def test_a_killed_pod_leaves_the_slice_and_deleting_the_service_removes_slices(
    demo: Cluster, rng: random.Random
) -> None:
    services.service_expose_deployment(
        cluster=demo, namespace="default", deployment="nginx", port=80
    )
    run(demo, 1, rng)
    victim = KubeObject.objects.filter(cluster=demo, kind="Pod").order_by("name").first()
    services.pod_delete(cluster=demo, namespace="default", name=victim.name, grace_period=0)
    run(demo, 0.5, rng)
    addresses = [e["targetRef"]["name"] for e in slices(demo)[0].body["endpoints"]]
    assert victim.name not in addresses
    services.service_delete(cluster=demo, namespace="default", name="nginx")
    run(demo, 1, rng)
    assert slices(demo) == []


@pytest.mark.django_db
def test_scaling_changes_endpoints_and_nothing_is_rewritten_when_settled(
    demo: Cluster, rng: random.Random
) -> None:
    services.service_create(
        cluster=demo, namespace="default", name="web", selector={"app": "nginx"}, port=80
    )
    run(demo, 1, rng)
    [es] = slices(demo, "web")
    rv = es.resource_version
    run(demo, 30, rng)
    assert KubeObject.objects.get(pk=es.pk).resource_version == rv
    services.deployment_scale(cluster=demo, namespace="default", name="nginx", replicas=5)
    run(demo, 30, rng)
    view = selectors.service_endpoints(cluster=demo, namespace="default", name="web")
    assert len(view["ready"]) == 5


@pytest.mark.django_db
def test_a_pod_relabelled_out_of_the_selector_leaves_the_slice_at_once(
    demo: Cluster, rng: random.Random
) -> None:
    """Only the pod's new labels are in the change log; the controller still finds the Service
    whose slice lists the pod, so the endpoint goes without waiting for a resync (as
    `kubectl label pod X app=debug --overwrite` quarantines a pod from its Service)."""
    services.service_create(
        cluster=demo, namespace="default", name="web", selector={"app": "nginx"}, port=80
    )
    run(demo, 1, rng)
    victim = KubeObject.objects.filter(cluster=demo, kind="Pod").order_by("name").first()
    body = victim.body
    body["metadata"]["labels"]["app"] = "debug"
    object_replace(
        cluster=demo, kind="Pod", namespace="default", name=victim.name, body=body, actor="user"
    )
    run(demo, 0.5, rng)
    listed = [e["targetRef"]["name"] for e in slices(demo, "web")[0].body["endpoints"]]
    assert victim.name not in listed
    assert len(listed) == 2
