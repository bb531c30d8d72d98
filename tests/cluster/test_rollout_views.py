"""The rollout panel's htmx edge: the panel renders a Deployment's progress and history, the
edit form starts a rollout (answering a toast and the status part out of band), bad input is
a 422 toast with the service's words, and pause/resume/restart/rollback reach the services."""

from __future__ import annotations

import random
from html import unescape

import pytest

from cluster import reconcile, services
from cluster.models import Cluster, KubeObject
from cluster.services import objects

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo() -> Cluster:
    return services.demo_cluster_ensure(name="demo")


def edit(client, **overrides):
    data = {
        "container": "nginx",
        "image": "nginx:1.28",
        "cpu_request": "100m",
        "cpu_limit": "",
        "memory_request": "128Mi",
        "memory_limit": "",
        "replicas": "6",
        "strategy": "RollingUpdate",
        "max_surge": "25%",
        "max_unavailable": "25%",
        "change_cause": "to 1.28",
        **overrides,
    }
    return client.post("/clusters/demo/deployments/default/nginx/edit/", data)


def test_panel_shows_progress_and_history(client, demo) -> None:
    html = client.get("/clusters/demo/rollout/").content.decode()
    assert 'data-testid="rollout-panel"' in html and 'data-state="complete"' in html
    assert "successfully rolled out" in html and "rev 1" in html
    assert 'data-testid="deployment-edit"' in html
    status = client.get("/clusters/demo/rollout/default/nginx/?part=status").content.decode()
    assert 'id="rollout-status"' in status and "deployment-edit" not in status
    assert client.get("/clusters/demo/rollout/default/nope/").status_code == 404


def test_edit_starts_a_rollout_and_rollback_returns(client, demo) -> None:
    response = edit(client)
    assert response.status_code == 200
    html = response.content.decode()
    assert "rolling out the new template" in html and 'hx-swap-oob="true"' in html
    dep = KubeObject.objects.get(cluster=demo, kind="Deployment", name="nginx")
    assert dep.spec["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert dep.body["metadata"]["annotations"]["kubernetes.io/change-cause"] == "to 1.28"
    reconcile.run_until_settled(cluster_id=demo.pk)
    html = client.get("/clusters/demo/rollout/default/nginx/").content.decode()
    assert "rev 2" in html and "to 1.28" in html and "Roll back to 1" in html
    response = client.post(
        "/clusters/demo/deployments/default/nginx/rollout/rollback/", {"to_revision": "1"}
    )
    html = response.content.decode()
    assert "rolled back to revision 1" in html
    # The edit form comes back out of band with the restored image, closed.
    assert 'id="rollout-edit"' in html and 'value="nginx:1.28"' not in html
    assert 'value="nginx:1.27"' in html and "<details" in html and " open" not in html
    dep.refresh_from_db()
    assert dep.spec["template"]["spec"]["containers"][0]["image"] != "nginx:1.28"


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"max_surge": "0", "max_unavailable": "0"}, "may not be 0 when `maxSurge` is 0"),
        ({"cpu_request": "lots"}, "CPU request"),
        ({"max_surge": "abc"}, "a whole number or a percentage"),
        ({"memory_request": "1Gi", "memory_limit": "512Mi"}, "must be less than or equal to"),
        ({"image": "   "}, "Image"),
    ],
    ids=["both-zero", "bad-cpu", "bad-surge", "request-over-limit", "no-image"],
)
def test_edit_errors_are_toasts(client, demo, overrides, text) -> None:
    response = edit(client, **overrides)
    assert response.status_code in (400, 422)
    html = response.content.decode()
    assert 'class="toast error"' in html and text in html


def test_pause_resume_restart_and_refusals(client, demo) -> None:
    base = "/clusters/demo/deployments/default/nginx/rollout/"
    assert "paused" in client.post(base + "pause/").content.decode()
    again = client.post(base + "pause/")
    assert again.status_code == 400 and "already paused" in again.content.decode()
    refused = client.post(base + "rollback/")
    assert refused.status_code == 400 and "paused" in refused.content.decode()
    html = client.get("/clusters/demo/rollout/default/nginx/").content.decode()
    assert 'data-state="paused"' in html and 'data-testid="resume"' in html
    assert "resumed" in client.post(base + "resume/").content.decode()
    assert "restarted" in client.post(base + "restart/").content.decode()
    assert client.post(base + "explode/").status_code == 404


def test_stalled_rollout_is_shown_as_such(client, demo) -> None:
    """A rollout past its progress deadline: the panel says Stalled: ProgressDeadlineExceeded,
    with kubectl's line and the False condition."""
    edit(client, cpu_request="64")
    body = KubeObject.objects.get(cluster=demo, kind="Deployment", name="nginx").body
    body["spec"]["progressDeadlineSeconds"] = 20
    objects.object_replace(
        cluster=demo, kind="Deployment", namespace="default", name="nginx", body=body, actor="t"
    )
    demo.refresh_from_db()
    reconcile.run_to(demo, demo.sim_now + 40, random.Random(1))
    html = unescape(client.get("/clusters/demo/rollout/default/nginx/").content.decode())
    assert 'data-state="stalled"' in html and "Stalled: ProgressDeadlineExceeded" in html
    assert 'deployment "nginx" exceeded its progress deadline' in html
    assert "Progressing</b>=False" in html and "has timed out progressing." in html
