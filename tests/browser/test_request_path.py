"""The "send a request" tool in real Chromium, on the live demo cluster: expose nginx, send a
request from a pod by short name and read the numbered path (DNS, Service, kube-proxy, pod);
a name that does not exist fails at the DNS step; from outside, through an Ingress. Screenshots
land in test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cluster import services
from cluster.models import KubeObject
from cluster.services.objects import object_create

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def test_send_a_request_and_read_its_path(page: Page, stack) -> None:
    cluster = services.demo_cluster_ensure(name="demo")
    services.service_expose_deployment(cluster=cluster, namespace="default", deployment="nginx",
                                       port=80)
    rule = {"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "nginx", "port": {"number": 80}}}}
    object_create(
        cluster=cluster,
        body={"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "shop"},
              "spec": {"rules": [{"host": "shop.example.com", "http": {"paths": [rule]}}]}},
        namespace="default",
        actor="test",
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(f"{stack.url}/clusters/demo/")
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")

    source = KubeObject.objects.filter(cluster=cluster, kind="Pod").order_by("name").first()
    form = page.get_by_test_id("request-form")
    form.get_by_test_id("request-from").select_option(f"default/{source.name}")
    form.get_by_test_id("request-target").fill("nginx")
    form.get_by_test_id("request-send").click()

    summary = page.get_by_test_id("request-summary")
    expect(summary).to_have_attribute("data-ok", "true")
    expect(summary).to_contain_text("Answered by pod nginx-")
    steps = page.get_by_test_id("request-step")
    expect(steps).to_have_count(5)
    ip = KubeObject.objects.get(cluster=cluster, kind="Service", name="nginx").body["spec"][
        "clusterIP"
    ]
    expect(steps.nth(1)).to_contain_text(f"nginx.default.svc.cluster.local → {ip}")
    expect(steps.nth(3)).to_contain_text("kube-proxy on")
    page.get_by_test_id("request-result").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "request-path.png"))
    page.locator(".panel-request").screenshot(path=str(SHOTS / "request-path-panel.png"))

    form.get_by_test_id("request-target").fill("nginx.shop")
    form.get_by_test_id("request-send").click()
    expect(summary).to_have_attribute("data-ok", "false")
    expect(steps.last).to_contain_text("NXDOMAIN")
    expect(steps.last).to_contain_text("failed here")
    page.screenshot(path=str(SHOTS / "request-path-nxdomain.png"))

    form.get_by_test_id("request-from").select_option("external")
    form.get_by_test_id("request-target").fill("http://shop.example.com/cart")
    form.get_by_test_id("request-send").click()
    expect(summary).to_have_attribute("data-ok", "true", timeout=20_000)
    expect(steps.nth(2)).to_contain_text("Ingress shop: host shop.example.com")
    page.screenshot(path=str(SHOTS / "request-path-ingress.png"))
