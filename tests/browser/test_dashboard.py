"""The teacher's demo in real Chromium: open the dashboard, power off a node by clicking, watch
its pods come back on the other nodes. Screenshots are kept in test-artifacts/screenshots/."""

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


def test_power_off_a_node_and_watch_the_pods_move(page: Page, stack) -> None:
    cluster = services.demo_cluster_ensure(name="demo")
    services.cluster_clock_update(cluster=cluster, speed=60)
    SHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{stack.url}/")
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    pods = page.locator("[data-testid=node] [data-testid=pod][data-state=Running]")
    expect(pods).to_have_count(6)
    # The live worker may schedule before every kubelet registered, so the spread can vary:
    # power off the busiest worker (an empty one would prove nothing).
    workers = ["node-1", "node-2", "node-3"]
    victim = max(workers, key=lambda n: running_on(page, n))
    others = [n for n in workers if n != victim]
    moved = running_on(page, victim)
    assert moved >= 2
    page.screenshot(path=str(SHOTS / "dashboard-healthy.png"))

    page.locator(f'[data-testid=node][data-name="{victim}"]').click()
    page.get_by_role("button", name="Power off").click()
    expect(page.locator(".toast")).to_contain_text(f"{victim} powered off")

    dead = page.locator(f'[data-testid=node][data-name="{victim}"]')
    expect(dead).to_have_attribute("data-state", "PoweredOff", timeout=10_000)
    # Classroom timings at 60x: NotReady after the grace period, eviction after the toleration.
    expect(dead.locator("[data-testid=pod][data-state=Terminating]")).to_have_count(
        moved, timeout=60_000
    )
    # The ReplicaSet replaces them; the scheduler binds the replacements to the live nodes.
    elsewhere = page.locator(
        f'[data-testid=node]:not([data-name="{victim}"]) [data-testid=pod][data-state=Running]'
    )
    expect(elsewhere).to_have_count(6, timeout=60_000)
    expect(pods).to_have_count(6)
    assert sum(running_on(page, n) for n in others) == 6
    expect(page.locator("[data-testid=events]")).to_contain_text("TaintManagerEviction")
    page.screenshot(path=str(SHOTS / "dashboard-node-lost.png"))

    page.get_by_role("button", name="Power on").click()
    expect(dead).to_have_attribute("data-state", "Ready", timeout=60_000)
    expect(dead.locator("[data-testid=pod]")).to_have_count(0, timeout=60_000)
    page.screenshot(path=str(SHOTS / "dashboard-recovered.png"))


def test_bad_input_shows_an_error_not_a_crash(page: Page, stack) -> None:
    """A deployment name that is not DNS-1123 gets the validation message in a toast."""
    services.demo_cluster_ensure(name="demo", settle=False)
    page.goto(f"{stack.url}/clusters/demo/")
    page.get_by_text("Create a deployment").click()
    page.locator("#deployment-form").get_by_label("Name").fill("Bad_Name")
    page.get_by_role("button", name="Create Deployment").click()
    expect(page.locator(".toast.error")).to_contain_text("Name:")


def test_timings_are_editable_per_cluster(page: Page, stack) -> None:
    """The Timings panel applies an override, marks it, and refuses a nonsensical one."""
    cluster = services.demo_cluster_ensure(name="demo", settle=False)
    page.goto(f"{stack.url}/clusters/demo/")
    page.locator("#timings-title").click()
    toleration = page.get_by_label("Not-ready / unreachable toleration")
    expect(toleration).to_have_value("20.0")
    toleration.fill("10")
    page.get_by_role("button", name="Apply timings").click()
    expect(page.locator(".toast")).to_contain_text("classroom profile with 1 override")
    expect(page.locator(".timing-overridden")).to_contain_text("was 20.0")
    cluster.refresh_from_db()
    assert cluster.timings == {"default_toleration_seconds": 10.0}

    page.get_by_label("Lease renew interval").fill("60")
    page.get_by_role("button", name="Apply timings").click()
    expect(page.locator(".toast.error")).to_contain_text("must be shorter than the lease duration")
    expect(page.get_by_label("Lease renew interval")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(SHOTS / "dashboard-timings.png"))

    page.get_by_role("button", name="Reset to profile").click()
    expect(page.locator(".toast")).to_contain_text("no overrides")
    expect(page.get_by_label("Not-ready / unreachable toleration")).to_have_value("20.0")


def test_kubectl_is_drawn_as_the_actor(
    page: Page, kubectl, daphne_tls_server, celery_worker_proc
) -> None:
    """A real `kubectl scale` over TLS: the kubectl box lights up with the request it made, a
    packet goes to kube-apiserver, and the new pods appear."""
    page.goto(f"{daphne_tls_server.url}/clusters/demo/")
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    result = kubectl("scale", "deploy/nginx", "--replicas=7")
    assert result.returncode == 0, result.stderr
    note = page.locator("[data-component=kubectl] [data-kubectl-last]")
    expect(note).to_have_text("update deployment/\u200bnginx", timeout=10_000)
    expect(page.locator("[data-testid=node] [data-testid=pod]")).to_have_count(7, timeout=30_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "kubectl-actor.png"))
