"""The "send a request" panel's HTTP edge: the form lists running pods and "outside"; a send
answers the numbered path; bad input answers an inline message (422), never a stack trace."""

from __future__ import annotations

import pytest
from django.test import Client

from cluster.models import Cluster, KubeObject
from tests.cluster.test_request_path import demo  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def send(client: Client, cluster: Cluster, **data: str):
    return client.post(f"/clusters/{cluster.name}/request/send/", data)


def test_panel_lists_outside_and_running_pods(client: Client, demo: Cluster) -> None:  # noqa: F811
    html = client.get(f"/clusters/{demo.name}/request/").content.decode()
    assert 'value="external"' in html
    nginx = KubeObject.objects.filter(cluster=demo, kind="Pod", name__startswith="nginx-").first()
    assert f'value="default/{nginx.name}"' in html
    assert client.get("/clusters/nope/request/").status_code == 404


def test_send_answers_the_numbered_path(client: Client, demo: Cluster) -> None:  # noqa: F811
    pod = KubeObject.objects.filter(cluster=demo, kind="Pod", name__startswith="client-").get()
    response = send(client, demo, from_pod=f"default/{pod.name}", target="nginx", seed="0")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-ok="true"' in html and "Answered by pod nginx-" in html
    assert html.count('data-testid="request-step"') == 5
    assert '"seed": "1"' in html  # "Send another request" draws again

    failed = send(client, demo, from_pod=f"default/{pod.name}", target="nope").content.decode()
    assert 'data-ok="false"' in failed and "failed here" in failed and "NXDOMAIN" in failed


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"from_pod": "ghost", "target": "nginx"}, 'pod &quot;ghost&quot; not found'),
        ({"from_pod": "external", "target": ""}, "To: This field is required."),
        ({"from_pod": "external", "target": "http://"}, "is not a host name"),
        ({"from_pod": "external", "target": "x", "seed": "-1"}, "Try: Ensure this value"),
    ],
    ids=["unknown-pod", "empty-target", "bad-url", "bad-seed"],
)
def test_bad_input_is_an_inline_message(
    client: Client,
    demo: Cluster,  # noqa: F811
    data: dict,
    message: str,
) -> None:
    response = send(client, demo, **data)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-testid="request-error"' in html and message in html
