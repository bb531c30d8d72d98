"""The API's HTTP edge through Django's test client: authentication, discovery, get and list,
selectors, Tables and errors, all as kube-apiserver answers them."""

from __future__ import annotations

import pytest
from django.test import Client

from cluster import k8s, selectors, services
from cluster.api import views
from cluster.models import Cluster

pytestmark = pytest.mark.django_db

BASE = "/clusters/demo"
TABLE_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)


@pytest.fixture
def api(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


def table(api: Client, url: str, **params: str) -> dict:
    response = api.get(url, params, headers={"Accept": TABLE_ACCEPT})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == views.TABLE_CONTENT_TYPE
    body = response.json()
    assert body["kind"] == "Table"
    return body


def names(body: dict) -> list[str]:
    return [item["metadata"]["name"] for item in body["items"]]


# --- authentication ----------------------------------------------------------------------------


def assert_status(response, code: int, reason: str) -> dict:
    assert response.status_code == code
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert (body["kind"], body["apiVersion"], body["status"]) == ("Status", "v1", "Failure")
    assert (body["reason"], body["code"]) == (reason, code)
    return body


@pytest.mark.parametrize("path", ["/api", "/apis", "/api/v1", "/api/v1/nodes"], ids=str)
def test_no_token_is_401_status(demo: Cluster, path: str) -> None:
    """Without a bearer token every API path is 401 Unauthorized, a Status object."""
    body = assert_status(Client().get(BASE + path), 401, "Unauthorized")
    assert body["message"] == "Unauthorized"


def test_unknown_token_is_401(demo: Cluster) -> None:
    client = Client(headers={"Authorization": "Bearer not-a-token"})
    assert_status(client.get(BASE + "/api/v1/nodes"), 401, "Unauthorized")
    assert_status(client.get(BASE + "/version"), 401, "Unauthorized")


def test_other_clusters_token_is_403(demo: Cluster) -> None:
    """A token issued for one cluster authenticates its user, who may not use another cluster."""
    other = services.cluster_create(name="other")
    client = Client(
        headers={"Authorization": f"Bearer {services.api_token_issue(cluster=other, user='bob')}"}
    )
    body = assert_status(client.get(BASE + "/api/v1/pods"), 403, "Forbidden")
    assert 'User "bob" cannot access cluster "demo"' in body["message"]


def test_version_is_public_and_real(demo: Cluster) -> None:
    """/version needs no token (system:public-info-viewer) and reports the modelled release."""
    body = Client().get(BASE + "/version").json()
    assert (body["major"], body["minor"], body["gitVersion"]) == ("1", "32", "v1.32.4")


def test_tokens_are_random_and_stored_hashed(demo: Cluster) -> None:
    first = services.api_token_issue(cluster=demo, user="alice")
    second = services.api_token_issue(cluster=demo, user="alice")
    assert first != second and len(first) >= 32
    assert not demo.api_tokens.filter(token_sha256=first).exists()


def test_bad_user_name_is_refused(demo: Cluster) -> None:
    with pytest.raises(services.Invalid):
        services.api_token_issue(cluster=demo, user="Not A Name")


def test_unserved_methods_are_405_status(api: Client) -> None:
    assert_status(api.put(BASE + "/api/v1/namespaces/default/pods", {}), 405, "MethodNotAllowed")
    assert_status(api.post(BASE + "/api/v1/nodes/node-1"), 405, "MethodNotAllowed")


# --- discovery ---------------------------------------------------------------------------------


def test_discovery_documents(api: Client) -> None:
    """Legacy discovery: /api lists v1, /apis the named groups, each GV its resources."""
    assert api.get(BASE + "/api").json()["versions"] == ["v1"]
    groups = api.get(BASE + "/apis").json()
    assert groups["kind"] == "APIGroupList"
    assert [g["preferredVersion"]["groupVersion"] for g in groups["groups"]] == [
        "apps/v1",
        "autoscaling/v2",
        "coordination.k8s.io/v1",
        "discovery.k8s.io/v1",
        "networking.k8s.io/v1",
        "metrics.k8s.io/v1beta1",
    ]
    autoscaling = next(g for g in groups["groups"] if g["name"] == "autoscaling")
    assert [v["version"] for v in autoscaling["versions"]] == ["v2", "v1"]
    core = {r["name"]: r for r in api.get(BASE + "/api/v1").json()["resources"]}
    assert set(core) == {
        "namespaces",
        "namespaces/status",
        "nodes",
        "nodes/status",
        "pods",
        "pods/binding",
        "pods/eviction",
        "pods/log",
        "pods/status",
        "events",
        "services",
        "services/status",
    }
    verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    assert core["pods"] == {
        "name": "pods",
        "singularName": "pod",
        "namespaced": True,
        "kind": "Pod",
        "verbs": verbs,
        "shortNames": ["po"],
        "categories": ["all"],
    }
    assert core["pods/eviction"] == {
        "name": "pods/eviction",
        "singularName": "",
        "namespaced": True,
        "kind": "Eviction",
        "verbs": ["create"],
        "group": "policy",
        "version": "v1",
    }
    assert core["nodes"]["namespaced"] is False
    apps = api.get(BASE + "/apis/apps/v1").json()
    assert apps["groupVersion"] == "apps/v1"
    assert {r["name"]: r.get("shortNames") for r in apps["resources"]} == {
        "deployments": ["deploy"],
        "deployments/scale": None,
        "deployments/status": None,
        "replicasets": ["rs"],
        "replicasets/scale": None,
        "replicasets/status": None,
    }
    scale = next(r for r in apps["resources"] if r["name"] == "deployments/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")
    leases = api.get(BASE + "/apis/coordination.k8s.io/v1").json()["resources"]
    assert [r["kind"] for r in leases] == ["Lease"]


AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)


def test_aggregated_discovery(api: Client) -> None:
    """kubectl's Accept gets one APIGroupDiscoveryList per endpoint, typed so client-go parses
    it as aggregated: every served resource with its responseKind, scope and verbs."""
    core = api.get(BASE + "/api", headers={"Accept": AGGREGATED_ACCEPT})
    assert core["Content-Type"] == (
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    )
    assert core["Vary"] == "Accept"
    body = core.json()
    assert (body["kind"], body["apiVersion"]) == ("APIGroupDiscoveryList", "apidiscovery.k8s.io/v2")
    [group] = body["items"]
    assert group["metadata"] == {"name": ""}
    [version] = group["versions"]
    assert (version["version"], version["freshness"]) == ("v1", "Current")
    pods = {r["resource"]: r for r in version["resources"]}["pods"]
    subresources = pods.pop("subresources")
    assert pods == {
        "resource": "pods",
        "responseKind": {"group": "", "version": "v1", "kind": "Pod"},
        "scope": "Namespaced",
        "singularResource": "pod",
        "verbs": [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ],
        "shortNames": ["po"],
        "categories": ["all"],
    }
    assert {s["subresource"]: s["responseKind"]["kind"] for s in subresources} == {
        "binding": "Binding",
        "eviction": "Eviction",
        "log": "Pod",
        "status": "Pod",
    }
    named = api.get(BASE + "/apis", headers={"Accept": AGGREGATED_ACCEPT}).json()
    assert [g["metadata"]["name"] for g in named["items"]] == [
        "apps",
        "autoscaling",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "networking.k8s.io",
        "metrics.k8s.io",
    ]
    apps = named["items"][0]["versions"][0]["resources"]
    assert [(r["resource"], r["scope"]) for r in apps] == [
        ("deployments", "Namespaced"),
        ("replicasets", "Namespaced"),
    ]


@pytest.mark.parametrize(
    "accept",
    ["application/json", "application/json, */*", "", "application/json;g=apidiscovery.k8s.io"],
    ids=["json", "json-any", "none", "partial"],
)
def test_other_accept_headers_get_legacy_discovery(api: Client, accept: str) -> None:
    response = api.get(BASE + "/apis", headers={"Accept": accept} if accept else {})
    assert response["Content-Type"] == "application/json"
    assert response.json()["kind"] == "APIGroupList"


@pytest.mark.parametrize(
    "path", ["/apis/policy/v1", "/api/v1/secrets", "/apis/apps/v1/statefulsets", "/api/v2"], ids=str
)
def test_unserved_paths_are_404_status(api: Client, path: str) -> None:
    assert_status(api.get(BASE + path), 404, "NotFound")


# --- get and list ------------------------------------------------------------------------------


def test_list_nodes(api: Client, demo: Cluster) -> None:
    body = api.get(BASE + "/api/v1/nodes").json()
    assert (body["kind"], body["apiVersion"]) == ("NodeList", "v1")
    demo.refresh_from_db()
    assert body["metadata"]["resourceVersion"] == str(demo.resource_version)
    assert names(body) == ["control-plane", "node-1", "node-2", "node-3"]
    assert all(item["metadata"]["resourceVersion"] for item in body["items"])


def test_list_pods_namespaced_and_all(api: Client) -> None:
    in_default = api.get(BASE + "/api/v1/namespaces/default/pods").json()
    assert len(in_default["items"]) == 6
    assert api.get(BASE + "/api/v1/namespaces/kube-system/pods").json()["items"] == []
    assert names(api.get(BASE + "/api/v1/pods").json()) == names(in_default)


def test_list_other_kinds(api: Client) -> None:
    deployments = api.get(BASE + "/apis/apps/v1/namespaces/default/deployments").json()
    assert (deployments["kind"], names(deployments)) == ("DeploymentList", ["nginx"])
    assert len(api.get(BASE + "/apis/apps/v1/replicasets").json()["items"]) == 1
    leases = api.get(BASE + "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases")
    assert len(leases.json()["items"]) == 4
    assert "default" in names(api.get(BASE + "/api/v1/namespaces").json())
    assert api.get(BASE + "/api/v1/namespaces/default/events").json()["items"]


def test_get_one_object(api: Client) -> None:
    node = api.get(BASE + "/api/v1/nodes/node-1").json()
    assert (node["kind"], node["metadata"]["name"]) == ("Node", "node-1")
    ns = api.get(BASE + "/api/v1/namespaces/default").json()
    assert ns["kind"] == "Namespace"
    deploy = api.get(BASE + "/apis/apps/v1/namespaces/default/deployments/nginx").json()
    assert deploy["spec"]["replicas"] == 6


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/v1/namespaces/default/pods/missing", 'pods "missing" not found'),
        ("/api/v1/nodes/node-9", 'nodes "node-9" not found'),
        ("/apis/apps/v1/namespaces/default/deployments/web", 'deployments.apps "web" not found'),
        ("/api/v1/namespaces/kube-system/pods/x", 'pods "x" not found'),
    ],
    ids=["pod", "node", "deployment", "other-namespace"],
)
def test_missing_object_is_404_not_found(api: Client, path: str, message: str) -> None:
    body = assert_status(api.get(BASE + path), 404, "NotFound")
    assert body["message"] == message
    assert body["details"]["name"] == message.split('"')[1]


def test_missing_cluster_is_404(demo: Cluster) -> None:
    assert_status(Client().get("/clusters/nope/version"), 404, "NotFound")


# --- selectors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=nginx", 6),
        ("app==nginx", 6),
        ("app!=nginx", 0),
        ("app in (nginx,web)", 6),
        ("app notin (nginx)", 0),
        ("app", 6),
        ("!app", 0),
        ("app=nginx,pod-template-hash", 6),
        ("tier!=db", 6),
        ("tier notin (db)", 6),
        ("tier", 0),
    ],
    ids=str,
)
def test_label_selector(api: Client, selector: str, expected: int) -> None:
    body = api.get(BASE + "/api/v1/namespaces/default/pods", {"labelSelector": selector}).json()
    assert len(body["items"]) == expected


def test_field_selectors(api: Client) -> None:
    pods = api.get(BASE + "/api/v1/pods").json()["items"]
    one = pods[0]
    node = one["spec"]["nodeName"]
    on_node = api.get(BASE + "/api/v1/pods", {"fieldSelector": f"spec.nodeName={node}"}).json()
    assert set(names(on_node)) == {
        p["metadata"]["name"] for p in pods if p["spec"]["nodeName"] == node
    }
    by_name = api.get(
        BASE + "/api/v1/pods", {"fieldSelector": f"metadata.name={one['metadata']['name']}"}
    ).json()
    assert names(by_name) == [one["metadata"]["name"]]
    not_terminal = "status.phase!=Succeeded,status.phase!=Failed"  # kubectl describe node's
    running = api.get(
        BASE + "/api/v1/pods", {"fieldSelector": f"{not_terminal},metadata.namespace=default"}
    ).json()
    assert len(running["items"]) == 6
    nodes = api.get(BASE + "/api/v1/nodes", {"fieldSelector": "metadata.name=node-2"}).json()
    assert names(nodes) == ["node-2"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"fieldSelector": "spec.foo=bar"}, "field label not supported: spec.foo"),
        ({"labelSelector": "app in ()"}, "unable to parse requirement"),
        ({"labelSelector": "a=b=c"}, "unable to parse requirement"),
    ],
    ids=["field", "empty-set", "garbage"],
)
def test_bad_selector_is_400(api: Client, params: dict, message: str) -> None:
    body = assert_status(api.get(BASE + "/api/v1/pods", params), 400, "BadRequest")
    assert message in body["message"]


# --- tables ------------------------------------------------------------------------------------


def columns(body: dict) -> list[tuple[str, int]]:
    return [(c["name"], c["priority"]) for c in body["columnDefinitions"]]


def test_pod_table(api: Client, demo: Cluster) -> None:
    body = table(api, BASE + "/api/v1/namespaces/default/pods")
    assert columns(body) == [
        ("Name", 0),
        ("Ready", 0),
        ("Status", 0),
        ("Restarts", 0),
        ("Age", 0),
        ("IP", 1),
        ("Node", 1),
        ("Nominated Node", 1),
        ("Readiness Gates", 1),
    ]
    assert body["columnDefinitions"][0]["format"] == "name"
    row = body["rows"][0]
    name, ready, status, restarts, _age, ip, node, nominated, gates = row["cells"]
    assert (ready, status, restarts, nominated, gates) == (
        "1/1",
        "Running",
        "0",
        "<none>",
        "<none>",
    )
    assert ip.startswith("10.") and node.startswith("node-")
    assert row["object"]["kind"] == "PartialObjectMetadata"
    assert row["object"]["metadata"]["name"] == name


def test_age_follows_the_simulated_clock(api: Client, demo: Cluster) -> None:
    """AGE is simulated now minus creationTimestamp: an hour of simulated time shows as 60m."""
    pod = api.get(BASE + "/api/v1/namespaces/default/pods").json()["items"][0]
    created = k8s.parse_time(pod["metadata"]["creationTimestamp"])
    Cluster.objects.filter(pk=demo.pk).update(sim_now=created + 3600)
    body = table(api, BASE + f"/api/v1/namespaces/default/pods/{pod['metadata']['name']}")
    assert body["rows"][0]["cells"][4] == "60m"


def test_single_get_is_a_one_row_table(api: Client) -> None:
    body = table(api, BASE + "/api/v1/nodes/control-plane")
    (row,) = body["rows"]
    name, status, roles, _age, version, internal_ip, external_ip, *_ = row["cells"]
    assert (name, status, roles, version) == ("control-plane", "Ready", "control-plane", "v1.32.4")
    assert internal_ip.startswith("172.18.") and external_ip == "<none>"


def test_include_object(api: Client) -> None:
    url = BASE + "/api/v1/nodes"
    full = table(api, url, includeObject="Object")
    assert full["rows"][0]["object"]["kind"] == "Node"
    assert "object" not in table(api, url, includeObject="None")["rows"][0]


def test_workload_tables(api: Client) -> None:
    deploy = table(api, BASE + "/apis/apps/v1/namespaces/default/deployments")
    assert [c[0] for c in columns(deploy)][:5] == [
        "Name",
        "Ready",
        "Up-to-date",
        "Available",
        "Age",
    ]
    assert deploy["rows"][0]["cells"][:4] == ["nginx", "6/6", 6, 6]
    assert deploy["rows"][0]["cells"][5:] == ["nginx", "nginx:1.27", "app=nginx"]
    rs = table(api, BASE + "/apis/apps/v1/namespaces/default/replicasets")
    assert [c[0] for c in columns(rs)][:5] == ["Name", "Desired", "Current", "Ready", "Age"]
    assert rs["rows"][0]["cells"][1:4] == [6, 6, 6]


def test_namespace_lease_and_event_tables(api: Client) -> None:
    ns = table(api, BASE + "/api/v1/namespaces")
    assert columns(ns) == [("Name", 0), ("Status", 0), ("Age", 0)]
    assert {r["cells"][0]: r["cells"][1] for r in ns["rows"]}["default"] == "Active"
    lease = table(api, BASE + "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases")
    assert [r["cells"][:2] for r in lease["rows"]][1] == ["node-1", "node-1"]
    events = table(api, BASE + "/api/v1/namespaces/default/events")
    assert [c for c in columns(events) if c[1] == 0] == [
        ("Last Seen", 0),
        ("Type", 0),
        ("Reason", 0),
        ("Object", 0),
        ("Message", 0),
    ]
    reasons = {row["cells"][2] for row in events["rows"]}
    assert {"Scheduled", "Started", "ScalingReplicaSet"} <= reasons
    scheduled = next(r for r in events["rows"] if r["cells"][2] == "Scheduled")
    assert scheduled["cells"][3].startswith("pod/nginx-")
    assert scheduled["cells"][5] == "default-scheduler"


def test_unexpected_error_is_500_status_not_html(
    api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in a view still answers a Status object (InternalError), never Django's page."""

    def broken(**kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "api_object_texts", broken)
    body = assert_status(api.get(BASE + "/api/v1/nodes"), 500, "InternalError")
    assert "boom" not in body["message"]


# --- paging ------------------------------------------------------------------------------------


def test_limit_and_continue_page_through_a_list(api: Client) -> None:
    """limit=4 over 6 pods: a page of 4 with a continue token and remainingItemCount, then the
    last 2 with neither; every page carries the first page's resourceVersion."""
    url = BASE + "/api/v1/namespaces/default/pods"
    everything = names(api.get(url).json())
    first = api.get(url, {"limit": "4"}).json()
    assert names(first) == everything[:4]
    assert first["metadata"]["remainingItemCount"] == 2
    token = first["metadata"]["continue"]
    second = api.get(url, {"limit": "4", "continue": token}).json()
    assert names(second) == everything[4:]
    assert "continue" not in second["metadata"]
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    page = table(api, url, limit="5")
    assert len(page["rows"]) == 5 and page["metadata"]["continue"]


def test_bad_or_expired_continue_token(api: Client, demo: Cluster) -> None:
    url = BASE + "/api/v1/namespaces/default/pods"
    body = assert_status(api.get(url, {"limit": "2", "continue": "garbage!"}), 400, "BadRequest")
    assert body["message"].startswith("continue key is not valid")
    token = api.get(url, {"limit": "2"}).json()["metadata"]["continue"]
    Cluster.objects.filter(pk=demo.pk).update(compacted_rv=10**6)
    body = assert_status(api.get(url, {"limit": "2", "continue": token}), 410, "Expired")
    assert body["message"].startswith("The provided continue parameter is too old")


def test_plain_list_is_the_stored_objects_verbatim(api: Client, demo: Cluster) -> None:
    """Without selectors a list is joined from the stored JSON: the same items as a decoded
    list, in etcd's key order, with paging."""
    url = BASE + "/api/v1/namespaces/default/pods"
    plain = api.get(url).json()
    filtered = api.get(url, {"labelSelector": "app=nginx"}).json()
    assert plain["kind"] == "PodList" and plain["metadata"]["resourceVersion"]
    assert plain["items"] == filtered["items"]
    page = api.get(url, {"limit": "5"}).json()
    assert page["items"] == plain["items"][:5] and page["metadata"]["remainingItemCount"] == 1
