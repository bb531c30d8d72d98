"""Cluster DNS, pure: the resolv.conf the kubelet writes per dnsPolicy, and the resolver's walk
of the search list (short name, ``svc.ns``, FQDN, trailing dot, headless, NXDOMAIN)."""

from __future__ import annotations

import pytest

from cluster import dns


def pod(namespace: str = "default", **spec) -> dict:
    return {"metadata": {"name": "p", "namespace": namespace}, "spec": spec}


CONFIGS = [
    (
        "cluster-first-default",
        pod("shop"),
        ["search shop.svc.cluster.local svc.cluster.local cluster.local",
         "nameserver 10.96.0.10", "options ndots:5"],
    ),
    ("host-network-falls-back", pod(hostNetwork=True), ["nameserver 172.18.0.1"]),
    (
        "with-host-net-keeps-cluster",
        pod(hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet"),
        ["search default.svc.cluster.local svc.cluster.local cluster.local",
         "nameserver 10.96.0.10", "options ndots:5"],
    ),
    ("default-policy", pod(dnsPolicy="Default"), ["nameserver 172.18.0.1"]),
    (
        "none-with-config",
        pod(dnsPolicy="None", dnsConfig={"nameservers": ["1.1.1.1"], "searches": ["corp.example"],
                                         "options": [{"name": "ndots", "value": "2"}]}),
        ["search corp.example", "nameserver 1.1.1.1", "options ndots:2"],
    ),
    (
        "config-merges-options",
        pod(dnsConfig={"options": [{"name": "ndots", "value": "1"}, {"name": "edns0"}]}),
        ["search default.svc.cluster.local svc.cluster.local cluster.local",
         "nameserver 10.96.0.10", "options ndots:1 edns0"],
    ),
]


@pytest.mark.parametrize(("body", "lines"), [c[1:] for c in CONFIGS], ids=[c[0] for c in CONFIGS])
def test_pod_dns_config(body, lines) -> None:
    assert dns.pod_dns_config(body, dns_ip="10.96.0.10").lines() == lines


RECORDS = dns.cluster_records(
    [
        ("default", "web", "10.96.100.1", ()),
        ("shop", "web", "10.96.100.2", ()),
        ("shop", "db", "None", ("10.244.1.5", "10.244.2.6")),
        ("shop", "empty", "None", ()),
    ]
)
CLIENT = dns.pod_dns_config(pod("default"), dns_ip="10.96.0.10")

RESOLVE = [
    ("short-own-namespace", "web", ("10.96.100.1",), 1),
    ("svc-dot-namespace", "web.shop", ("10.96.100.2",), 2),
    ("svc-ns-svc", "web.shop.svc", ("10.96.100.2",), 3),
    ("fqdn-still-searched-first", "web.shop.svc.cluster.local", ("10.96.100.2",), 4),
    ("trailing-dot-one-query", "web.shop.svc.cluster.local.", ("10.96.100.2",), 1),
    ("headless-pod-ips", "db.shop", ("10.244.1.5", "10.244.2.6"), 2),
    ("headless-without-ready-pods", "empty.shop", (), 4),
    ("other-namespace-short-name", "db", (), 4),
    ("nxdomain", "nope", (), 4),
    ("uppercase", "WEB", ("10.96.100.1",), 1),
]


@pytest.mark.parametrize(
    ("name", "addresses", "queries"), [c[1:] for c in RESOLVE], ids=[c[0] for c in RESOLVE]
)
def test_resolve_walks_the_search_list(name, addresses, queries) -> None:
    result = dns.resolve(name, CLIENT, RECORDS)
    assert result.addresses == addresses
    assert len(result.queries) == queries


def test_the_order_of_queries_follows_ndots() -> None:
    names = [q.name for q in dns.resolve("nope", CLIENT, RECORDS).queries]
    assert names == [
        "nope.default.svc.cluster.local",
        "nope.svc.cluster.local",
        "nope.cluster.local",
        "nope",
    ]
    many_dots = [q.name for q in dns.resolve("a.b.c.d.e.f", CLIENT, {}).queries]
    assert many_dots[0] == "a.b.c.d.e.f"
