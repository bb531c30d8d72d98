"""Time travel in real Chromium (docs/replay.md): after node-2 is powered off, the replay page
shows it off; moving the scrubber back to the start of the history shows it on again, and Play
walks forward to the end."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from cluster import services
from cluster.models import Change

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_scrub_back_to_before_a_node_died(page: Page, stack) -> None:
    cluster = services.demo_cluster_ensure(name="demo")
    services.node_power_off(cluster=cluster, name="node-2")
    services.cluster_clock_update(cluster=cluster, paused=True)
    page.goto(f"{stack.url}/clusters/demo/")
    page.locator("[data-testid=replay-link]").click()
    page.wait_for_url("**/clusters/demo/replay/")
    node2 = page.locator('[data-testid=node][data-name="node-2"]')
    expect(node2).to_have_attribute("data-state", "PoweredOff")
    scrubber = page.locator("[data-testid=replay-scrubber]")
    first = scrubber.get_attribute("min")
    scrubber.fill(first)
    expect(page.locator("[data-testid=replay-label]")).to_contain_text(f"rv {first}")
    expect(node2).to_have_count(0)  # at rv 1 the cluster had no nodes yet
    off_rv = (
        Change.objects.filter(cluster__name="demo", kind="Machine", name="node-2")
        .order_by("-rv")
        .values_list("rv", flat=True)
        .first()
    )
    middle = off_rv - 1  # just before the power-off
    scrubber.fill(str(middle))
    expect(page.locator("[data-testid=replay-label]")).to_contain_text(f"rv {middle}")
    expect(node2).not_to_have_attribute("data-state", "PoweredOff")
    page.locator("[data-testid=replay-play]").click()
    expect(node2).to_have_attribute("data-state", "PoweredOff", timeout=15_000)
    expect(page.locator("[data-testid=replay-label]")).to_contain_text(
        f"rv {scrubber.get_attribute('max')}"
    )
