"""A teacher stages a crash in real Chromium: click a pod, set its behaviour to crash, and watch
the diagram show the restarts and CrashLoopBackOff arrive over the WebSocket."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cluster import services

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def test_set_a_pod_to_crash_and_see_crash_loop_back_off(page: Page, stack) -> None:
    cluster = services.demo_cluster_ensure(name="demo")
    services.cluster_clock_update(cluster=cluster, speed=30)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{stack.url}/clusters/demo/")
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    running = page.locator("[data-testid=node] [data-testid=pod][data-state=Running]")
    expect(running).to_have_count(6)
    victim = running.first
    name = victim.get_attribute("data-name")
    victim.click()
    form = page.locator("[data-testid=behavior-form]")
    expect(form).to_be_visible()
    form.get_by_label("Mode").select_option("crash")
    form.get_by_label("Parameters").fill("after=nonsense")
    form.get_by_role("button", name="Set behaviour").click()
    expect(page.locator(".toast.error")).to_contain_text("is not a duration")
    form.get_by_label("Parameters").fill("after=2s exit=1")
    form.get_by_role("button", name="Set behaviour").click()
    expect(page.locator(".toast").last).to_contain_text(f"pod {name}: crash after=2s exit=1")

    pod = page.locator(f'[data-testid=pod][data-name="{name}"]')
    expect(pod).to_have_attribute("data-state", "CrashLoopBackOff", timeout=60_000)
    expect(pod.locator(".pod-status")).to_contain_text("↻")
    page.screenshot(path=str(SHOTS / "pod-crash-loop.png"))
    # kubectl describe in the panel shows the last termination.
    expect(page.locator("[data-testid=describe]")).to_contain_text("Last State:", timeout=20_000)
