"""IPv4/IPv6 dual-stack (docs/addressing.md): the Service registry's IP-family rules on single-
and dual-stack clusters (create, upgrade, downgrade, refusals in the apiserver's words),
node-ipam's second range, the pods' two addresses, one set of EndpointSlices per family, and
kube-proxy, the Services panel and the request tool using one family's endpoints."""

from __future__ import annotations

import ipaddress
import random

import pytest

from cluster import networking, request_path, services, traffic_selectors
from cluster.models import Cluster, KubeObject
from cluster.services.errors import Invalid
from cluster.services.networking import service_admit, service_admit_update
from tests.cluster.sim import T0, deploy_nginx, make_cluster, node, pods, run

pytestmark = pytest.mark.django_db

V4_RANGE = ipaddress.ip_network(networking.SERVICE_CIDR_V4)
V6_RANGE = ipaddress.ip_network(networking.SERVICE_CIDR_V6)


def svc(name: str = "web", **spec: object) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], **spec},
    }


@pytest.fixture
def single() -> Cluster:
    return services.cluster_create(name="single", wall_now=T0)


@pytest.fixture
def dual() -> Cluster:
    return services.cluster_create(name="dual", wall_now=T0, dual_stack=True)


def admitted(cluster: Cluster, body: dict) -> dict:
    service_admit(cluster, body, rng=random.Random(1))
    return body["spec"]


def refusal(cluster: Cluster, body: dict) -> str:
    with pytest.raises(Invalid) as err:
        service_admit(cluster, body, rng=random.Random(1))
    return str(err.value)


def family_spec(spec: dict) -> tuple:
    return (
        spec["ipFamilyPolicy"],
        spec["ipFamilies"],
        [networking.family_of(ip) for ip in spec["clusterIPs"]],
    )


# --- admission: creating -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, ("SingleStack", ["IPv4"], ["IPv4"])),
        ({"ipFamilyPolicy": "PreferDualStack"}, ("PreferDualStack", ["IPv4"], ["IPv4"])),
        ({"ipFamilies": ["IPv4"]}, ("SingleStack", ["IPv4"], ["IPv4"])),
    ],
)
def test_single_stack_cluster_gives_one_ipv4_address(single, extra, expected) -> None:
    spec = admitted(single, svc(**extra))
    assert family_spec(spec) == expected
    assert ipaddress.ip_address(spec["clusterIP"]) in V4_RANGE
    assert spec["clusterIPs"] == [spec["clusterIP"]]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"ipFamilyPolicy": "RequireDualStack"},
            'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": '
            "this cluster is not configured for dual-stack services",
        ),
        (
            {"ipFamilies": ["IPv6"]},
            'spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster',
        ),
        (
            {"clusterIP": "fd00:10:96::50"},
            'spec.clusterIPs[0]: Invalid value: []string{"fd00:10:96::50"}: '
            "IPv6 is not configured on this cluster",
        ),
        (
            {"ipFamilyPolicy": "DualStack"},
            'spec.ipFamilyPolicy: Unsupported value: "DualStack": supported values: '
            '"PreferDualStack", "RequireDualStack", "SingleStack"',
        ),
    ],
)
def test_single_stack_cluster_refuses_what_it_cannot_give(single, extra, message) -> None:
    assert message in refusal(single, svc(**extra))


def test_headless_without_selector_may_name_both_families_on_a_single_stack_cluster(
    single,
) -> None:
    body = svc(clusterIP="None", ipFamilyPolicy="PreferDualStack")
    del body["spec"]["selector"]
    spec = admitted(single, body)
    assert spec["clusterIPs"] == ["None"] and spec["ipFamilies"] == ["IPv4", "IPv6"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, ("SingleStack", ["IPv4"], ["IPv4"])),
        (
            {"ipFamilyPolicy": "PreferDualStack"},
            ("PreferDualStack", ["IPv4", "IPv6"], ["IPv4", "IPv6"]),
        ),
        (
            {"ipFamilyPolicy": "RequireDualStack"},
            ("RequireDualStack", ["IPv4", "IPv6"], ["IPv4", "IPv6"]),
        ),
        ({"ipFamilies": ["IPv6"]}, ("SingleStack", ["IPv6"], ["IPv6"])),
        (
            {"ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv6"]},
            ("RequireDualStack", ["IPv6", "IPv4"], ["IPv6", "IPv4"]),
        ),
        # Two families and no policy: SetDefaults_Service makes it RequireDualStack.
        (
            {"ipFamilies": ["IPv4", "IPv6"]},
            ("RequireDualStack", ["IPv4", "IPv6"], ["IPv4", "IPv6"]),
        ),
        # A requested IPv6 address alone decides the family.
        ({"clusterIP": "fd00:10:96::50"}, ("SingleStack", ["IPv6"], ["IPv6"])),
    ],
)
def test_dual_stack_cluster_families(dual, extra, expected) -> None:
    spec = admitted(dual, svc(**extra))
    assert family_spec(spec) == expected
    assert spec["clusterIP"] == spec["clusterIPs"][0]
    for ip in spec["clusterIPs"]:
        assert ipaddress.ip_address(ip) in (V6_RANGE if ":" in ip else V4_RANGE)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4", "IPv6"]},
            "spec.ipFamilyPolicy: Invalid value: \"SingleStack\": must be 'RequireDualStack' "
            "or 'PreferDualStack' when multiple IP families are specified",
        ),
        (
            {"ipFamilies": ["IPv4", "IPv4"]},
            'spec.ipFamilies[1]: Duplicate value: "IPv4"',
        ),
        (
            {"clusterIP": "10.96.5.5", "clusterIPs": ["10.96.5.5", "10.96.5.6"]},
            'spec.clusterIPs: Invalid value: []string{"10.96.5.5", "10.96.5.6"}: '
            "may specify no more than one IP for each IP family",
        ),
        (
            {"clusterIP": "10.96.5.5", "clusterIPs": ["10.96.5.6"]},
            'spec.clusterIPs: Invalid value: []string{"10.96.5.6"}: first value must match '
            "`clusterIP`",
        ),
        (
            {"clusterIP": "10.96.5.5", "ipFamilies": ["IPv6"]},
            'spec.clusterIPs[0]: Invalid value: "10.96.5.5": expected an IPv6 value as '
            "indicated by `ipFamilies[0]`",
        ),
    ],
)
def test_dual_stack_cluster_refusals(dual, extra, message) -> None:
    assert message in refusal(dual, svc(**extra))


def store(cluster: Cluster, name: str, spec: dict) -> None:
    """Keep an admitted Service so the next admission finds its addresses taken."""
    from cluster.services import store as object_store

    body = {**svc(name), "spec": spec, "status": {"loadBalancer": {}}}
    object_store.object_create(cluster=cluster, body=body, actor="test")


def test_requested_addresses_of_both_families_are_reserved(dual) -> None:
    spec = admitted(dual, svc(clusterIPs=["10.96.7.7", "fd00:10:96::77"]))
    assert spec["clusterIP"] == "10.96.7.7" and spec["ipFamilyPolicy"] == "RequireDualStack"
    store(dual, "web", spec)
    taken = refusal(dual, svc("other", clusterIP="fd00:10:96::77"))
    assert "failed to allocate IP fd00:10:96::77: provided IP is already allocated" in taken


# --- admission: updating -------------------------------------------------------------------


def created(cluster: Cluster, **spec: object) -> dict:
    body = svc(**spec)
    service_admit(cluster, body, rng=random.Random(3))
    body["metadata"]["uid"] = "uid-web"
    return body


def updated(cluster: Cluster, old: dict, **changes: object) -> dict:
    new = {**old, "spec": {**old["spec"], **changes}}
    new["spec"] = {k: v for k, v in new["spec"].items() if v is not None}
    service_admit_update(cluster, old, new)
    return new["spec"]


def test_upgrade_to_dual_stack_adds_the_second_address_and_keeps_the_first(dual) -> None:
    old = created(dual)
    spec = updated(dual, old, ipFamilyPolicy="PreferDualStack")
    assert spec["ipFamilies"] == ["IPv4", "IPv6"]
    assert spec["clusterIPs"][0] == old["spec"]["clusterIP"] == spec["clusterIP"]
    assert ipaddress.ip_address(spec["clusterIPs"][1]) in V6_RANGE


def test_downgrade_with_single_stack_drops_the_secondary(dual) -> None:
    old = created(dual, ipFamilyPolicy="RequireDualStack")
    spec = updated(dual, old, ipFamilyPolicy="SingleStack")
    assert spec["ipFamilies"] == ["IPv4"] and spec["clusterIPs"] == [old["spec"]["clusterIP"]]


def test_an_update_that_leaves_the_addresses_out_keeps_them(dual) -> None:
    old = created(dual, ipFamilyPolicy="PreferDualStack")
    spec = updated(dual, old, clusterIP=None, clusterIPs=None, ipFamilies=None, ipFamilyPolicy=None)
    assert spec["clusterIPs"] == old["spec"]["clusterIPs"]
    assert spec["ipFamilies"] == ["IPv4", "IPv6"] and spec["ipFamilyPolicy"] == "PreferDualStack"


def test_dropping_the_secondary_needs_single_stack(dual) -> None:
    old = created(dual, ipFamilyPolicy="RequireDualStack")
    with pytest.raises(Invalid) as err:
        updated(dual, old, clusterIPs=old["spec"]["clusterIPs"][:1], ipFamilies=["IPv4"])
    assert "must be set to 'SingleStack' when releasing the secondary clusterIP" in str(err.value)


def test_the_primary_family_never_changes(dual) -> None:
    old = created(dual, ipFamilyPolicy="RequireDualStack")
    with pytest.raises(Invalid) as err:
        updated(dual, old, ipFamilies=["IPv6", "IPv4"])
    assert (
        'spec.ipFamilies[0]: Invalid value: []string{"IPv6", "IPv4"}: may not change once set'
        in str(err.value)
    )


# --- the cluster: ranges, pod addresses, slices, traffic -----------------------------------


@pytest.fixture
def dual_nginx() -> tuple[Cluster, random.Random]:
    rng = random.Random(7)
    cluster = make_cluster()
    Cluster.objects.filter(pk=cluster.pk).update(dual_stack=True)
    cluster.refresh_from_db()
    run(cluster, 5, rng)
    return deploy_nginx(cluster, rng), rng


def test_each_node_gets_a_range_per_family_and_each_pod_an_address_in_both(dual_nginx) -> None:
    cluster, _ = dual_nginx
    cidrs = {n: node(cluster, n).spec["podCIDRs"] for n in ("node-1", "node-2", "node-3")}
    for name, (v4, v6) in cidrs.items():
        assert ipaddress.ip_network(v4).prefixlen == 24, name
        assert ipaddress.ip_network(v6).prefixlen == 64
        assert ipaddress.ip_network(v6).subnet_of(ipaddress.ip_network(networking.CLUSTER_CIDR_V6))
        assert node(cluster, name).spec["podCIDR"] == v4
    assert len({v6 for _, v6 in cidrs.values()}) == 3
    running = [p for p in pods(cluster) if p.phase == "Running"]
    assert len(running) == 6
    for pod in running:
        v4, v6 = (e["ip"] for e in pod.status["podIPs"])
        assert pod.status["podIP"] == v4
        node_v4, node_v6 = cidrs[pod.node_name]
        assert ipaddress.ip_address(v4) in ipaddress.ip_network(node_v4)
        assert ipaddress.ip_address(v6) in ipaddress.ip_network(node_v6)


def test_a_single_stack_cluster_stays_ipv4_only() -> None:
    rng = random.Random(7)
    cluster = deploy_nginx(make_cluster(), rng)
    assert node(cluster, "node-1").spec["podCIDRs"] == [node(cluster, "node-1").spec["podCIDR"]]
    assert all(len(p.status["podIPs"]) == 1 for p in pods(cluster) if p.phase == "Running")


def slices(cluster: Cluster, service: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for body in KubeObject.objects.filter(
        cluster=cluster, kind="EndpointSlice", namespace="default"
    ).values_list("body", flat=True):
        if body["metadata"]["labels"].get("kubernetes.io/service-name") == service:
            found.setdefault(body["addressType"], []).extend(
                a for e in body["endpoints"] for a in e["addresses"]
            )
    return found


def test_a_dual_stack_service_gets_slices_of_both_families(dual_nginx) -> None:
    cluster, rng = dual_nginx
    services.service_expose_deployment(
        cluster=cluster,
        namespace="default",
        deployment="nginx",
        port=80,
        ip_family_policy="PreferDualStack",
    )
    services.service_create(
        cluster=cluster, namespace="default", name="v4only", selector={"app": "nginx"}, port=80
    )
    run(cluster, 2, rng)
    by_family = slices(cluster, "nginx")
    pod_ips = [[e["ip"] for e in p.status["podIPs"]] for p in pods(cluster) if p.phase == "Running"]
    assert sorted(by_family["IPv4"]) == sorted(v4 for v4, _ in pod_ips)
    assert sorted(by_family["IPv6"]) == sorted(v6 for _, v6 in pod_ips)
    assert set(slices(cluster, "v4only")) == {"IPv4"}

    # kube-proxy, the Services panel and the traffic count each pod once.
    rules = traffic_selectors.service_rules(cluster=cluster)
    assert sorted(e.address for e in rules["default/nginx"]) == sorted(by_family["IPv4"])
    row = next(r for r in traffic_selectors.services_panel(cluster=cluster) if r["name"] == "nginx")
    assert row["ready"] == 6 and len(row["cluster_ips"]) == 2

    # The request tool follows the family of the address it is sent to.
    client = next(p for p in pods(cluster) if p.phase == "Running")
    v6_vip = KubeObject.objects.get(cluster=cluster, kind="Service", name="nginx").body["spec"][
        "clusterIPs"
    ][1]
    path = request_path.request_path(
        cluster=cluster, from_pod=f"default/{client.name}", target=v6_vip
    )
    assert path.ok, path.summary
    proxy = next(s for s in path.steps if s.title.startswith("kube-proxy"))
    assert proxy.address.startswith("[fd00:10:244:") and proxy.address.endswith("]:80")
    by_name = request_path.request_path(
        cluster=cluster, from_pod=f"default/{client.name}", target="nginx"
    )
    assert any(s.title == "Dual-stack Service" and v6_vip in s.detail for s in by_name.steps)
