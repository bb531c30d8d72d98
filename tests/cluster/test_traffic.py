"""Traffic through kube-proxy: the pure split per mode and the failure reasons (unit tables),
then the sampling pass in the simulation (injected clock and rng)."""

from __future__ import annotations

import random

import pytest

from cluster import load, metrics, reconcile, services, traffic, traffic_selectors
from cluster.models import Cluster, KubeObject, TrafficSample
from cluster.networking import Endpoint
from cluster.services import rollouts
from cluster.services import traffic as traffic_services
from cluster.services.errors import Invalid

T0 = 1_800_000_000.0


def eps(n: int) -> tuple[Endpoint, ...]:
    return tuple(Endpoint(address=f"10.244.1.{i + 2}", pod=f"default/p{i}") for i in range(n))


def pods_for(endpoints, **failures: str) -> dict[str, traffic.PodState]:
    return {
        e.pod: traffic.PodState(
            name=e.pod, address=e.address, node="node-1", failure=failures.get(e.pod.split("/")[1])
        )
        for e in endpoints
    }


def one_service(mode: str, rules: dict, pods: dict, rps: float = 100.0, seed: int = 1, state=None):
    samples, per_pod = traffic.plan_sample(
        mode=mode,
        window=10.0,
        services=[traffic.ServiceInput(key="default/web", rps=rps, rules=rules)],
        entry_nodes=sorted(rules),
        pods=pods,
        rng=random.Random(seed),
        rr_state={} if state is None else state,
    )
    return samples[0], per_pod


# --- unit: the split per mode ---------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_iptables_spreads_uniformly(n: int) -> None:
    """Over many connections each endpoint of the chain gets ~1/n (within 5 standard errors)."""
    rng = random.Random(42)
    total = 40_000
    counts = [0] * n
    for _ in range(20):
        for i, share in enumerate(traffic.split_iptables(total // 20, n, rng)):
            counts[i] += share
    assert sum(counts) == total
    expected = total / n
    sigma = (total * (1 / n) * (1 - 1 / n)) ** 0.5
    assert all(abs(c - expected) <= 5 * sigma + 1e-9 for c in counts), counts


def test_iptables_is_not_round_robin() -> None:
    """The same window split twice differs: the draw is random, not in turn."""
    rng = random.Random(3)
    assert len({tuple(traffic.split_iptables(30, 3, rng)) for _ in range(10)}) > 1


@pytest.mark.parametrize(
    ("total", "n", "offset", "shares", "nxt"),
    [
        (9, 3, 0, [3, 3, 3], 0),
        (10, 3, 0, [4, 3, 3], 1),
        (10, 3, 1, [3, 4, 3], 2),
        (11, 3, 2, [4, 3, 4], 1),
        (2, 5, 4, [1, 0, 0, 0, 1], 1),
        (0, 2, 1, [0, 0], 1),
    ],
    ids=["even", "one-over", "rotated", "wraps", "fewer-than-n", "none"],
)
def test_ipvs_round_robin_is_exactly_even(total, n, offset, shares, nxt) -> None:
    assert traffic.split_even(total, n, offset) == (shares, nxt)


def test_ipvs_remainder_rotates_across_windows() -> None:
    """One request per window goes to each endpoint in turn, as rr hands connections out."""
    rules = {"node-1": eps(3)}
    state: dict[str, int] = {}
    got = []
    for _ in range(6):
        sample, _ = one_service("ipvs", rules, pods_for(eps(3)), rps=0.1, state=state)
        got.append(next(iter(sample.pods)))
    assert got == ["default/p0", "default/p1", "default/p2"] * 2


def test_ipvs_window_is_exactly_even_per_node() -> None:
    sample, per_pod = one_service("ipvs", {"node-1": eps(4)}, pods_for(eps(4)), rps=40.0)
    assert sample.pods == {f"default/p{i}": 100 for i in range(4)}
    assert {p: v["rps"] for p, v in per_pod.items()} == {f"default/p{i}": 10.0 for i in range(4)}


# --- unit: errors ---------------------------------------------------------------------------


def test_no_endpoints_is_connection_refused() -> None:
    sample, per_pod = one_service("iptables", {"node-1": ()}, {}, rps=10.0)
    assert sample.errors == {traffic.REFUSED: 100} and sample.ok == 0 and per_pod == {}
    assert sample.p50_ms is None


def test_no_node_up_times_out() -> None:
    samples, _ = traffic.plan_sample(
        mode="iptables",
        window=5.0,
        services=[traffic.ServiceInput(key="default/web", rps=2.0, rules={})],
        entry_nodes=[],
        pods={},
        rng=random.Random(1),
        rr_state={},
    )
    assert samples[0].errors == {traffic.NO_NODE: 10}


def test_stale_rule_to_a_gone_pod_times_out_and_the_rest_is_served() -> None:
    endpoints = eps(2)
    pods = pods_for(endpoints[:1])  # p1 is gone
    sample, _ = one_service("ipvs", {"node-1": endpoints}, pods, rps=10.0)
    assert sample.errors == {traffic.GONE: 50}
    assert sample.pods == {"default/p0": 50}


def test_a_reused_address_behind_a_stale_rule_is_not_the_old_pod() -> None:
    """A rule names a pod by its IP: the pod of that name with another IP is not reached."""
    endpoints = eps(1)
    pods = {"default/p0": traffic.PodState(name="p0", address="10.244.9.9", node="node-1")}
    sample, _ = one_service("iptables", {"node-1": endpoints}, pods, rps=1.0)
    assert set(sample.errors) == {traffic.GONE}


def test_a_pod_that_does_not_answer_counts_its_reason() -> None:
    endpoints = eps(2)
    pods = pods_for(endpoints, p1=traffic.NODE_DOWN)
    sample, _ = one_service("ipvs", {"node-1": endpoints}, pods, rps=10.0)
    assert sample.errors == {traffic.NODE_DOWN: 50} and sample.ok == 50
    assert sample.nodes["node-1"] == {
        "ok": {"default/p0": 50},
        "fail": [["default/p1", traffic.NODE_DOWN, 50]],
    }


# --- unit: latency --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rps", "cpu", "ms"),
    [
        (0.0, 1000, traffic.BASE_LATENCY_MS),
        (250.0, 1000, 10.0),  # half of 500 rps capacity: twice the idle time
        (50.0, 100, traffic.LATENCY_CAP_MS),  # at capacity: capped
        (500.0, 100, traffic.LATENCY_CAP_MS),
    ],
    ids=["idle", "half", "saturated", "overloaded"],
)
def test_pod_latency_follows_load_against_cpu(rps, cpu, ms) -> None:
    assert traffic.pod_mean_latency_ms(rps, cpu) == pytest.approx(ms)


def _pod_with(*resources: dict) -> dict:
    containers = [{"name": f"c{i}", "resources": r} for i, r in enumerate(resources)]
    return {"spec": {"containers": containers}}


@pytest.mark.parametrize(
    ("pod", "millis"),
    [
        (_pod_with({"limits": {"cpu": "250m"}, "requests": {"cpu": "100m"}}), 250),
        (_pod_with({"requests": {"cpu": "100m"}}), traffic.DEFAULT_CPU_MILLIS),
        (_pod_with({}), traffic.DEFAULT_CPU_MILLIS),
        (_pod_with({"limits": {"cpu": "500m"}}, {"limits": {"cpu": "1"}}), 1500),
    ],
    ids=["limit", "request-is-no-ceiling", "nothing", "two-containers"],
)
def test_a_pod_serves_with_its_cpu_limit_or_one_core(pod, millis) -> None:
    """Only a limit throttles; a request reserves CPU for the scheduler, so a pod using more
    than its request (as an HPA target under load does) is not slowed by it."""
    assert traffic_selectors.pod_cpu_millis(pod) == millis


def test_quantiles_of_one_exponential() -> None:
    """p50 = mean x ln 2, p95 = mean x ln 20."""
    assert traffic.latency_quantile([(1, 10.0)], 0.5) == pytest.approx(6.9, abs=0.1)
    assert traffic.latency_quantile([(1, 10.0)], 0.95) == pytest.approx(30.0, abs=0.1)
    assert traffic.latency_quantile([], 0.5) is None


def test_a_slow_pod_raises_p95_more_than_p50() -> None:
    fast = traffic.latency_quantile([(9, 5.0), (1, 5.0)], 0.95)
    mixed_50 = traffic.latency_quantile([(9, 5.0), (1, 500.0)], 0.5)
    mixed_95 = traffic.latency_quantile([(9, 5.0), (1, 500.0)], 0.95)
    assert mixed_95 > 10 * fast and mixed_50 < 2 * traffic.latency_quantile([(1, 5.0)], 0.5)


@pytest.mark.parametrize(
    ("value", "ok"),
    [("0", 0.0), ("12.5", 12.5), (" 1000 ", 1000.0), ("1001", None), ("-1", None), ("abc", None),
     ("nan", None), (None, None)],
)
def test_rate_validation(value, ok) -> None:
    if ok is None:
        with pytest.raises(Invalid, match="between 0 and 1000"):
            traffic_services.parse_rate(value)
    else:
        assert traffic_services.parse_rate(value) == ok


# --- the sampling pass in the simulation ----------------------------------------------------


@pytest.fixture
def rng() -> random.Random:
    return random.Random(11)


@pytest.fixture
def demo(rng: random.Random) -> Cluster:
    cluster = services.cluster_create(name="traffic", profile="kubernetes", wall_now=T0)
    services.node_add(cluster=cluster, name="control-plane", control_plane=True)
    for i in (1, 2):
        services.node_add(cluster=cluster, name=f"node-{i}")
    services.deployment_create(
        cluster=cluster, name="nginx", image="nginx:1.27", replicas=3, cpu_request="100m"
    )
    reconcile.run_to(cluster, cluster.sim_now + 30, rng)
    services.service_expose_deployment(
        cluster=cluster, namespace="default", deployment="nginx", port=80
    )
    reconcile.run_to(cluster, cluster.sim_now + 1, rng)
    cluster.refresh_from_db()
    return cluster


def run(cluster: Cluster, seconds: float, rng: random.Random) -> None:
    cluster.refresh_from_db()
    reconcile.run_to(cluster, cluster.sim_now + seconds, rng)
    cluster.refresh_from_db()


def latest(cluster: Cluster) -> dict:
    return traffic_selectors.latest_sample(cluster=cluster)["services"]["default/nginx"]


def live_pods(cluster: Cluster) -> list[KubeObject]:
    return list(
        KubeObject.objects.filter(cluster=cluster, kind="Pod", deleting=False).order_by("name")
    )


def set_rate(cluster: Cluster, rps: float) -> None:
    traffic_services.service_traffic_set(
        cluster=cluster, namespace="default", name="nginx", rps=rps
    )


@pytest.mark.django_db
def test_traffic_reaches_only_ready_pods_and_feeds_pod_request_rates(demo, rng) -> None:
    """All three ready pods share 30 rps; a pod that is not ready (readiness lost) gets none;
    load.pod_request_rates reports what each pod served."""
    assert TrafficSample.objects.filter(cluster=demo).count() == 0
    set_rate(demo, 30)
    run(demo, 12, rng)
    sample = latest(demo)
    assert sample["errors"] == {} and sample["requests"] == 150
    names = {p.name for p in live_pods(demo)}
    rates = load.pod_request_rates(cluster=demo, namespace="default")
    assert set(rates) == names and sum(rates.values()) == pytest.approx(30)
    assert load.pod_request_rates(cluster=demo, namespace="other") == {}
    assert sample["p50"] is not None and sample["p95"] >= sample["p50"]


@pytest.mark.django_db
def test_each_pod_in_a_sample_carries_the_cpu_its_rate_burns(demo, rng) -> None:
    """The diagram shows rate and CPU side by side: the CPU is the usage model's (what
    ``kubectl top`` and the HPA read), so more requests per second mean more CPU."""
    set_rate(demo, 30)
    run(demo, 31, rng)
    low = traffic_selectors.latest_sample(cluster=demo)["pods"]
    set_rate(demo, 300)
    run(demo, 6, rng)
    high = traffic_selectors.latest_sample(cluster=demo)["pods"]
    assert set(low) == set(high) and len(low) == 3
    for pod, entry in high.items():
        expected = metrics.IDLE_CPU_MILLIS + entry["rps"] * load.CPU_MILLIS_PER_RPS
        assert entry["cpuMillis"] == pytest.approx(expected, abs=1)
        assert entry["cpuMillis"] > low[pod]["cpuMillis"]


@pytest.mark.django_db
def test_the_sampler_runs_only_while_a_generator_is_on(demo, rng) -> None:
    set_rate(demo, 5)
    run(demo, 21, rng)
    count = TrafficSample.objects.filter(cluster=demo).count()
    assert count == 4
    set_rate(demo, 0)
    run(demo, 30, rng)
    # One closing sample with no services, then nothing.
    assert TrafficSample.objects.filter(cluster=demo).count() == count + 1
    assert traffic_selectors.latest_sample(cluster=demo)["services"] == {}
    assert load.pod_request_rates(cluster=demo, namespace="default") == {}


@pytest.mark.django_db
def test_a_deleted_pod_stops_receiving_once_its_endpoint_is_removed(demo, rng) -> None:
    set_rate(demo, 30)
    run(demo, 6, rng)
    victim = live_pods(demo)[0]
    services.pod_delete(cluster=demo, namespace="default", name=victim.name, grace_period=0)
    run(demo, 6, rng)
    assert f"default/{victim.name}" not in traffic_selectors.latest_sample(cluster=demo)["pods"]
    assert latest(demo)["errors"] == {}


@pytest.mark.django_db
def test_pods_on_a_powered_off_node_fail_until_their_readiness_is_removed(demo, rng) -> None:
    set_rate(demo, 30)
    run(demo, 6, rng)
    victim = next(p for p in live_pods(demo) if p.node_name)
    services.node_power_off(cluster=demo, name=victim.node_name)
    run(demo, 6, rng)
    # Its kernel is gone (no entry there) but the slices still list its pods as ready.
    sample = latest(demo)
    assert victim.node_name not in sample["nodes"]
    assert sample["errors"].get(traffic.NODE_DOWN, 0) > 0
    # The node-lifecycle controller marks it NotReady (grace 40 s + monitor period), the
    # EndpointSlice controller drops its pods' readiness, and the errors stop.
    run(demo, 60, rng)
    assert latest(demo)["errors"] == {}


@pytest.mark.django_db
def test_a_stopped_kube_proxy_keeps_stale_rules_until_started(demo, rng) -> None:
    """Stop kube-proxy on every node, delete a pod: traffic still goes to its old address
    (timeouts), and its replacement gets nothing; start kube-proxy: fixed."""
    set_rate(demo, 60)
    nodes = ["control-plane", "node-1", "node-2"]
    for node in nodes:
        traffic_services.node_kube_proxy_stop(cluster=demo, name=node)
    with pytest.raises(Invalid, match="already stopped"):
        traffic_services.node_kube_proxy_stop(cluster=demo, name="node-1")
    victim = live_pods(demo)[0]
    services.pod_delete(cluster=demo, namespace="default", name=victim.name, grace_period=0)
    run(demo, 40, rng)
    sample = latest(demo)
    assert sample["errors"].get(traffic.GONE, 0) > 0
    assert set(sample["stale"]) <= set(nodes) and sample["stale"]
    newcomer = {p.name for p in live_pods(demo)} - {
        k.split("/")[1] for k in traffic_selectors.latest_sample(cluster=demo)["pods"]
    }
    assert newcomer, "the replacement pod must get nothing from stale rules"
    for node in nodes:
        traffic_services.node_kube_proxy_start(cluster=demo, name=node)
    run(demo, 6, rng)
    sample = latest(demo)
    assert sample["errors"] == {} and sample["stale"] == []
    assert set(traffic_selectors.latest_sample(cluster=demo)["pods"]) == {
        f"default/{p.name}" for p in live_pods(demo)
    }


@pytest.mark.django_db
def test_ipvs_mode_is_even_per_node_and_shown_in_the_clock(demo, rng) -> None:
    traffic_services.cluster_proxy_mode_set(cluster=demo, mode="ipvs")
    with pytest.raises(Invalid, match='unknown proxy mode "nat"'):
        traffic_services.cluster_proxy_mode_set(cluster=demo, mode="nat")
    set_rate(demo, 60)
    run(demo, 6, rng)
    sample = traffic_selectors.latest_sample(cluster=demo)
    assert sample["mode"] == "ipvs"
    for routes in sample["services"]["default/nginx"]["nodes"].values():
        counts = sorted(routes["ok"].values())
        assert len(counts) == 3 and counts[-1] - counts[0] <= 1


@pytest.mark.django_db
def test_during_a_rolling_update_old_and_new_pods_share_traffic(demo, rng) -> None:
    set_rate(demo, 60)
    run(demo, 6, rng)
    old = {p.name for p in live_pods(demo)}
    rollouts.deployment_update(
        cluster=demo, namespace="default", name="nginx", image="nginx:1.28"
    )
    shared = False
    for _ in range(30):
        run(demo, 5, rng)
        served = {k.split("/")[1] for k in traffic_selectors.latest_sample(cluster=demo)["pods"]}
        if served & old and served - old:
            shared = True
            break
    assert shared
    run(demo, 120, rng)
    served = {k.split("/")[1] for k in traffic_selectors.latest_sample(cluster=demo)["pods"]}
    assert served and not served & old


# --- unit: the rules in a node's kernel -----------------------------------------------------


OLD = Endpoint(address="10.244.1.9", pod="default/old")


def machine(*, powered=True, running=True, kube_proxy=True, boot="b1", frozen_boot="b1"):
    sim = {"running": running, "boot_id": boot}
    if not kube_proxy:
        sim["proxyRules"] = {"default/web": [OLD.__dict__]}
        sim["proxyRulesBoot"] = frozen_boot
    return KubeObject(
        kind="Machine",
        name="node-1",
        body={"spec": {"powered": powered, "kubeProxy": kube_proxy}},
        sim=sim,
    )


CURRENT = {"default/web": eps(2)}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, CURRENT),
        ({"powered": False}, {}),
        ({"running": False}, {}),
        ({"kube_proxy": False}, {"default/web": (OLD,)}),
        ({"kube_proxy": False, "boot": "b2"}, {}),
    ],
    ids=["running-current-slices", "off-none", "booting-none", "stopped-frozen", "rebooted-empty"],
)
def test_node_rules(kwargs, expected) -> None:
    assert traffic_selectors.node_rules(machine(**kwargs), CURRENT) == expected


@pytest.mark.django_db
def test_kube_proxy_of_a_powered_off_machine_cannot_be_switched(demo) -> None:
    services.node_power_off(cluster=demo, name="node-1")
    with pytest.raises(Invalid, match="node-1 is powered off"):
        traffic_services.node_kube_proxy_stop(cluster=demo, name="node-1")
    with pytest.raises(Invalid, match="kube-proxy on node-2 is already running"):
        traffic_services.node_kube_proxy_start(cluster=demo, name="node-2")


@pytest.mark.django_db
def test_traffic_keeps_flowing_while_the_api_server_is_down(demo, rng) -> None:
    """The data plane does not go through the API: with kube-apiserver stopped, kube-proxy's
    rules still forward and samples keep coming, served by the same pods."""
    set_rate(demo, 30)
    run(demo, 6, rng)
    before = TrafficSample.objects.filter(cluster=demo).count()
    services.component_stop(cluster=demo, name="kube-apiserver")
    for _ in range(12):  # one tick per simulated second, as the beat would
        run(demo, 1, rng)
    assert TrafficSample.objects.filter(cluster=demo).count() >= before + 2
    sample = latest(demo)
    assert sample["errors"] == {} and sample["ok"] > 0
    services.component_start(cluster=demo, name="kube-apiserver")
