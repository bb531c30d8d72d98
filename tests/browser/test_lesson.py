"""A lesson in real Chromium (docs/lessons.md): the teacher starts a cluster from the
control-plane lesson with "+ New cluster", a student joins the class following it; the teacher
runs the first step, the student answers the prediction question on their own screen, the
teacher sees the tally and reveals, and the student sees the right answer marked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Browser, expect

from cluster import access, services
from cluster.models import Classroom, Cluster

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def test_a_checkpoint_collects_answers_then_reveals(browser: Browser, stack) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    user = User.objects.create_user("ada", password="a long passphrase 7")
    Group.objects.get_or_create(name=access.TEACHERS_GROUP)[0].user_set.add(user)
    services.demo_cluster_create(name="demo", owner_id=user.pk, settle=False)
    teacher = browser.new_context(viewport={"width": 1400, "height": 950}).new_page()
    student = browser.new_context(viewport={"width": 1400, "height": 950}).new_page()
    for page in (teacher, student):
        page.set_default_timeout(20_000)

    teacher.goto(f"{stack.url}/accounts/login/?next=/clusters/demo/")
    teacher.locator("#id_username").fill("ada")
    teacher.locator("#id_password").fill("a long passphrase 7")
    teacher.get_by_role("button", name="Sign in").click()
    teacher.wait_for_url("**/clusters/demo/")
    teacher.locator("[data-testid=new-cluster] summary").click()
    teacher.locator("[data-testid=new-cluster-name]").fill("cp")
    teacher.locator("[data-testid=new-cluster-lesson]").select_option("control-plane")
    teacher.locator("[data-testid=new-cluster-create]").click()
    teacher.wait_for_url("**/clusters/cp/", timeout=60_000)
    panel = teacher.locator("[data-testid=lesson-panel]")
    expect(panel).to_contain_text("What the scheduler does")
    expect(panel.locator("[data-testid=lesson-step]")).to_have_text("step 1 of 3")
    room = Classroom.objects.create(
        name="A",
        owner=user,
        join_code="LESSON",
        viewer_token="v",
        cluster=Cluster.objects.get(name="cp"),
    )

    student.goto(f"{stack.url}/join/?code={room.join_code}")
    student.locator("[data-testid=join-name]").fill("Alan")
    student.locator("[data-testid=join-submit]").click()
    student.wait_for_url("**/clusters/cp/")
    expect(student.locator("[data-testid=lesson-panel]")).to_contain_text("Stop the scheduler")
    expect(student.locator("[data-testid=lesson-next]")).to_have_count(0)

    teacher.locator("[data-testid=lesson-next]").click()
    expect(teacher.locator(".toast").last).to_contain_text("stopComponent kube-scheduler")
    choices = student.locator("[data-testid=lesson-choice]")
    expect(choices).to_have_count(3, timeout=15_000)  # the panel refreshes by itself
    choices.nth(1).click()
    expect(student.locator(".toast").last).to_contain_text("answer saved")
    expect(teacher.locator("[data-testid=lesson-answered]")).to_have_text(
        "1 of 1 students answered", timeout=15_000
    )
    teacher.screenshot(path=str(SHOTS / "lesson-checkpoint-teacher.png"))
    teacher.locator("[data-testid=lesson-next]").click()
    reveal = student.locator("[data-testid=lesson-reveal]")
    expect(reveal.locator(".is-right")).to_contain_text("Three new pods", timeout=15_000)
    student.screenshot(path=str(SHOTS / "lesson-reveal-student.png"))
    # The projector view: a bigger diagram, only the Lesson and Selected panels beside it.
    student.locator("[data-testid=projector-toggle]").check()
    expect(student.locator("body")).to_have_class(re.compile(r"\bprojector\b"))
    expect(student.locator(".panel-services")).to_be_hidden()
    expect(student.locator("[data-testid=lesson-reveal]")).to_be_visible()
    student.screenshot(path=str(SHOTS / "lesson-projector.png"))
    for page in (teacher, student):
        page.context.close()


MINE = """apiVersion: k8sviz.io/v1
kind: Lesson
metadata: {name: my-cordon, title: Cordon by hand}
cluster:
  nodes: [{name: node-1}, {name: node-2}]
steps:
  - title: Cordon node-1
    actions: [{cordon: node-1}]
goal:
  description: node-1 cordoned
  checks: [{nodeSchedulable: {node: node-1, schedulable: false}}]
"""


def test_upload_a_lesson_of_your_own(browser: Browser, stack, tmp_path: Path) -> None:
    """A file with mistakes is refused with every problem listed; the corrected one opens its
    cluster with the Lesson panel (htmx multipart upload in a real browser)."""
    services.demo_cluster_create(name="demo", settle=False)
    page = browser.new_context(viewport={"width": 1400, "height": 950}).new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{stack.url}/clusters/demo/")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(
        MINE.replace("{cordon: node-1}", "{cordon: node-9}").replace(
            "title: Cordon node-1", "titel: x"
        )
    )
    right = tmp_path / "right.yaml"
    right.write_text(MINE)

    page.locator("[data-testid=new-cluster] summary").click()
    page.locator("[data-testid=lesson-upload-name]").fill("mine")
    page.locator("[data-testid=lesson-upload-file]").set_input_files(str(wrong))
    page.locator("[data-testid=lesson-upload-submit]").click()
    toast = page.locator(".toast.error").last
    expect(toast).to_contain_text("wrong.yaml: not a valid lesson (3 problems; nothing was saved)")
    expect(toast).to_contain_text('steps[0].actions[0].cordon: no node "node-9" in cluster.nodes')
    expect(toast).to_contain_text("steps[0].titel: unknown field")
    page.screenshot(path=str(SHOTS / "lesson-upload-refused.png"))

    page.locator("[data-testid=lesson-upload-file]").set_input_files(str(right))
    page.locator("[data-testid=lesson-upload-submit]").click()
    page.wait_for_url("**/clusters/mine/", timeout=60_000)
    panel = page.locator("[data-testid=lesson-panel]")
    expect(panel).to_contain_text("Cordon by hand")
    expect(panel.locator("[data-testid=lesson-step]")).to_have_text("step 1 of 1")
    page.context.close()
