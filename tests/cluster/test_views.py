"""The dashboard's HTTP edge: each action parses its input, calls one service and answers with a
toast partial; bad input and service errors become a visible error message, never a 500."""

from __future__ import annotations

import html
import json

import pytest
from django.test import Client

from cluster import selectors, services
from cluster.forms import NOTHING_TO_CHANGE
from cluster.models import Cluster, KubeObject
from cluster.views import STEP_NEEDS_PAUSE

pytestmark = pytest.mark.django_db

T0 = 1_800_000_000.0
BASE = "/clusters/demo"


@pytest.fixture
def cluster() -> Cluster:
    """A cluster "demo" with two powered machines (no reconcile: Nodes are not registered)."""
    cluster = services.cluster_create(name="demo", wall_now=T0)
    for name in ("node-1", "node-2"):
        services.node_add(cluster=cluster, name=name)
    return cluster


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch):
    """Replace services by recorders: ``calls("node_cordon")`` then ``calls.made``."""

    class Recorder:
        def __init__(self) -> None:
            self.made: list[tuple[str, dict]] = []

        def __call__(self, *names: str, returns: object = None) -> Recorder:
            for name in names:
                monkeypatch.setattr(
                    services, name, lambda _n=name, **kw: self.made.append((_n, kw)) or returns
                )
            return self

    return Recorder()


def post(client: Client, url: str, data: dict | None = None):
    return client.post(url, data or {}, headers={"HX-Request": "true"})


def is_toast(response, text: str, *, error: bool = False) -> bool:
    body = html.unescape(response.content.decode())
    return 'class="toast' in body and text in body and (('class="toast error"' in body) == error)


# --- pages -------------------------------------------------------------------------------------


def test_root_redirects_to_the_demo_cluster(client: Client) -> None:
    services.cluster_create(name="alpha", wall_now=T0)
    services.cluster_create(name="demo", wall_now=T0)

    response = client.get("/")

    assert response.status_code == 302
    assert response.url == "/clusters/demo/"


def test_root_redirects_to_the_first_cluster_without_a_demo(client: Client) -> None:
    services.cluster_create(name="zeta", wall_now=T0)
    services.cluster_create(name="beta", wall_now=T0)

    assert client.get("/").url == "/clusters/beta/"


def test_root_without_clusters_is_a_friendly_page(client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert "There is no simulated cluster yet" in response.content.decode()
    assert "Create the demo cluster" in response.content.decode()


def test_the_empty_page_button_creates_the_demo_cluster(client: Client, calls) -> None:
    calls("demo_cluster_ensure", returns=Cluster(name="demo"))

    response = client.post("/clusters/")

    assert calls.made == [("demo_cluster_ensure", {"owner_id": None})]  # anonymous: open
    assert response.url == "/clusters/demo/"


def test_dashboard_embeds_the_snapshot_and_the_test_hooks(client: Client, cluster: Cluster) -> None:
    response = client.get(f"{BASE}/")

    body = response.content.decode()
    assert response.status_code == 200
    for hook in ("connection", "sim-clock", "pending-pods", "events", "deployments"):
        assert f'data-testid="{hook}"' in body
    snapshot = json.loads(
        body.split('<script id="snapshot" type="application/json">')[1].split("</script>")[0]
    )
    assert snapshot["rv"] == selectors.snapshot(cluster=cluster)["rv"]
    assert {o["name"] for o in snapshot["objects"] if o["kind"] == "Machine"} == {
        "node-1",
        "node-2",
    }
    assert 'hx-headers=\'{"X-CSRFToken": "' in body
    assert 'data-ws-path="/ws/clusters/demo/"' in body


def test_the_speed_menu_shows_a_speed_it_does_not_offer(client: Client, cluster: Cluster) -> None:
    """A speed set through the API (not in the menu) is shown selected, not as a blank menu."""
    services.cluster_clock_update(cluster=cluster, speed=3.0)

    body = client.get(f"{BASE}/").content.decode()

    menu = body.split('id="speed-select"')[1].split("</select>")[0]
    assert '<option value="3" selected>3x</option>' in menu
    assert menu.index('value="2"') < menu.index('value="3"') < menu.index('value="5"')


def test_dashboard_of_an_unknown_cluster_is_404(client: Client) -> None:
    assert client.get("/clusters/nope/").status_code == 404


def test_fixture_page_is_for_development_only(client: Client, settings) -> None:
    settings.DEBUG = False
    assert client.get("/dev/fixtures/snapshot_demo/").status_code == 404

    settings.DEBUG = True
    response = client.get("/dev/fixtures/snapshot_demo/")

    assert response.status_code == 200
    assert 'data-live="false"' in response.content.decode()


# --- panels ------------------------------------------------------------------------------------


def test_events_partial_lists_kubectl_columns(client: Client, cluster: Cluster) -> None:
    machine = KubeObject.objects.get(cluster=cluster, kind="Machine", name="node-1")
    services.event_record(
        cluster=cluster,
        involved=machine.body,
        reason="NodeNotReady",
        message="Node node-1 status is now: NodeNotReady",
        component="node-controller",
        type_="Warning",
    )

    response = client.get(f"{BASE}/events/")

    body = response.content.decode()
    assert response.status_code == 200
    assert "NodeNotReady" in body and "Node node-1 status is now: NodeNotReady" in body
    assert "ev-warning" in body and "Warning" in body


def test_events_partial_when_there_are_none(client: Client, cluster: Cluster) -> None:
    assert "No events yet." in client.get(f"{BASE}/events/").content.decode()


def test_describe_shows_kubectl_describe_text(client: Client, cluster: Cluster) -> None:
    services.deployment_create(cluster=cluster, name="web", image="nginx:1.27", replicas=2)

    response = client.get(f"{BASE}/describe/deployment/default/web/")

    assert response.status_code == 200
    assert "<pre" in response.content.decode()
    assert "Name:" in response.content.decode() and "web" in response.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/describe/pod/default/missing/",
        "/describe/secret/default/web/",
        "/describe/node/_/node-9/",
    ],
    ids=["missing-pod", "unknown-kind", "missing-node"],
)
def test_describe_of_something_absent_says_so(client: Client, cluster: Cluster, path: str) -> None:
    response = client.get(BASE + path)

    assert response.status_code == 404
    assert "does not exist" in response.content.decode()


# --- node actions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "service", "message"),
    [
        ("power-off", "node_power_off", "node-2 powered off"),
        ("power-on", "node_power_on", "node-2 powered on"),
        ("cordon", "node_cordon", "node-2 cordoned"),
        ("uncordon", "node_uncordon", "node-2 uncordoned"),
        ("remove", "node_remove", "node-2 removed"),
    ],
    ids=["power-off", "power-on", "cordon", "uncordon", "remove"],
)
def test_node_action_calls_its_service_and_answers_a_toast(
    client: Client, cluster: Cluster, calls, *, action: str, service: str, message: str
) -> None:
    calls(service)

    response = post(client, f"{BASE}/nodes/node-2/{action}/")

    assert response.status_code == 200
    assert is_toast(response, message)
    assert calls.made == [(service, {"cluster": cluster, "name": "node-2"})]


def test_power_off_really_switches_the_machine_off(client: Client, cluster: Cluster) -> None:
    response = post(client, f"{BASE}/nodes/node-2/power-off/")

    assert is_toast(response, "node-2 powered off")
    machine = KubeObject.objects.get(cluster=cluster, kind="Machine", name="node-2")
    assert machine.body["spec"]["powered"] is False


def test_a_service_error_is_shown_in_red(client: Client, cluster: Cluster) -> None:
    response = post(client, f"{BASE}/nodes/node-2/power-on/")

    assert response.status_code == 422
    assert is_toast(response, "node-2 is already powered on", error=True)


def test_an_unknown_node_action_is_an_error_toast(client: Client, cluster: Cluster) -> None:
    response = post(client, f"{BASE}/nodes/node-2/explode/")

    assert response.status_code == 404
    assert is_toast(response, 'unknown node action "explode"', error=True)


def test_a_missing_node_is_an_error_toast(client: Client, cluster: Cluster) -> None:
    response = post(client, f"{BASE}/nodes/node-7/power-off/")

    assert response.status_code == 404
    assert is_toast(response, "not found", error=True)


def test_actions_on_an_unknown_cluster_are_an_error_toast(client: Client) -> None:
    response = post(client, "/clusters/nope/nodes/node-1/cordon/")

    assert response.status_code == 404
    assert is_toast(response, 'cluster "nope" not found', error=True)


def test_actions_only_accept_post(client: Client, cluster: Cluster) -> None:
    assert client.get(f"{BASE}/nodes/node-2/power-off/").status_code == 405


def test_node_add_uses_defaults(client: Client, cluster: Cluster, calls) -> None:
    calls("node_add", returns=KubeObject(name="node-3"))

    response = post(client, f"{BASE}/nodes/")

    assert is_toast(response, "node-3 added")
    assert calls.made == [
        ("node_add", {"cluster": cluster, "name": None, "cpu": "2", "memory": "4Gi"})
    ]


def test_node_add_really_adds_the_next_machine(client: Client, cluster: Cluster) -> None:
    response = post(client, f"{BASE}/nodes/", {"cpu": "4", "memory": "8Gi"})

    assert is_toast(response, "node-3 added")
    spec = KubeObject.objects.get(cluster=cluster, kind="Machine", name="node-3").body["spec"]
    assert spec["capacity"]["cpu"] == "4"


# --- pods --------------------------------------------------------------------------------------


def test_pod_delete_calls_the_service(client: Client, cluster: Cluster, calls) -> None:
    calls("pod_delete")

    response = post(client, f"{BASE}/pods/default/web-abc12/delete/")

    assert is_toast(response, "pod web-abc12 deleted")
    assert calls.made == [
        ("pod_delete", {"cluster": cluster, "namespace": "default", "name": "web-abc12"})
    ]


def test_deleting_a_missing_pod_is_an_error_toast(client: Client, cluster: Cluster) -> None:
    response = post(client, f"{BASE}/pods/default/nope/delete/")

    assert response.status_code == 404
    assert is_toast(response, 'pods "nope" not found', error=True)


# --- deployments -------------------------------------------------------------------------------


def test_create_deployment_calls_the_service(client: Client, cluster: Cluster, calls) -> None:
    calls("deployment_create")
    data = {
        "name": "web",
        "image": "nginx:1.27",
        "replicas": "3",
        "cpu_request": "100m",
        "memory_request": "128Mi",
    }

    response = post(client, f"{BASE}/deployments/", data)

    assert is_toast(response, "deployment web created with 3 replicas")
    assert calls.made == [
        (
            "deployment_create",
            {
                "cluster": cluster,
                "name": "web",
                "image": "nginx:1.27",
                "replicas": 3,
                "cpu_request": "100m",
                "memory_request": "128Mi",
            },
        )
    ]


def test_create_deployment_really_creates_it(client: Client, cluster: Cluster) -> None:
    post(client, f"{BASE}/deployments/", {"name": "web", "image": "nginx:1.27", "replicas": "2"})

    deployment = KubeObject.objects.get(cluster=cluster, kind="Deployment", name="web")
    assert deployment.body["spec"]["replicas"] == 2
    assert "resources" not in deployment.body["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("name", "Bad_Name", "Name: a lowercase RFC 1123 label"),
        ("replicas", "three", "Replicas: Enter a whole number."),
        ("replicas", "-1", "Replicas: Ensure this value is greater than or equal to 0."),
        ("cpu_request", "lots", "CPU request: quantities must match"),
        ("memory_request", "12 Mi", "Memory request: quantities must match"),
        ("image", "nginx latest", "Image: an image reference cannot contain spaces"),
    ],
    ids=[
        "name-not-dns1123",
        "replicas-not-int",
        "replicas-negative",
        "bad-cpu",
        "bad-memory",
        "image-space",
    ],
)
def test_create_deployment_shows_the_bad_field(
    client: Client, cluster: Cluster, calls, *, field: str, value: str, shown: str
) -> None:
    calls("deployment_create")
    data = {"name": "web", "image": "nginx:1.27", "replicas": "3", field: value}

    response = post(client, f"{BASE}/deployments/", data)

    assert response.status_code == 422
    assert is_toast(response, shown, error=True)
    assert calls.made == []


def test_create_deployment_twice_is_an_error_toast(client: Client, cluster: Cluster) -> None:
    data = {"name": "web", "image": "nginx:1.27", "replicas": "1"}
    post(client, f"{BASE}/deployments/", data)

    response = post(client, f"{BASE}/deployments/", data)

    assert response.status_code == 409
    assert is_toast(response, "already exists", error=True)


def test_scale_calls_the_service(client: Client, cluster: Cluster, calls) -> None:
    calls("deployment_scale")

    response = post(client, f"{BASE}/deployments/default/nginx/scale/", {"replicas": "5"})

    assert is_toast(response, "deployment nginx scaled to 5")
    assert calls.made == [
        (
            "deployment_scale",
            {"cluster": cluster, "namespace": "default", "name": "nginx", "replicas": 5},
        )
    ]


@pytest.mark.parametrize(
    "value", ["", "x", "-3", "9999"], ids=["empty", "text", "negative", "huge"]
)
def test_scale_with_bad_replicas_is_an_error_toast(
    client: Client, cluster: Cluster, calls, value: str
) -> None:
    calls("deployment_scale")

    response = post(client, f"{BASE}/deployments/default/nginx/scale/", {"replicas": value})

    assert response.status_code == 422
    assert is_toast(response, "Replicas:", error=True)
    assert calls.made == []


def test_scale_of_a_missing_deployment_is_an_error_toast(client: Client, cluster: Cluster) -> None:
    response = post(client, f"{BASE}/deployments/default/nope/scale/", {"replicas": "2"})

    assert response.status_code == 404
    assert is_toast(response, 'deployments.apps "nope" not found', error=True)


def test_delete_deployment_really_deletes_it(client: Client, cluster: Cluster) -> None:
    services.deployment_create(cluster=cluster, name="web", image="nginx:1.27", replicas=1)

    response = post(client, f"{BASE}/deployments/default/web/delete/")

    assert is_toast(response, "deployment web deleted")
    assert not KubeObject.objects.filter(cluster=cluster, kind="Deployment", name="web").exists()


# --- the clock ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"paused": "true"}, {"paused": True}),
        ({"paused": "false"}, {"paused": False}),
        ({"speed": "5"}, {"speed": 5.0}),
        ({"speed": "0.25"}, {"speed": 0.25}),
        ({"profile": "kubernetes"}, {"profile": "kubernetes"}),
    ],
    ids=["pause", "resume", "speed-5", "speed-quarter", "profile"],
)
def test_clock_controls_update_the_cluster(
    client: Client, cluster: Cluster, data: dict, expected: dict
) -> None:
    response = post(client, f"{BASE}/clock/", data)

    assert response.status_code == 200
    assert is_toast(response, "Clock")
    cluster.refresh_from_db()
    for field, value in expected.items():
        assert getattr(cluster, field) == value


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        ({"speed": "7"}, "Speed: Select a valid choice."),
        ({"profile": "warp"}, "Profile: Select a valid choice."),
        ({"step": "5"}, "Step: Select a valid choice."),
        ({}, NOTHING_TO_CHANGE),
    ],
    ids=["speed-not-offered", "unknown-profile", "step-not-offered", "nothing"],
)
def test_clock_with_bad_input_is_an_error_toast(
    client: Client, cluster: Cluster, data: dict, shown: str
) -> None:
    response = post(client, f"{BASE}/clock/", data)

    assert response.status_code == 422
    assert is_toast(response, shown, error=True)


def test_step_needs_a_paused_clock(client: Client, cluster: Cluster, calls) -> None:
    calls("cluster_step")

    response = post(client, f"{BASE}/clock/", {"step": "10"})

    assert response.status_code == 409
    assert is_toast(response, STEP_NEEDS_PAUSE, error=True)
    assert calls.made == []


def test_step_advances_a_paused_clock(client: Client, cluster: Cluster) -> None:
    services.cluster_clock_update(cluster=cluster, paused=True)

    response = post(client, f"{BASE}/clock/", {"step": "10"})

    assert is_toast(response, "Stepping 10 simulated s")
    cluster.refresh_from_db()
    assert cluster.step_pending == 10.0


# --- timings -----------------------------------------------------------------------------------


def test_dashboard_lists_every_timing_with_its_profile_value(
    client: Client, cluster: Cluster
) -> None:
    body = client.get(f"{BASE}/").content.decode()

    assert 'data-testid="timings"' in body
    assert 'name="default_toleration_seconds" value="20.0"' in body  # classroom profile
    assert "--node-monitor-grace-period" in body


def test_timings_apply_only_what_differs_from_the_profile(client: Client, cluster: Cluster) -> None:
    response = post(
        client,
        f"{BASE}/timings/update/",
        {
            "default_toleration_seconds": "10",
            "node_monitor_grace_period": "15",
            "image_pull_seconds": "",
        },
    )

    assert response.status_code == 200
    assert is_toast(response, "classroom profile with 1 override")
    cluster.refresh_from_db()
    assert cluster.timings == {"default_toleration_seconds": 10.0}
    body = response.content.decode()
    assert 'hx-swap-oob="true"' in body  # the panel is redrawn with the new values
    assert 'name="default_toleration_seconds" value="10.0"' in body
    assert "was 20.0" in body


def test_timings_reset_goes_back_to_the_profile(client: Client, cluster: Cluster) -> None:
    services.cluster_clock_update(cluster=cluster, timing_overrides={"image_pull_seconds": 9})

    response = post(client, f"{BASE}/timings/update/", {"reset": "on", "image_pull_seconds": "9"})

    assert is_toast(response, "no overrides")
    cluster.refresh_from_db()
    assert cluster.timings == {}


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        ({"lease_duration": "abc"}, "Node lease duration: Enter a number."),
        (
            {"image_pull_seconds": "-1"},
            "Image pull: Ensure this value is greater than or equal to 0.",
        ),
        ({"node_monitor_period": "0"}, "Node monitor period: must be greater than 0"),
        ({"lease_renew_interval": "12"}, "Lease renew interval: must be shorter than the lease"),
    ],
    ids=["not-a-number", "negative", "zero-period", "renew-after-expiry"],
)
def test_bad_timings_are_an_error_and_change_nothing(
    client: Client, cluster: Cluster, data: dict, shown: str
) -> None:
    response = post(client, f"{BASE}/timings/update/", data)

    assert response.status_code == 422
    assert is_toast(response, shown, error=True)
    assert 'aria-invalid="true"' in response.content.decode()  # the field is marked
    cluster.refresh_from_db()
    assert cluster.timings == {}


def test_timings_panel_partial(client: Client, cluster: Cluster) -> None:
    response = client.get(f"{BASE}/timings/")

    assert response.status_code == 200
    assert 'id="timings-panel"' in response.content.decode()
    assert "hx-swap-oob" not in response.content.decode()


def test_timings_panel_carries_the_key_clock_messages_carry(
    client: Client, cluster: Cluster
) -> None:
    """The page reloads the panel when a clock message's key differs from the panel's: they
    must agree, or every clock tick would reload it."""
    from cluster import broadcast

    services.cluster_clock_update(cluster=cluster, timing_overrides={"image_pull_seconds": 9})
    cluster.refresh_from_db()
    key = broadcast.clock_message(cluster)["timingsKey"]

    body = client.get(f"{BASE}/timings/").content.decode()

    assert f'data-timings-key="{html.escape(key)}"' in body
    assert "image_pull_seconds=9.0" in key
