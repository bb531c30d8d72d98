"""Control-plane outages in real Chromium: stop kube-scheduler from the diagram, scale up, see
the new pods wait in the Pending tray while the scheduler box says it is stopped and how many
pods wait on it; start it and see them scheduled. Then etcd: a write is refused with a toast."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cluster import services

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

STOPPED = re.compile(r"(^|\s)is-stopped(\s|$)")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def scale(page: Page, replicas: int) -> None:
    row = page.locator('[data-testid=deployments] .deploy[data-name="nginx"]')
    row.get_by_label("Replicas").fill(str(replicas))
    row.get_by_role("button", name="Scale").click()


def test_stop_the_scheduler_scale_up_and_start_it(page: Page, stack) -> None:
    cluster = services.demo_cluster_ensure(name="demo")
    services.cluster_clock_update(cluster=cluster, speed=20)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{stack.url}/clusters/demo/")
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    running = page.locator("[data-testid=node] [data-testid=pod][data-state=Running]")
    expect(running).to_have_count(6)

    scheduler = page.locator('.control-plane [data-component="kube-scheduler"]')
    scheduler.click()
    scheduler.get_by_role("button", name="Stop kube-scheduler").click()
    expect(page.locator(".toast")).to_contain_text("kube-scheduler stopped")
    expect(scheduler).to_have_class(STOPPED)
    expect(scheduler.locator(".comp-stopped")).to_be_visible()
    expect(page.locator("[data-testid=events]")).to_contain_text("kube-scheduler stopped by you")

    scale(page, 9)
    expect(page.locator(".toast")).to_contain_text("scaled to 9")
    tray = page.locator("#tray-pods [data-testid=pod]")
    expect(tray).to_have_count(3, timeout=20_000)
    waiting = scheduler.locator("[data-testid=comp-waiting]")
    expect(waiting).to_have_text("3 pods waiting to be scheduled", timeout=10_000)
    # Several simulated seconds later (20x) they still wait.
    page.wait_for_timeout(1500)
    expect(tray).to_have_count(3)
    page.screenshot(path=str(SHOTS / "control-plane-scheduler-stopped.png"))

    # Keyboard: Enter on the component opens its menu with the focus on Start.
    scheduler.focus()
    page.keyboard.press("Enter")
    start = scheduler.get_by_role("button", name="Start kube-scheduler")
    expect(start).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".toast")).to_contain_text("kube-scheduler started")
    expect(scheduler).not_to_have_class(STOPPED)
    expect(waiting).to_be_hidden()
    expect(tray).to_have_count(0, timeout=20_000)
    expect(running).to_have_count(9, timeout=30_000)


def test_etcd_stopped_refuses_a_write_with_a_toast(page: Page, stack) -> None:
    services.demo_cluster_ensure(name="demo")
    page.goto(f"{stack.url}/clusters/demo/")
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    etcd = page.locator('.control-plane [data-component="etcd"]')
    etcd.click()
    etcd.get_by_role("button", name="Stop etcd").click()
    expect(etcd.locator("[data-testid=comp-waiting]")).to_have_text("writes refused")
    scale(page, 7)
    toast = page.locator(".toast.error")
    expect(toast).to_contain_text("etcdserver: request timed out")
    expect(toast).to_contain_text("etcd of this cluster is stopped")
    page.screenshot(path=str(SHOTS / "control-plane-etcd-stopped.png"))
    etcd.click()
    etcd.get_by_role("button", name="Start etcd").click()
    expect(etcd.locator("[data-testid=comp-waiting]")).to_be_hidden()
    scale(page, 7)
    expect(page.locator(".toast")).to_contain_text("scaled to 7")
