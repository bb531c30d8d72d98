"""The YAML panel in real Chromium: open the nginx Deployment's YAML from its describe view,
change its replicas, apply, and watch the cluster follow; then paste a two-document manifest.
Screenshots of the panel are kept in test-artifacts/screenshots/."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cluster import services
from cluster.models import KubeObject

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
MANIFEST = textwrap.dedent(
    """\
    apiVersion: v1
    kind: Namespace
    metadata:
      name: team-a
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      namespace: team-a
    spec:
      replicas: 1
      selector:
        matchLabels: {app: web}
      template:
        metadata:
          labels: {app: web}
        spec:
          containers:
          - name: web
            image: nginx:1.27
            resources:
              requests: {cpu: 100m, memory: 64Mi}
    """
)

BAD_MANIFEST = (
    MANIFEST.replace("replicas: 1", "replicass: 1").replace("name: web", "name: api")
    + "---\napiVersion: bar/v1\nkind: Foo\nmetadata:\n  name: x\n"
    + "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-b\n"
)


def test_edit_an_object_and_paste_a_manifest(page: Page, stack) -> None:
    cluster = services.demo_cluster_ensure(name="demo")
    services.cluster_clock_update(cluster=cluster, speed=60)
    SHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{stack.url}/clusters/demo/")
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    nginx = page.locator('.deploy[data-name="nginx"]')
    expect(nginx.locator(".deploy-ready")).to_have_text("6/6 ready")

    # Describe the Deployment, then open its YAML.
    nginx.get_by_role("button", name="nginx").click()
    expect(page.get_by_test_id("open-yaml")).to_be_visible()
    page.screenshot(path=str(SHOTS / "yaml-describe-button.png"))
    page.get_by_test_id("open-yaml").click()
    dialog = page.locator("#yaml-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("deployment.apps/nginx")
    editor = dialog.get_by_label("Manifest (YAML)")
    expect(editor).to_be_focused()
    text = editor.input_value()
    assert "managedFields" not in text
    assert "  replicas: 6\n" in text
    page.screenshot(path=str(SHOTS / "yaml-panel-object.png"))

    editor.fill(text.replace("  replicas: 6\n", "  replicas: 3\n", 1))
    dialog.get_by_role("button", name="Apply").click()
    result = dialog.get_by_test_id("yaml-result")
    expect(result).to_contain_text("deployment.apps/nginx configured")
    expect(result).to_contain_text("kubectl apply -f - --field-manager=k8sviz-dashboard")
    # The editor now holds the object as stored: kubectl's last-applied annotation included.
    expect(editor).to_have_value(re.compile(r"kubectl\.kubernetes\.io/last-applied-configuration"))
    page.screenshot(path=str(SHOTS / "yaml-panel-configured.png"))

    # The cluster follows: the Deployment panel and the diagram show 3 replicas.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(nginx.locator(".deploy-ready")).to_have_text("3/3 ready", timeout=30_000)
    expect(page.locator("[data-testid=node] [data-testid=pod][data-state=Running]")).to_have_count(
        3, timeout=30_000
    )

    # New from YAML: a namespace and a Deployment in it, in one paste.
    page.get_by_test_id("yaml-new").click()
    expect(dialog.get_by_role("heading")).to_have_text("New from YAML")
    dialog.get_by_label("Manifest (YAML)").fill(MANIFEST)
    dialog.get_by_role("button", name="Dry run").click()
    expect(result).to_contain_text("namespace/team-a created (server dry run)")
    assert not KubeObject.objects.filter(cluster=cluster, kind="Namespace", name="team-a").exists()

    dialog.get_by_role("button", name="Apply").click()
    expect(result.locator(".yaml-ok .yaml-text")).to_have_text(
        ["namespace/team-a created", "deployment.apps/web created"]
    )
    page.screenshot(path=str(SHOTS / "yaml-panel-manifest.png"))

    # kubectl's errors, each in its document's place; the good document still goes.
    dialog.get_by_label("Manifest (YAML)").fill(BAD_MANIFEST)
    dialog.get_by_role("button", name="Apply").click()
    expect(result.locator(".yaml-error")).to_have_count(2)
    expect(result).to_contain_text('strict decoding error: unknown field "spec.replicass"')
    expect(result).to_contain_text('no matches for kind "Foo" in version "bar/v1"')
    expect(result).to_contain_text("namespace/team-b created")
    page.screenshot(path=str(SHOTS / "yaml-panel-errors.png"))
    page.keyboard.press("Escape")
    expect(page.locator('.deploy[data-name="web"] .deploy-ready')).to_have_text(
        "1/1 ready", timeout=30_000
    )
