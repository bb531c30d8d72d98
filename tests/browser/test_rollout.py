"""The rollout panel in real Chromium: change the nginx Deployment's image in the edit form and
watch the rolling update in the panel (progress, then complete at revision 2) and in the
diagram (pods badged with their revision, both ReplicaSets side by side), then roll back from
the history. Screenshots land in test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cluster import services
from cluster.models import KubeObject

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def test_change_image_and_watch_the_rollout(page: Page, stack) -> None:
    cluster = services.demo_cluster_ensure(name="demo")
    services.cluster_clock_update(cluster=cluster, speed=10)
    SHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{stack.url}/clusters/demo/")
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    panel = page.get_by_test_id("rollout-panel")
    status = page.get_by_test_id("rollout-status")
    expect(status).to_have_attribute("data-state", "complete")
    expect(status).to_have_attribute("data-revision", "1")
    pods = page.locator("[data-testid=pod]")
    expect(pods.first).to_have_attribute("data-revision", "1")

    panel.get_by_text("Edit deployment").click()
    panel.get_by_test_id("edit-image").fill("nginx:1.28")
    panel.get_by_test_id("edit-change-cause").fill("upgrade to 1.28")
    panel.get_by_test_id("edit-apply").click()
    expect(page.get_by_test_id("toast")).to_contain_text("rolling out the new template")

    # Mid-rollout: both ReplicaSets side by side in the Deployments panel, pods of revision 2.
    chips = page.locator('.deploy[data-name="nginx"] [data-testid=rs-chip]')
    expect(chips).to_have_count(2, timeout=20_000)
    expect(page.locator('[data-testid=pod][data-revision="2"]').first).to_be_visible()
    page.screenshot(path=str(SHOTS / "rollout-in-progress.png"))

    expect(status).to_have_attribute("data-state", "complete", timeout=60_000)
    expect(status).to_have_attribute("data-revision", "2")
    expect(status).to_have_attribute("data-updated", "6")
    expect(page.get_by_test_id("rollout-summary")).to_have_text(
        'deployment "nginx" successfully rolled out'
    )
    expect(page.locator('[data-testid=pod][data-revision="1"]')).to_have_count(0, timeout=20_000)
    expect(page.locator('[data-testid=pod][data-revision="2"]')).to_have_count(6)
    history = page.get_by_test_id("rollout-history")
    expect(history.locator('tr[data-revision="2"]')).to_contain_text("upgrade to 1.28")
    expect(history.locator('tr[data-revision="2"]')).to_contain_text("nginx:1.28")
    page.screenshot(path=str(SHOTS / "rollout-complete.png"))

    # Roll back to revision 1 from the history: it comes back as revision 3.
    history.locator('tr[data-revision="1"]').get_by_test_id("rollback-to").click()
    expect(page.get_by_test_id("toast")).to_contain_text("rolled back to revision 1")
    expect(status).to_have_attribute("data-revision", "3", timeout=20_000)
    expect(status).to_have_attribute("data-state", "complete", timeout=60_000)
    expect(page.locator('[data-testid=pod][data-revision="3"]')).to_have_count(6, timeout=20_000)
    image = KubeObject.objects.get(cluster=cluster, kind="Deployment", name="nginx").spec[
        "template"
    ]["spec"]["containers"][0]["image"]
    assert image != "nginx:1.28"
