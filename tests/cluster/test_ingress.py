"""Ingress: the apiserver's validation and the Ingress spec's routing (unit tables), admission
(the default IngressClass), and the simulated ingress-nginx publishing its address once the
cloud has given its Service one (injected clock)."""

from __future__ import annotations

import random

import pytest

from cluster import ingress, presenters, reconcile, services
from cluster.api.tables import table
from cluster.models import Cluster, KubeObject
from cluster.services.errors import Invalid
from cluster.services.objects import object_create, object_replace

T0 = 1_800_000_000.0


def backend(service: str = "web", number: int | None = 80, name: str | None = None) -> dict:
    port: dict = {}
    if number is not None:
        port["number"] = number
    if name is not None:
        port["name"] = name
    return {"service": {"name": service, "port": port}}


def rule(host: str = "", *paths: tuple) -> dict:
    entries = [
        {"path": p, "pathType": t, "backend": backend(s)} for p, t, s in paths
    ]
    out: dict = {"http": {"paths": entries}}
    if host:
        out["host"] = host
    return out


def ing(spec: dict, name: str = "web") -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


# --- validation: unit table -----------------------------------------------------------------------

INVALID = [
    ("empty", {}, "spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or "
     "`rules` must be specified"),
    ("path-type-missing",
     {"rules": [{"http": {"paths": [{"path": "/", "backend": backend()}]}}]},
     "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"),
    ("path-type-bad", {"rules": [rule("", ("/", "Regex", "web"))]},
     'spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: '
     '"Exact", "ImplementationSpecific", "Prefix"'),
    ("relative-path", {"rules": [rule("", ("api", "Prefix", "web"))]},
     'spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path'),
    ("double-slash", {"rules": [rule("", ("/a//b", "Exact", "web"))]},
     "spec.rules[0].http.paths[0].path: Invalid value: \"/a//b\": must not contain '//'"),
    ("host-ip", {"rules": [rule("10.0.0.1", ("/", "Prefix", "web"))]},
     'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address'),
    ("host-bad-wildcard", {"rules": [rule("foo.*.com", ("/", "Prefix", "web"))]},
     "spec.rules[0].host: Invalid value: \"foo.*.com\": a wildcard DNS-1123 subdomain must "
     "start with '*.'"),
    ("host-upper", {"rules": [rule("Foo.com", ("/", "Prefix", "web"))]},
     'spec.rules[0].host: Invalid value: "Foo.com": a lowercase RFC 1123 subdomain'),
    ("no-paths", {"rules": [{"host": "a.com", "http": {"paths": []}}]},
     "spec.rules[0].http.paths: Required value"),
    ("service-name", {"defaultBackend": backend("Web")},
     'spec.defaultBackend.service.name: Invalid value: "Web": a DNS-1035 label'),
    ("no-port", {"defaultBackend": backend(number=None)},
     "spec.defaultBackend: Required value: port name or number is required"),
    ("both-ports", {"defaultBackend": backend(name="http")},
     'spec.defaultBackend: Invalid value: "": cannot set both port name & port number'),
    ("port-range", {"defaultBackend": backend(number=70000)},
     "spec.defaultBackend.service.port.number: Invalid value: 70000: must be between 1 and "
     "65535, inclusive"),
    ("no-backend", {"defaultBackend": {"x": 1}},
     'spec.defaultBackend: Invalid value: "": resource or service backend is required'),
]


@pytest.mark.parametrize(("spec", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_validation_words_each_cause_as_the_apiserver(spec, message) -> None:
    causes = ingress.ingress_validation_errors(ing(spec))
    assert any(f"{c['field']}: {c['message']}".startswith(message) for c in causes), causes


def test_a_valid_ingress_has_no_causes() -> None:
    spec = {"rules": [rule("*.example.com", ("/", "Prefix", "web"), ("/api", "Exact", "api"))]}
    assert ingress.ingress_validation_errors(ing(spec)) == []


# --- routing: unit table --------------------------------------------------------------------------

SHOP = ing(
    {
        "rules": [
            rule("shop.example.com", ("/", "Prefix", "front"), ("/api", "Prefix", "api"),
                 ("/api/v1", "Exact", "api-v1"), ("/cart", "Exact", "cart")),
            rule("*.example.com", ("/", "Prefix", "wild")),
            rule("", ("/status", "Prefix", "status")),
        ]
    },
    "shop",
)
FALLBACK = ing({"defaultBackend": backend("fallback")}, "fallback")

ROUTES = [
    ("root", "shop.example.com", "/", "front"),
    ("prefix-element", "shop.example.com", "/api/orders", "api"),
    ("exact-beats-prefix", "shop.example.com", "/api/v1", "api-v1"),
    ("exact-only-exact", "shop.example.com", "/api/v1/x", "api"),
    ("element-not-substring", "shop.example.com", "/apiary", "front"),
    ("exact-no-trailing", "shop.example.com", "/cart/", "front"),
    ("trailing-slash-prefix", "shop.example.com", "/api/", "api"),
    ("host-case", "SHOP.example.com", "/api", "api"),
    ("wildcard-one-label", "blog.example.com", "/x", "wild"),
    ("wildcard-not-two-labels", "a.b.example.com", "/status", "status"),
    ("wildcard-not-bare", "example.com", "/status", "status"),
    ("precise-host-hides-catch-all", "shop.example.com", "/status", "front"),
    ("default-backend", "other.org", "/x", "fallback"),
]


@pytest.mark.parametrize(
    ("host", "path", "service"), [c[1:] for c in ROUTES], ids=[c[0] for c in ROUTES]
)
def test_route(host, path, service) -> None:
    assert ingress.route([SHOP, FALLBACK], host=host, path=path).service == service


def test_no_rule_and_no_default_backend_is_the_controllers_404() -> None:
    result = ingress.route([SHOP], host="other.org", path="/")
    assert result.service == "" and "404" in result.explanation


def test_printed_cells() -> None:
    body = {**SHOP, "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.1"}]}}}
    assert ingress.hosts_cell(body) == "shop.example.com,*.example.com,*"
    assert ingress.address_cell(body) == "203.0.113.1"
    assert ingress.ports_cell(body) == "80"
    assert ingress.ports_cell({"spec": {"tls": [{"hosts": ["a"]}]}}) == "80, 443"


# --- the live view (presenters.ingress_view): what the traffic lane draws -------------------------


def test_view_lists_each_host_path_rule_with_its_backend_and_the_address() -> None:
    body = {
        **SHOP,
        "metadata": {**SHOP["metadata"], "uid": "u1", "resourceVersion": "7"},
        "spec": {**SHOP["spec"], "ingressClassName": "nginx",
                 "defaultBackend": backend("fallback", number=None, name="http")},
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.1"}]}},
    }
    view = presenters.ingress_view(body)
    assert {k: view[k] for k in ("kind", "namespace", "name", "uid", "rv", "class", "address")} == {
        "kind": "Ingress", "namespace": "default", "name": "shop", "uid": "u1", "rv": 7,
        "class": "nginx", "address": "203.0.113.1",
    }
    assert view["rules"][:2] == [
        {"host": "shop.example.com", "path": "/", "pathType": "Prefix",
         "backend": {"service": "front", "port": 80}},
        {"host": "shop.example.com", "path": "/api", "pathType": "Prefix",
         "backend": {"service": "api", "port": 80}},
    ]
    assert [(r["host"], r["path"], r["pathType"]) for r in view["rules"][2:]] == [
        ("shop.example.com", "/api/v1", "Exact"),
        ("shop.example.com", "/cart", "Exact"),
        ("*.example.com", "/", "Prefix"),
        ("", "/status", "Prefix"),
    ]
    assert view["defaultBackend"] == {"service": "fallback", "port": "http"}
    assert presenters.view(body) == view, "snapshot and deltas use the same view"


def test_view_of_a_new_ingress_without_address_class_or_rules() -> None:
    resource = {"apiGroup": "k8s.example.com", "kind": "Bucket", "name": "static"}
    body = ing({"defaultBackend": {"resource": resource}}, "assets")
    view = presenters.ingress_view(body)
    assert (view["class"], view["address"], view["rules"]) == ("", "", [])
    assert view["defaultBackend"] == {"resource": "Bucket/static"}


# --- admission and the controller -----------------------------------------------------------------


@pytest.fixture
def cluster() -> Cluster:
    return services.cluster_create(name="t", wall_now=T0)


def run(cluster: Cluster, seconds: float = 1.0) -> None:
    cluster.refresh_from_db()
    reconcile.run_to(cluster, cluster.sim_now + seconds, random.Random(3))


def stored(cluster: Cluster, name: str = "web") -> dict:
    return KubeObject.objects.get(cluster=cluster, kind="Ingress", name=name).body


@pytest.mark.django_db
def test_admission_defaults_the_class_and_refuses_invalid(cluster) -> None:
    obj = object_create(
        cluster=cluster, body=ing({"rules": [rule("a.com", ("/", "Prefix", "web"))]}),
        namespace="default", actor="t",
    )
    assert obj.body["spec"]["ingressClassName"] == "nginx"
    with pytest.raises(Invalid) as err:
        object_create(cluster=cluster, body=ing({}, "bad"), namespace="default", actor="t")
    assert err.value.message.startswith('Ingress.networking.k8s.io "bad" is invalid: spec: ')
    with pytest.raises(Invalid, match="spec.controller: Required value"):
        object_create(
            cluster=cluster,
            body={"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                  "metadata": {"name": "x"}, "spec": {}},
            namespace=None, actor="t",
        )


@pytest.mark.django_db
def test_ingress_gets_the_controllers_address_once_the_cloud_gave_one(cluster) -> None:
    services.component_stop(cluster=cluster, name="cloud-controller-manager")
    object_create(
        cluster=cluster, body=ing({"rules": [rule("a.com", ("/", "Prefix", "web"))]}),
        namespace="default", actor="t",
    )
    run(cluster)
    assert stored(cluster)["status"]["loadBalancer"] == {}
    reasons = [
        b["reason"] for b in KubeObject.objects.filter(cluster=cluster, kind="Event")
        .values_list("body", flat=True) if b["involvedObject"]["name"] == "web"
    ]
    assert reasons == ["Sync"]
    services.component_start(cluster=cluster, name="cloud-controller-manager")
    run(cluster)
    assert stored(cluster)["status"]["loadBalancer"] == {"ingress": [{"ip": "203.0.113.1"}]}
    cluster.refresh_from_db()
    rows = table(kind="Ingress", bodies=[stored(cluster)], now=cluster.sim_now,
                 resource_version="1")["rows"]
    assert rows[0]["cells"][:5] == ["web", "nginx", "a.com", "203.0.113.1", "80"]


@pytest.mark.django_db
def test_ingress_of_another_class_is_left_alone(cluster) -> None:
    body = ing({"ingressClassName": "other", "rules": [rule("a.com", ("/", "Prefix", "web"))]})
    object_create(cluster=cluster, body=body, namespace="default", actor="t")
    run(cluster)
    assert stored(cluster)["status"]["loadBalancer"] == {}
    body = stored(cluster)
    body["spec"]["ingressClassName"] = "nginx"
    object_replace(
        cluster=cluster, kind="Ingress", namespace="default", name="web", body=body, actor="t"
    )
    run(cluster)
    assert stored(cluster)["status"]["loadBalancer"]["ingress"][0]["ip"].startswith("203.0.113.")


@pytest.mark.django_db
def test_every_cluster_has_kube_dns_and_the_ingress_add_on(cluster) -> None:
    dns = KubeObject.objects.get(cluster=cluster, kind="Service", name="kube-dns")
    assert dns.namespace == "kube-system"
    assert dns.body["spec"]["clusterIP"] == "10.96.0.10"
    assert dns.body["spec"]["selector"] == {"k8s-app": "kube-dns"}
    assert KubeObject.objects.filter(cluster=cluster, kind="IngressClass", name="nginx").exists()
    controller = KubeObject.objects.get(
        cluster=cluster, kind="Service", name="ingress-nginx-controller"
    )
    assert controller.body["spec"]["type"] == "LoadBalancer"
