"""Networking arithmetic as tables: CIDRs, pod IPs, ClusterIPs, NodePorts, DNS names, and the
spread of each kube-proxy mode (statistically, with a seeded generator)."""

from __future__ import annotations

import ipaddress
import random
from collections import Counter

import pytest

from cluster.networking import (
    ERR_NO_NODE_CIDR,
    MSG_NO_ENDPOINTS,
    SERVICE_CIDR_V4,
    SERVICE_CIDR_V6,
    AllocationError,
    Endpoint,
    allocate_cluster_ip,
    allocate_node_cidr,
    allocate_node_port,
    allocate_pod_ip,
    dns_service_ip,
    iptables_probabilities,
    kubernetes_service_ip,
    node_pod_cidrs,
    pick_endpoint,
    pick_iptables,
    pick_ipvs,
    reserve_cluster_ip,
    reserve_node_port,
    resolve_service,
    service_dns_name,
    usable_endpoints,
)


@pytest.mark.parametrize(
    ("used_v4", "used_v6", "expected"),
    [
        pytest.param((), (), ("10.244.0.0/24", "fd00:10:244::/64"), id="first-node"),
        pytest.param(
            ("10.244.0.0/24", "10.244.1.0/24"),
            ("fd00:10:244::/64", "fd00:10:244:1::/64"),
            ("10.244.2.0/24", "fd00:10:244:2::/64"),
            id="third-node",
        ),
        pytest.param(
            ("10.244.0.0/24", "10.244.2.0/24"),
            (),
            ("10.244.1.0/24", "fd00:10:244::/64"),
            id="released-cidr-reused",
        ),
    ],
)
def test_node_pod_cidrs(used_v4, used_v6, expected):
    assert node_pod_cidrs(used_v4=used_v4, used_v6=used_v6, dual_stack=True) == expected
    assert node_pod_cidrs(used_v4=used_v4) == expected[:1]


def test_node_cidrs_run_out():
    used = [f"10.244.{i}.0/24" for i in range(256)]
    with pytest.raises(AllocationError, match=ERR_NO_NODE_CIDR):
        allocate_node_cidr(cluster_cidr="10.244.0.0/16", mask=24, used=used)


@pytest.mark.parametrize(
    ("cidr", "used", "last", "expected"),
    [
        pytest.param("10.244.1.0/24", (), None, "10.244.1.2", id="after-gateway"),
        pytest.param("10.244.1.0/24", ("10.244.1.2",), "10.244.1.2", "10.244.1.3", id="next"),
        pytest.param("10.244.1.0/24", (), "10.244.1.7", "10.244.1.8", id="no-immediate-reuse"),
        pytest.param(
            "10.244.1.0/24",
            ("10.244.1.2",),
            "10.244.1.254",
            "10.244.1.3",
            id="wraps-past-broadcast",
        ),
        pytest.param("fd00:10:244:1::/64", (), None, "fd00:10:244:1::2", id="ipv6"),
    ],
)
def test_pod_ips(cidr, used, last, expected):
    assert allocate_pod_ip(node_cidr=cidr, used=used, last=last) == expected


def test_pod_range_full():
    used = [f"10.244.1.{i}" for i in range(2, 255)]
    with pytest.raises(
        AllocationError,
        match=r"no IP addresses available in range set: 10\.244\.1\.2-10\.244\.1\.254",
    ):
        allocate_pod_ip(node_cidr="10.244.1.0/24", used=used)


def test_well_known_service_ips():
    assert kubernetes_service_ip() == "10.96.0.1"
    assert kubernetes_service_ip(SERVICE_CIDR_V6) == "fd00:10:96::1"
    assert dns_service_ip() == "10.96.0.10"


@pytest.mark.parametrize("cidr", [SERVICE_CIDR_V4, SERVICE_CIDR_V6])
def test_dynamic_cluster_ips_avoid_used_and_the_static_band(cidr):
    rng = random.Random(5)
    network = ipaddress.ip_network(cidr)
    used = {kubernetes_service_ip(cidr)}
    for _ in range(200):
        ip = allocate_cluster_ip(service_cidr=cidr, used=used, rng=rng)
        assert ip not in used
        assert ipaddress.ip_address(ip) in network
        assert int(ipaddress.ip_address(ip)) - int(network.network_address) > 256
        used.add(ip)


def test_small_service_range_fills_completely():
    rng = random.Random(1)
    used: set[str] = set()
    for _ in range(14):  # a /28: 16 addresses minus network and broadcast
        used.add(allocate_cluster_ip(service_cidr="10.0.0.0/28", used=used, rng=rng))
    assert len(used) == 14
    with pytest.raises(AllocationError, match="failed to allocate a serviceIP: range is full"):
        allocate_cluster_ip(service_cidr="10.0.0.0/28", used=used, rng=rng)


@pytest.mark.parametrize(
    ("cidr", "ip", "error"),
    [
        pytest.param(SERVICE_CIDR_V4, "10.96.0.10", None, id="ok"),
        pytest.param(
            SERVICE_CIDR_V4,
            "10.96.0.1",
            "failed to allocate IP 10.96.0.1: provided IP is already allocated",
            id="taken",
        ),
        pytest.param(
            SERVICE_CIDR_V4,
            "10.0.0.5",
            "failed to allocate IP 10.0.0.5: provided IP is "
            "not in the valid range. The range of valid IPs is 10.96.0.0/12",
            id="outside",
        ),
        pytest.param(
            SERVICE_CIDR_V4,
            "10.111.255.255",
            "failed to allocate IP 10.111.255.255: "
            "provided IP is not in the valid range. The range of valid IPs is "
            "10.96.0.0/12",
            id="broadcast",
        ),
        pytest.param(SERVICE_CIDR_V6, "fd00:10:96::a", None, id="ipv6-ok"),
    ],
)
def test_requested_cluster_ip(cidr, ip, error):
    used = {kubernetes_service_ip(cidr)}
    if error is None:
        assert reserve_cluster_ip(service_cidr=cidr, ip=ip, used=used) == ip
    else:
        with pytest.raises(AllocationError) as exc:
            reserve_cluster_ip(service_cidr=cidr, ip=ip, used=used)
        assert str(exc.value) == error


@pytest.mark.parametrize(
    ("port", "error"),
    [
        pytest.param(30080, None, id="ok"),
        pytest.param(30000, "provided port is already allocated", id="taken"),
        pytest.param(
            8080,
            "provided port is not in the valid range. The range of valid ports is 30000-32767",
            id="outside",
        ),
    ],
)
def test_requested_node_port(port, error):
    if error is None:
        assert reserve_node_port(port=port, used={30000}) == port
    else:
        with pytest.raises(AllocationError) as exc:
            reserve_node_port(port=port, used={30000})
        assert str(exc.value) == error


def test_dynamic_node_ports():
    rng = random.Random(9)
    used: set[int] = set()
    for _ in range(500):
        port = allocate_node_port(used=used, rng=rng)
        assert 30086 <= port <= 32767 and port not in used
        used.add(port)


@pytest.mark.parametrize(
    ("name", "client_ns", "expected"),
    [
        pytest.param("web", "shop", ("shop", "web"), id="short-name-same-ns"),
        pytest.param("web", "default", None, id="short-name-other-ns"),
        pytest.param("web.shop", "default", ("shop", "web"), id="name.ns"),
        pytest.param("web.shop.svc.cluster.local", "x", ("shop", "web"), id="fqdn"),
        pytest.param("web.shop.svc.cluster.local.", "x", ("shop", "web"), id="absolute"),
        pytest.param("api.shop", "shop", None, id="unknown"),
    ],
)
def test_dns(name, client_ns, expected):
    services = {("shop", "web"): "10.96.4.4", ("default", "kubernetes"): "10.96.0.1"}
    assert resolve_service(name, client_ns, services) == expected
    assert service_dns_name("web", "shop") == "web.shop.svc.cluster.local"


READY = [Endpoint(f"10.244.0.{i}") for i in range(2, 6)]
DRAINING = Endpoint("10.244.9.9", ready=False, serving=True, terminating=True)
GONE = Endpoint("10.244.9.8", ready=False, serving=False, terminating=True)
UNREADY = Endpoint("10.244.9.7", ready=False, serving=False)


@pytest.mark.parametrize(
    ("endpoints", "expected"),
    [
        pytest.param([*READY, DRAINING, UNREADY], READY, id="ready-only"),
        pytest.param([DRAINING, GONE, UNREADY], [DRAINING], id="terminating-fallback"),
        pytest.param([GONE, UNREADY], [], id="nothing"),
    ],
)
def test_usable_endpoints(endpoints, expected):
    assert list(usable_endpoints(endpoints)[0]) == expected


def test_iptables_chain_probabilities():
    assert iptables_probabilities(4) == (0.25, 0.3333333333, 0.5)
    assert iptables_probabilities(1) == ()


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_iptables_spread_is_uniform(n):
    """10,000 connections spread within ±15% of 1/n each (seeded, so deterministic)."""
    rng = random.Random(42)
    endpoints = [Endpoint(f"10.244.0.{i + 2}") for i in range(n)]
    counts = Counter(pick_iptables(endpoints, rng).endpoint.address for _ in range(10_000))
    assert set(counts) == {e.address for e in endpoints}
    for count in counts.values():
        assert abs(count / 10_000 - 1 / n) <= 0.15 / n


def test_ipvs_round_robin_is_exactly_cyclic():
    state = None
    picked = []
    for _ in range(12):
        pick, state = pick_ipvs(READY, state)
        picked.append(pick.endpoint.address)
    assert picked == [e.address for e in READY] * 3


def test_ipvs_continues_after_an_endpoint_leaves():
    pick, _ = pick_ipvs(READY[1:], "10.244.0.3")  # .3 used last: next is .4
    assert pick.endpoint.address == "10.244.0.4"
    pick, _ = pick_ipvs(READY[:2], "10.244.0.5")  # last one gone: back to the head
    assert pick.endpoint.address == "10.244.0.2"


@pytest.mark.parametrize("mode", ["iptables", "ipvs"])
def test_no_endpoints_rejects(mode):
    pick, state = pick_endpoint(
        mode=mode, endpoints=[UNREADY, GONE], rng=random.Random(0), rr_last="x"
    )
    assert pick.rejected and pick.explanation == MSG_NO_ENDPOINTS and state == "x"


@pytest.mark.parametrize("mode", ["iptables", "ipvs"])
def test_draining_pod_serves_when_no_ready_one(mode):
    pick, _ = pick_endpoint(
        mode=mode, endpoints=[DRAINING, UNREADY], rng=random.Random(0), rr_last=None
    )
    assert pick.endpoint == DRAINING
    assert "terminating" in pick.explanation
