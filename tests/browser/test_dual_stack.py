"""Dual-stack in real Chromium (docs/addressing.md): "New cluster" with the dual-stack box
ticked creates a settled cluster and opens it; its nodes show both pod ranges, and nginx
exposed as PreferDualStack from the Services panel gets an IPv4 and an IPv6 ClusterIP."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cluster import services

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def test_new_dual_stack_cluster_and_a_service_on_both_families(page: Page, stack) -> None:
    services.demo_cluster_ensure(name="demo")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(f"{stack.url}/")
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    expect(page.locator("[data-testid=dual-stack-badge]")).to_have_count(0)

    page.locator("[data-testid=new-cluster] summary").click()
    page.locator("[data-testid=new-cluster-name]").fill("lab")
    page.locator("[data-testid=new-cluster-dual]").check()
    page.locator("[data-testid=new-cluster-create]").click()
    page.wait_for_url("**/clusters/lab/", timeout=60_000)
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    expect(page.locator("[data-testid=dual-stack-badge]")).to_have_text("IPv4+IPv6")
    expect(page.locator(".node-cidr").first).to_contain_text("fd00:10:244:")

    panel = page.locator("[data-testid=services-panel]")
    panel.locator("[data-testid=expose] summary").click()
    panel.locator("[data-testid=expose-policy]").select_option("PreferDualStack")
    panel.get_by_role("button", name="Expose").click()
    expect(page.locator(".toast").last).to_contain_text("fd00:10:96::")
    row = page.locator('[data-testid=service-row][data-name="nginx"]')
    expect(row.locator("[data-testid=service-ip]")).to_contain_text("fd00:10:96::")
    expect(row.locator("[data-testid=service-policy]")).to_have_text("PreferDualStack")
    expect(row.locator("[data-testid=service-endpoints]")).to_contain_text(
        "6 ready", timeout=30_000
    )
    page.screenshot(path=str(SHOTS / "dual-stack.png"))
