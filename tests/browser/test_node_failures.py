"""Node failure modes in real Chromium (docs/nodes.md): partition a node from its popover, see it
drawn cut off and go NotReady while its pods are replaced elsewhere, heal it; then stop a
kubelet and put a node under memory pressure, and see their badges."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cluster import services

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def running_on(page: Page, node: str) -> int:
    return page.locator(
        f'[data-testid=node][data-name="{node}"] [data-testid=pod][data-state=Running]'
    ).count()


def test_partition_a_node_and_watch_it_go_not_ready(page: Page, stack) -> None:
    cluster = services.demo_cluster_ensure(name="demo")
    services.cluster_clock_update(cluster=cluster, speed=60)
    SHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{stack.url}/")
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    pods = page.locator("[data-testid=node] [data-testid=pod][data-state=Running]")
    expect(pods).to_have_count(6)
    workers = ["node-1", "node-2", "node-3"]
    victim = max(workers, key=lambda n: running_on(page, n))
    moved = running_on(page, victim)
    assert moved >= 2

    card = page.locator(f'[data-testid=node][data-name="{victim}"]')
    card.click()
    page.get_by_role("button", name="Partition network").click()
    expect(page.locator(".toast")).to_contain_text(f"{victim} cut off from the control plane")
    expect(card).to_have_class(lambda_has("is-partitioned"))
    expect(card.locator(".flag-partitioned")).to_contain_text("partitioned")
    # The control plane stops hearing from it: NotReady (the machine is still powered on).
    expect(card).to_have_attribute("data-state", "NotReady", timeout=30_000)
    expect(card).to_have_attribute("data-power", "on")
    expect(card.locator("[data-testid=pod][data-state=Terminating]")).to_have_count(
        moved, timeout=60_000
    )
    elsewhere = page.locator(
        f'[data-testid=node]:not([data-name="{victim}"]) [data-testid=pod][data-state=Running]'
    )
    expect(elsewhere).to_have_count(6, timeout=60_000)
    page.screenshot(path=str(SHOTS / "node-partitioned.png"))

    page.get_by_role("button", name="Heal network").click()
    expect(card).to_have_attribute("data-state", "Ready", timeout=30_000)
    expect(card.locator("[data-testid=pod]")).to_have_count(0, timeout=30_000)
    expect(card.locator(".flag-partitioned")).to_have_count(0)


def test_kubelet_stop_and_memory_pressure_badges(page: Page, stack) -> None:
    cluster = services.demo_cluster_ensure(name="demo")
    services.cluster_clock_update(cluster=cluster, speed=60)
    page.goto(f"{stack.url}/")
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")

    card = page.locator('[data-testid=node][data-name="node-1"]')
    card.click()
    page.get_by_role("button", name="Stop kubelet").click()
    expect(card.locator(".flag-kubelet")).to_contain_text("kubelet stopped")
    expect(card).to_have_attribute("data-state", "NotReady", timeout=30_000)
    page.get_by_role("button", name="Start kubelet").click()
    expect(card).to_have_attribute("data-state", "Ready", timeout=30_000)

    other = page.locator('[data-testid=node][data-name="node-2"]')
    other.click()
    page.get_by_role("button", name="Memory pressure").click()
    expect(other.locator(".flag-pressure")).to_contain_text("memory pressure", timeout=15_000)
    expect(other.locator(".node-taints")).to_contain_text("memory-pressure:NoSchedule")
    page.screenshot(path=str(SHOTS / "node-memory-pressure.png"))


def lambda_has(cls: str):
    import re

    return re.compile(rf"(^|\s){cls}(\s|$)")
