"""Services and traffic in real Chromium (docs/traffic.md): expose nginx from the Services
panel, turn traffic on, and see the Service box with its VIP, per-pod request rates on the
pods and the sparklines fill; then stop kube-proxy everywhere, delete a pod and see red errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cluster import services

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def test_expose_turn_traffic_on_and_see_per_pod_rates(page: Page, stack) -> None:
    cluster = services.demo_cluster_ensure(name="demo")
    services.cluster_clock_update(cluster=cluster, speed=5)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1600, "height": 1000})

    page.goto(f"{stack.url}/")
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    panel = page.locator("[data-testid=services-panel]")
    expect(panel).to_contain_text("kubernetes.default.svc.cluster.local")
    panel.locator("[data-testid=expose] summary").click()
    panel.get_by_role("button", name="Expose").click()
    expect(page.locator(".toast").last).to_contain_text("service/nginx exposed")
    row = page.locator('[data-testid=service-row][data-name="nginx"]')
    expect(row).to_contain_text("nginx.default.svc.cluster.local")
    endpoints = row.locator("[data-testid=service-endpoints]")
    expect(endpoints).to_contain_text("6 ready", timeout=30_000)
    box = page.locator('[data-testid=svc-box][data-key="default/nginx"]')
    expect(box).to_contain_text("VIP 10.")

    row.locator("[data-testid=service-rps]").fill("60")
    row.locator("[data-testid=service-rps-set]").click()
    expect(page.locator(".toast").last).to_contain_text("traffic to nginx: 60 requests/s")
    rates = page.locator("[data-testid=pod] [data-testid=pod-rps]")
    expect(rates).to_have_count(6, timeout=30_000)
    expect(rates.first).to_contain_text("rps")
    expect(box.locator("[data-testid=svc-stats]")).to_contain_text("req/s", timeout=30_000)
    expect(box.locator("[data-testid=svc-stats]")).not_to_contain_text("no traffic")
    page.wait_for_timeout(2500)  # let dots fly for the picture
    page.screenshot(path=str(SHOTS / "traffic-on.png"))

    # Stale rules: kube-proxy stopped on every node, then a pod deleted -> timeouts in red.
    for node in ("control-plane", "node-1", "node-2", "node-3"):
        services.node_kube_proxy_stop(cluster=cluster, name=node)
    victim = page.locator("[data-testid=node] [data-testid=pod]").first.get_attribute("data-name")
    services.pod_delete(cluster=cluster, namespace="default", name=victim, grace_period=0)
    expect(box.locator("[data-testid=svc-errors]")).to_contain_text("stale rule", timeout=30_000)
    expect(box).to_have_class(lambda_has("has-errors"))
    page.wait_for_timeout(2000)
    page.screenshot(path=str(SHOTS / "traffic-stale-rules.png"))


def lambda_has(cls: str):
    import re

    return re.compile(rf"(^|\s){cls}(\s|$)")
