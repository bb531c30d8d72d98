"""Pod and node addressing in the simulation: node-ipam's pod CIDRs and the kubelet's pod IPs.

Driven in-process on an injected clock (as tests/cluster/test_simulation.py), see
docs/addressing.md for the behaviour modelled.
"""

from __future__ import annotations

import ipaddress
import random

import pytest

from cluster import k8s, networking, presenters, reconcile, selectors, services
from cluster.controllers.kubelet import NETWORK_NOT_READY
from cluster.models import Change, Cluster, KubeObject
from cluster.services import store

pytestmark = pytest.mark.django_db

T0 = 1_800_000_000.0
NODES = ["control-plane", "node-1", "node-2", "node-3"]


def make_cluster(replicas: int = 0) -> Cluster:
    cluster = services.cluster_create(name="t", profile="kubernetes", wall_now=T0)
    services.node_add(cluster=cluster, name="control-plane", control_plane=True)
    for i in (1, 2, 3):
        services.node_add(cluster=cluster, name=f"node-{i}")
    if replicas:
        services.deployment_create(
            cluster=cluster,
            name="nginx",
            image="nginx:1.27",
            replicas=replicas,
            cpu_request="100m",
            memory_request="64Mi",
        )
    return cluster


def run(cluster: Cluster, seconds: float, rng: random.Random) -> None:
    reconcile.run_to(cluster, cluster.sim_now + seconds, rng)


def objects(cluster: Cluster, kind: str) -> list[KubeObject]:
    return list(KubeObject.objects.filter(cluster=cluster, kind=kind).order_by("name"))


def cidrs(cluster: Cluster) -> dict[str, str | None]:
    return {n.name: n.body["spec"].get("podCIDR") for n in objects(cluster, "Node")}


def events(cluster: Cluster, reason: str) -> list[dict]:
    return [e.body for e in objects(cluster, "Event") if e.body.get("reason") == reason]


@pytest.fixture
def rng() -> random.Random:
    return random.Random(11)


def test_nodes_get_distinct_slash24s_in_creation_order(rng: random.Random) -> None:
    """The node-ipam controller, not the kubelet, writes spec.podCIDR(s): the next free /24
    of 10.244.0.0/16 in the order the Nodes registered."""
    cluster = make_cluster()
    run(cluster, 5, rng)
    assert cidrs(cluster) == {name: f"10.244.{i}.0/24" for i, name in enumerate(NODES)}
    for node in objects(cluster, "Node"):
        assert node.body["spec"]["podCIDRs"] == [node.body["spec"]["podCIDR"]]
    first_cidr_write = (
        Change.objects.filter(cluster=cluster, kind="Node", name="node-1")
        .filter(object__spec__has_key="podCIDR")
        .order_by("rv")
        .first()
    )
    assert first_cidr_write is not None
    assert first_cidr_write.actor == "node-ipam-controller"


def test_deleted_nodes_cidr_is_reused(rng: random.Random) -> None:
    """A deleted Node's range is released and is the first one handed out again."""
    cluster = make_cluster()
    run(cluster, 5, rng)
    services.node_remove(cluster=cluster, name="node-1")
    services.node_add(cluster=cluster, name="node-4")
    run(cluster, 5, rng)
    assert cidrs(cluster)["node-4"] == "10.244.1.0/24"
    assert len(set(cidrs(cluster).values())) == 4


def test_pods_get_unique_ips_in_their_nodes_range(rng: random.Random) -> None:
    """host-local hands out addresses from .2 (the bridge is .1), unique per node, inside the
    node's podCIDR; hostIP is the node's InternalIP."""
    cluster = make_cluster(replicas=9)
    run(cluster, 40, rng)
    pods = objects(cluster, "Pod")
    assert len(pods) == 9 and all(p.phase == "Running" for p in pods)
    node_cidrs = cidrs(cluster)
    ips = [p.body["status"]["podIP"] for p in pods]
    assert len(set(ips)) == len(ips)
    by_node: dict[str, list[str]] = {}
    for pod in pods:
        ip = pod.body["status"]["podIP"]
        assert pod.body["status"]["podIPs"] == [{"ip": ip}]
        network = ipaddress.ip_network(node_cidrs[pod.node_name])
        assert ipaddress.ip_address(ip) in network
        assert int(ipaddress.ip_address(ip)) - int(network.network_address) >= 2
        by_node.setdefault(pod.node_name, []).append(ip)
        assert pod.body["status"]["hostIP"].startswith("172.18.0.")
    for ips_here in by_node.values():
        offsets = sorted(int(ip.rsplit(".", 1)[1]) for ip in ips_here)
        assert offsets == list(range(2, 2 + len(offsets)))  # handed out in order from .2


def test_ips_are_released_and_handed_out_again(rng: random.Random) -> None:
    """A new pod never gets an address a live pod on the node holds; host-local moves on
    after the last address it gave (no immediate reuse), and once the range wraps a deleted
    pod's address is handed out again."""
    cluster = make_cluster()
    run(cluster, 5, rng)
    spec = {"containers": [{"name": "c", "image": "nginx"}], "nodeName": "node-1"}

    def pod(name: str) -> KubeObject:
        services.pod_create(
            cluster=cluster,
            body={"metadata": {"name": name, "namespace": "default"}, "spec": dict(spec)},
            actor="user",
        )
        run(cluster, 20, rng)
        return KubeObject.objects.get(cluster=cluster, kind="Pod", name=name)

    assert pod("a").body["status"]["podIP"] == "10.244.1.2"
    assert pod("b").body["status"]["podIP"] == "10.244.1.3"
    services.pod_delete(cluster=cluster, namespace="default", name="a")
    run(cluster, 40, rng)
    assert pod("c").body["status"]["podIP"] == "10.244.1.4"  # not .2 at once
    # Far later in host-local's life: the last address given was the top of the range.
    machine = KubeObject.objects.get(cluster=cluster, kind="Machine", name="node-1")
    machine.sim["ipam"] = {"range": "10.244.1.0/24", "last": "10.244.1.254"}
    store.object_sim_update(obj=machine)
    assert pod("d").body["status"]["podIP"] == "10.244.1.2"  # a's, released
    assert pod("e").body["status"]["podIP"] == "10.244.1.5"  # .3, .4 still held


def test_node_without_a_range_cannot_start_pods(
    rng: random.Random, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the cluster CIDR exhausted, node-ipam records CIDRNotAvailable and leaves the
    Node without a range; pods bound there stay ContainerCreating with the kubelet's
    NetworkNotReady warning, and start once a Node's deletion frees a range."""
    monkeypatch.setattr(networking, "CLUSTER_CIDR_V4", "10.244.0.0/23")  # room for two nodes
    cluster = make_cluster()
    run(cluster, 5, rng)
    assert cidrs(cluster) == {
        "control-plane": "10.244.0.0/24",
        "node-1": "10.244.1.0/24",
        "node-2": None,
        "node-3": None,
    }
    unavailable = events(cluster, "CIDRNotAvailable")
    assert {e["involvedObject"]["name"] for e in unavailable} == {"node-2", "node-3"}
    assert unavailable[0]["message"] == (
        f"Node {unavailable[0]['involvedObject']['name']} status is now: CIDRNotAvailable"
    )
    assert unavailable[0]["source"]["component"] == "cidrAllocator"

    services.pod_create(
        cluster=cluster,
        body={
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}], "nodeName": "node-2"},
        },
        actor="user",
    )
    run(cluster, 30, rng)
    pod = KubeObject.objects.get(cluster=cluster, kind="Pod", name="p")
    assert pod.phase == "Pending"
    assert k8s.pod_printed_status(pod.body) == "ContainerCreating"
    assert not pod.body["status"].get("podIP")
    warning = events(cluster, "NetworkNotReady")
    assert warning and warning[0]["type"] == "Warning"
    assert warning[0]["message"] == NETWORK_NOT_READY

    services.node_remove(cluster=cluster, name="node-1")
    run(cluster, 30, rng)
    assert cidrs(cluster)["node-2"] == "10.244.1.0/24"
    assert cidrs(cluster)["node-3"] is None
    pod = KubeObject.objects.get(cluster=cluster, kind="Pod", name="p")
    assert pod.phase == "Running"
    assert pod.body["status"]["podIP"] == "10.244.1.2"


def test_views_show_pod_ip_and_node_cidr(rng: random.Random) -> None:
    """The dashboard's views carry the pod IP and the node's pod CIDR; describe shows both."""
    cluster = make_cluster(replicas=1)
    run(cluster, 40, rng)
    pod = objects(cluster, "Pod")[0]
    node = KubeObject.objects.get(cluster=cluster, kind="Node", name=pod.node_name)
    assert presenters.pod_view(pod.body)["ip"] == pod.body["status"]["podIP"]
    assert presenters.node_view(node.body)["podCIDR"] == node.body["spec"]["podCIDR"]
    described = selectors.describe(
        cluster=cluster, kind="Pod", namespace=pod.namespace, name=pod.name
    )
    assert f"IP:             {pod.body['status']['podIP']}" in described
    described = selectors.describe(cluster=cluster, kind="Node", namespace="", name=node.name)
    assert f"PodCIDR:        {node.body['spec']['podCIDR']}" in described
