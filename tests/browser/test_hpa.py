"""The autoscaling panel in real Chromium: create an HPA for nginx in the panel, make its pods
burn CPU with the panel's control, and watch the replicas rise in the panel while the Celery
worker runs the HorizontalPodAutoscaler controller. Screenshots land in
test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cluster import services

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def test_create_hpa_burn_cpu_and_watch_replicas_rise(page: Page, stack) -> None:
    cluster = services.demo_cluster_ensure(name="demo")
    services.cluster_clock_update(cluster=cluster, speed=10)
    SHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{stack.url}/clusters/demo/")
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    panel = page.get_by_test_id("hpa-panel")
    status = page.get_by_test_id("hpa-status")
    expect(status).to_have_attribute("data-exists", "false")
    expect(status).to_have_attribute("data-replicas", "6")

    panel.locator("#hpa-min").fill("2")
    panel.locator("#hpa-max").fill("10")
    panel.locator("#hpa-cpu").fill("50")
    panel.get_by_test_id("hpa-save").click()
    expect(page.get_by_test_id("toast").last).to_contain_text("deployment nginx autoscaled")
    expect(status).to_have_attribute("data-exists", "true")
    expect(page.get_by_test_id("hpa-target")).to_have_text("50%")

    panel.get_by_test_id("cpu-burn").fill("200m")
    panel.get_by_test_id("cpu-burn-apply").click()
    expect(page.get_by_test_id("toast").last).to_contain_text("each pod burns 200m of CPU")

    expect(status).to_have_attribute("data-replicas", "10", timeout=120_000)
    expect(page.get_by_test_id("hpa-decisions")).to_contain_text("scaled")
    page.get_by_test_id("hpa-panel").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "hpa-scaled-up.png"), full_page=True)
    panel.screenshot(path=str(SHOTS / "hpa-panel.png"))


def test_traffic_turned_on_in_the_panel_makes_the_hpa_scale_up(page: Page, stack) -> None:
    """Issue 5's story in the browser: nginx exposed, an HPA created in the Autoscaling panel,
    then traffic turned on in the Services panel: the pods show their rate and CPU, and the HPA
    adds replicas, each decision explained."""
    cluster = services.demo_cluster_ensure(name="demo")
    services.cluster_clock_update(cluster=cluster, speed=10)
    services.service_expose_deployment(
        cluster=cluster, namespace="default", deployment="nginx", port=80
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1600, "height": 1000})

    page.goto(f"{stack.url}/clusters/demo/")
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    hpa_panel = page.get_by_test_id("hpa-panel")
    hpa_panel.locator("#hpa-min").fill("2")
    hpa_panel.locator("#hpa-max").fill("10")
    hpa_panel.locator("#hpa-cpu").fill("50")
    hpa_panel.get_by_test_id("hpa-save").click()
    expect(page.get_by_test_id("toast").last).to_contain_text("deployment nginx autoscaled")

    row = page.locator('[data-testid=service-row][data-name="nginx"]')
    row.locator("[data-testid=service-rps]").fill("400")
    row.locator("[data-testid=service-rps-set]").click()
    expect(page.locator(".toast").last).to_contain_text("traffic to nginx: 400 requests/s")
    badge = page.locator("[data-testid=pod] [data-testid=pod-rps]").first
    expect(badge).to_contain_text("rps · ", timeout=60_000)  # rate and CPU side by side

    status = page.get_by_test_id("hpa-status")
    expect(status).to_have_attribute("data-replicas", "10", timeout=120_000)
    expect(page.get_by_test_id("hpa-decisions")).to_contain_text("scaled")
    page.screenshot(path=str(SHOTS / "hpa-traffic-scaled-up.png"))
