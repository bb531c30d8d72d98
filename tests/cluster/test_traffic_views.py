"""The Services panel's htmx edge: it lists Services with their VIP, ports, DNS name and
endpoints; Expose, Delete, the traffic rate and the proxy mode reach the services and answer a
toast with the panel redrawn out of band; bad input is a 422 toast in the services' words; the
node menu's kube-proxy stop/start goes through the node actions."""

from __future__ import annotations

from html import unescape

import pytest

from cluster import reconcile, services, traffic_selectors
from cluster.models import Cluster, KubeObject

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo() -> Cluster:
    return services.demo_cluster_ensure(name="demo")


def expose(client, **overrides):
    data = {"deployment": "default/nginx", "port": "80", "target_port": "", "type": "NodePort"}
    return client.post("/clusters/demo/services/expose/", {**data, **overrides})


def test_expose_lists_the_service_with_its_endpoints(client, demo) -> None:
    html = client.get("/clusters/demo/services/").content.decode()
    assert 'data-testid="services-panel"' in html and "kubernetes.default.svc.cluster.local" in html
    response = expose(client)
    body = unescape(response.content.decode())
    assert response.status_code == 200 and "service/nginx exposed: 10." in body
    assert 'hx-swap-oob="true"' in body and "nginx.default.svc.cluster.local" in body
    reconcile.run_until_settled(cluster_id=demo.pk)
    html = unescape(client.get("/clusters/demo/services/").content.decode())
    assert "✓ 6 ready" in html and "/TCP" in html and "NodePort" in html
    again = expose(client)
    assert again.status_code == 409 and "already exists" in unescape(again.content.decode())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"port": "0"}, "Port: Ensure this value is greater than or equal to 1."),
        ({"type": "Magic"}, "Select a valid choice"),
        ({"deployment": "default/nope"}, 'deployments.apps "nope" not found'),
    ],
    ids=["port", "type", "missing"],
)
def test_bad_expose_input_is_refused(client, demo, data, message) -> None:
    response = expose(client, **data)
    assert response.status_code in (404, 422)
    assert message in unescape(response.content.decode())


def test_traffic_rate_is_set_validated_and_turned_off(client, demo) -> None:
    expose(client)
    url = "/clusters/demo/services/default/nginx/traffic/"
    response = client.post(url, {"rps": "25"})
    assert "traffic to nginx: 25 requests/s" in response.content.decode()
    assert 'data-testid="traffic-on"' in response.content.decode()
    assert traffic_selectors.generators(cluster=demo) == [("default", "nginx", 25.0)]
    for bad in ("-1", "5000", "many"):
        refused = client.post(url, {"rps": bad})
        assert refused.status_code == 422 and "Requests/s" in unescape(refused.content.decode())
    assert "traffic to nginx off" in client.post(url, {"rps": "0"}).content.decode()
    assert traffic_selectors.generators(cluster=demo) == []
    missing = client.post("/clusters/demo/services/default/nope/traffic/", {"rps": "1"})
    assert missing.status_code == 404


def test_delete_and_proxy_mode(client, demo) -> None:
    expose(client)
    response = client.post("/clusters/demo/proxy-mode/", {"mode": "ipvs"})
    assert "kube-proxy mode: ipvs" in response.content.decode()
    demo.refresh_from_db()
    assert demo.proxy_mode == "ipvs"
    bad = client.post("/clusters/demo/proxy-mode/", {"mode": "userspace"})
    assert bad.status_code == 422 and "unknown proxy mode" in unescape(bad.content.decode())
    deleted = client.post("/clusters/demo/services/default/nginx/delete/")
    assert 'service "nginx" deleted' in unescape(deleted.content.decode())
    assert not KubeObject.objects.filter(cluster=demo, kind="Service", name="nginx").exists()


def test_kube_proxy_stop_start_from_the_node_menu(client, demo) -> None:
    stop = client.post("/clusters/demo/nodes/node-1/kube-proxy-stop/")
    assert "kube-proxy on node-1 stopped" in stop.content.decode()
    machine = KubeObject.objects.get(cluster=demo, kind="Machine", name="node-1")
    assert machine.spec["kubeProxy"] is False and "proxyRules" in machine.sim
    html = client.get("/clusters/demo/services/").content.decode()
    assert 'data-testid="proxy-stopped"' in html
    again = client.post("/clusters/demo/nodes/node-1/kube-proxy-stop/")
    assert again.status_code == 422 and "already stopped" in again.content.decode()
    start = client.post("/clusters/demo/nodes/node-1/kube-proxy-start/")
    assert "kube-proxy on node-1 started" in start.content.decode()
    machine.refresh_from_db()
    assert machine.spec["kubeProxy"] is True and "proxyRules" not in machine.sim
