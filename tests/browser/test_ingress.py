"""Ingress in the traffic lane, in real Chromium (docs/ingress.md "In the diagram"): an
Ingress for the demo's exposed nginx appears as a box between the clients and the Service box,
with its address and rule, linked to the Service box; traffic to nginx enters through it; once
deleted, the box, its link and the lane's Ingress column are gone."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cluster import services
from cluster.services.objects import object_create, object_delete

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

SHOP = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "Ingress",
    "metadata": {"name": "shop", "namespace": "default"},
    "spec": {
        "rules": [
            {
                "host": "shop.example.com",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "nginx", "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ]
    },
}


def box_of(page: Page, selector: str) -> dict:
    """The element's box. The lane redraws its boxes on every sample and delta, so the element
    found may be replaced before it is measured: measure again until one holds still."""
    for _ in range(50):
        box = page.locator(selector).bounding_box(timeout=5_000)
        if box is not None:
            return box
        page.wait_for_timeout(100)
    raise AssertionError(f"{selector} is not drawn")


def test_ingress_box_links_to_its_service_and_goes_when_deleted(page: Page, stack) -> None:
    cluster = services.demo_cluster_ensure(name="demo")
    services.cluster_clock_update(cluster=cluster, speed=5)
    services.service_expose_deployment(
        cluster=cluster, namespace="default", deployment="nginx", port=80
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1600, "height": 1000})

    page.goto(f"{stack.url}/")
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    lane = page.locator("#traffic-lane")
    svc = page.locator('[data-testid=svc-box][data-key="default/nginx"]')
    expect(svc).to_contain_text("VIP 10.")
    ingress_boxes = page.locator("[data-testid=ingress-box]")
    expect(ingress_boxes).to_have_count(0)
    expect(lane).not_to_have_class(has("has-ingress"))
    services.service_traffic_set(cluster=cluster, namespace="default", name="nginx", rps=40)
    expect(svc.locator("[data-testid=svc-stats]")).to_contain_text("req/s", timeout=30_000)
    expect(svc.locator("[data-testid=svc-stats]")).not_to_contain_text("no traffic")
    # A rate set outside the panel reaches its Traffic field with the next sample.
    row = page.locator('[data-testid=service-row][data-name="nginx"]')
    expect(row.locator("[data-testid=service-rps]")).to_have_value("40", timeout=30_000)
    lane_height = box_of(page, "#traffic-lane")["height"]
    straight = page.evaluate("() => window.k8svizFlows.path(window.k8svizFlows.routes[0]).length")
    assert straight in (4, 5), "clients -> Service -> kube-proxy (-> pod)"

    object_create(cluster=cluster, body=SHOP, namespace="default", actor="kubectl")
    box = page.locator('[data-testid=ingress-box][data-key="default/shop"]')
    expect(box).to_contain_text("Ingress shop")
    expect(box.locator("[data-testid=ingress-rule]")).to_have_text("shop.example.com/ → nginx:80")
    # ingress-nginx publishes its Service's load-balancer address (the pool's first).
    expect(box).to_contain_text("203.0.113.1", timeout=30_000)
    expect(svc.locator("[data-testid=svc-ingress]")).to_have_text("in via Ingress shop")

    # Between the clients and the Service box, joined to the Service box by a line.
    client = box_of(page, '[data-component="client"]')
    ing = box_of(page, '[data-testid=ingress-box][data-key="default/shop"]')
    target = box_of(page, '[data-testid=svc-box][data-key="default/nginx"]')
    assert client["x"] + client["width"] < ing["x"] < ing["x"] + ing["width"] < target["x"]
    link = page.locator(
        '[data-testid=ingress-link][data-from="default/shop"][data-to="default/nginx"]'
    )
    expect(link).to_have_count(1)
    start, end = page.evaluate(
        """() => {
            const path = document.querySelector('[data-testid=ingress-link]');
            const m = path.getScreenCTM();
            const at = (len) => new DOMPoint(path.getPointAtLength(len).x,
                                             path.getPointAtLength(len).y).matrixTransform(m);
            const a = at(0), b = at(path.getTotalLength());
            return [[a.x, a.y], [b.x, b.y]];
        }"""
    )
    assert abs(start[0] - (ing["x"] + ing["width"])) < 3, "the line leaves the Ingress box"
    assert ing["y"] < start[1] < ing["y"] + ing["height"]
    assert abs(end[0] - target["x"]) < 3, "and reaches the Service box"
    assert target["y"] < end[1] < target["y"] + target["height"]

    # Traffic to nginx: its dots enter through the Ingress box.
    points = page.evaluate(
        """() => {
            const flows = window.k8svizFlows;
            return flows.routes.length ? flows.path(flows.routes[0]).map((p) => p.x) : [];
        }"""
    )
    diagram = box_of(page, "#diagram")
    scroll_x = page.evaluate("() => document.getElementById('diagram').scrollLeft")
    assert len(points) >= 6, points
    assert abs(points[1] - (ing["x"] - diagram["x"] + scroll_x)) < 3, "a dot enters the Ingress"
    page.wait_for_timeout(2500)  # let dots fly for the picture
    page.screenshot(path=str(SHOTS / "ingress-on.png"))

    object_delete(cluster=cluster, kind="Ingress", namespace="default", name="shop", actor="t")
    expect(ingress_boxes).to_have_count(0)
    expect(page.locator("[data-testid=ingress-link]")).to_have_count(0)
    expect(svc.locator("[data-testid=svc-ingress]")).to_have_count(0)
    expect(lane).not_to_have_class(has("has-ingress"))
    page.wait_for_timeout(300)
    assert box_of(page, "#traffic-lane")["height"] <= lane_height + 2, "the lane shrank back"
    points = page.evaluate(
        "() => window.k8svizFlows.path(window.k8svizFlows.routes[0]).length"
    )
    assert points == straight, "without an Ingress the dots come straight from the clients"
    page.screenshot(path=str(SHOTS / "ingress-deleted.png"))


def has(cls: str):
    import re

    return re.compile(rf"(^|\s){cls}(\s|$)")
