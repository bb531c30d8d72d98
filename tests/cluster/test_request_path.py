"""The request-path tool on a simulated cluster (injected clock): a request from a pod by short
name, ``svc.ns`` and FQDN through the Service's virtual IP and kube-proxy to a ready pod;
NXDOMAIN, an unexposed port, no endpoints and a source pod that is not running as failures;
headless Services; and external requests through the Ingress and a LoadBalancer address."""

from __future__ import annotations

import random

import pytest

from cluster import reconcile, request_path, services
from cluster.models import Cluster, KubeObject
from cluster.request_path import RequestPathError
from cluster.services.objects import object_create

T0 = 1_800_000_000.0


def svc_body(name: str, **spec) -> dict:
    spec.setdefault("ports", [{"port": 80, "targetPort": 80}])
    spec.setdefault("selector", {"app": "nginx"})
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def backend(service: str) -> dict:
    return {"service": {"name": service, "port": {"number": 80}}}


def create(cluster: Cluster, body: dict) -> None:
    object_create(cluster=cluster, body=body, namespace="default", actor="t")


@pytest.fixture
def demo() -> Cluster:
    rng = random.Random(5)
    cluster = services.cluster_create(name="rp", profile="kubernetes", wall_now=T0)
    services.node_add(cluster=cluster, name="control-plane", control_plane=True)
    for i in (1, 2):
        services.node_add(cluster=cluster, name=f"node-{i}")
    services.deployment_create(cluster=cluster, name="nginx", image="nginx:1.27", replicas=3)
    services.deployment_create(cluster=cluster, name="client", image="busybox:1.36", replicas=1)
    create(cluster, svc_body("nginx"))
    create(cluster, svc_body("nobody", selector={"app": "none"}))
    create(cluster, svc_body("nginx-headless", clusterIP="None"))
    create(cluster, svc_body("nginx-lb", type="LoadBalancer"))
    create(
        cluster,
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "shop"},
            "spec": {
                "rules": [
                    {
                        "host": "shop.example.com",
                        "http": {
                            "paths": [
                                {"path": "/", "pathType": "Prefix", "backend": backend("nginx")},
                                {
                                    "path": "/api",
                                    "pathType": "Prefix",
                                    "backend": backend("nobody"),
                                },
                            ]
                        },
                    }
                ]
            },
        },
    )
    reconcile.run_to(cluster, cluster.sim_now + 40, rng)
    cluster.refresh_from_db()
    return cluster


def client(cluster: Cluster) -> str:
    name = KubeObject.objects.filter(cluster=cluster, kind="Pod", name__startswith="client-")
    return f"default/{name.get().name}"


def nginx_pods(cluster: Cluster) -> set[str]:
    pods = KubeObject.objects.filter(cluster=cluster, kind="Pod", name__startswith="nginx-")
    return set(pods.values_list("name", flat=True))


def titles(result) -> list[str]:
    return [s.title for s in result.steps]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["nginx", "nginx.default", "nginx.default.svc.cluster.local"])
def test_a_request_by_name_reaches_a_ready_pod(demo, name) -> None:
    result = request_path.request_path(cluster=demo, from_pod=client(demo), target=name)
    assert result.ok, result.summary
    assert titles(result)[:3] == ["Client pod", "DNS lookup", "Service"]
    assert titles(result)[3].startswith("kube-proxy on node-")
    assert titles(result)[-1] == "Target pod"
    assert result.target_pod in nginx_pods(demo)
    ip = KubeObject.objects.get(cluster=demo, kind="Service", name="nginx").body["spec"]["clusterIP"]
    assert f"nginx.default.svc.cluster.local → {ip}" in result.steps[1].detail
    assert result.steps[2].address == f"{ip}:80"


@pytest.mark.django_db
def test_seeded_choice_is_repeatable_and_spreads(demo) -> None:
    def pick(seed: int) -> str:
        return request_path.request_path(
            cluster=demo, from_pod=client(demo), target="nginx", seed=seed
        ).target_pod

    assert pick(3) == pick(3)
    assert {pick(seed) for seed in range(30)} == nginx_pods(demo)


FAILURES = [
    ("nxdomain", "nope", "DNS lookup", "nope → NXDOMAIN"),
    ("other-namespace", "nginx.shop", "DNS lookup", "No such name"),
    ("port-not-exposed", "nginx:8080", "Service", "does not expose port 8080"),
    ("no-endpoints", "nobody", "kube-proxy", "no endpoints"),
    ("unknown-ip", "10.96.255.254", "No such address", "times out"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("target", "title", "text"), [c[1:] for c in FAILURES], ids=[c[0] for c in FAILURES]
)
def test_failures_say_where_and_why(demo, target, title, text) -> None:
    result = request_path.request_path(cluster=demo, from_pod=client(demo), target=target)
    assert not result.ok
    last = result.steps[-1]
    assert last.status == "fail" and last.title.startswith(title) and text in last.detail
    assert result.summary.startswith("Failed: ")


@pytest.mark.django_db
def test_headless_service_answers_with_pod_ips(demo) -> None:
    result = request_path.request_path(
        cluster=demo, from_pod=client(demo), target="nginx-headless"
    )
    assert result.ok
    assert "Headless Service" in titles(result) and "Service" not in titles(result)
    assert result.target_pod in nginx_pods(demo)


@pytest.mark.django_db
def test_a_source_pod_that_is_not_running_cannot_send(demo) -> None:
    services.deployment_create(cluster=demo, name="huge", image="nginx:1.27", replicas=1,
                               cpu_request="64")
    reconcile.run_to(demo, demo.sim_now + 5, random.Random(1))
    huge = KubeObject.objects.get(cluster=demo, kind="Pod", name__startswith="huge-")
    result = request_path.request_path(
        cluster=demo, from_pod=f"default/{huge.name}", target="nginx"
    )
    assert not result.ok and "is Pending" in result.steps[0].detail
    with pytest.raises(RequestPathError, match='pod "ghost" not found'):
        request_path.request_path(cluster=demo, from_pod="ghost", target="nginx")
    with pytest.raises(RequestPathError, match="say where to send"):
        request_path.request_path(cluster=demo, from_pod=client(demo), target="  ")


@pytest.mark.django_db
def test_external_request_enters_through_the_ingress(demo) -> None:
    result = request_path.request_path(
        cluster=demo, from_pod="external", target="http://shop.example.com/cart"
    )
    assert result.ok, result.summary
    assert titles(result)[:4] == [
        "Client (outside)", "Cloud load balancer", "ingress-nginx", "Backend Service"
    ]
    assert "203.0.113.1" in result.steps[0].detail
    assert "path / (Prefix) -> service nginx:80" in result.steps[2].detail
    assert result.target_pod in nginx_pods(demo)

    api = request_path.request_path(
        cluster=demo, from_pod="", target="http://shop.example.com/api/x"
    )
    assert not api.ok and "no endpoints" in api.steps[-1].detail
    lost = request_path.request_path(cluster=demo, from_pod="", target="http://other.org/")
    assert not lost.ok and "404" in lost.steps[-1].detail


@pytest.mark.django_db
def test_external_request_to_a_load_balancer_address(demo) -> None:
    lb = KubeObject.objects.get(cluster=demo, kind="Service", name="nginx-lb")
    ip = lb.body["status"]["loadBalancer"]["ingress"][0]["ip"]
    result = request_path.request_path(
        cluster=demo, from_pod="external", target=f"http://{ip}/"
    )
    assert result.ok, result.summary
    assert titles(result)[1] == "Cloud load balancer" and "NodePort" in result.steps[1].detail
    assert result.target_pod in nginx_pods(demo)


@pytest.mark.django_db
def test_a_stopped_kube_proxy_sends_the_request_through_its_stale_rules(demo) -> None:
    """The tool walks the same rules the traffic generator uses: kube-proxy on the client's
    node stops, an nginx pod is deleted, and the old rule can still pick it (a timeout); the
    node's own rules never include a pod created after the stop."""
    source = client(demo)
    node = KubeObject.objects.get(
        cluster=demo, kind="Pod", name=source.partition("/")[2]
    ).node_name
    services.node_kube_proxy_stop(cluster=demo, name=node)
    gone = sorted(nginx_pods(demo))[0]
    services.pod_delete(cluster=demo, namespace="default", name=gone, grace_period=0)
    reconcile.run_to(demo, demo.sim_now + 40, random.Random(2))
    assert gone not in nginx_pods(demo)

    results = [
        request_path.request_path(cluster=demo, from_pod=source, target="nginx", seed=seed)
        for seed in range(40)
    ]
    proxy_steps = [s for r in results for s in r.steps if s.title.startswith("kube-proxy on")]
    assert all("is stopped" in s.detail for s in proxy_steps)
    timeouts = [r for r in results if not r.ok]
    assert timeouts and all(
        f"pod {gone} is gone" in r.steps[-1].detail and "times out" in r.steps[-1].detail
        for r in timeouts
    )
    assert {r.target_pod for r in results if r.ok} < nginx_pods(demo)

    services.node_kube_proxy_start(cluster=demo, name=node)
    fixed = [
        request_path.request_path(cluster=demo, from_pod=source, target="nginx", seed=seed)
        for seed in range(40)
    ]
    assert all(r.ok for r in fixed)


@pytest.mark.django_db
def test_the_pick_follows_the_clusters_proxy_mode(demo) -> None:
    services.cluster_proxy_mode_set(cluster=demo, mode="ipvs")
    demo.refresh_from_db()
    result = request_path.request_path(cluster=demo, from_pod=client(demo), target="nginx")
    step = next(s for s in result.steps if s.title.startswith("kube-proxy on"))
    assert "ipvs mode" in step.detail
