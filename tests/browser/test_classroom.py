"""A class in three real Chromium contexts (docs/classroom.md): the teacher signs in, creates a
class on their cluster and hands the code to two students, who join with it and watch the
teacher's cluster read-only: the teacher's pause reaches both screens live. Then the teacher
hands out sandboxes: each student changes their own, the other's screen does not move, and a
student cannot open the other's sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import Group, User
from playwright.sync_api import Browser, Page, expect

from cluster import access, services
from cluster.models import Classroom, Cluster

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def new_page(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(20_000)
    return context.new_page()


def join(page: Page, url: str, code: str, name: str) -> None:
    page.goto(f"{url}/join/")
    page.locator("[data-testid=join-code]").fill(code.lower())
    page.locator("[data-testid=join-name]").fill(name)
    page.locator("[data-testid=join-submit]").click()
    page.wait_for_url("**/clusters/lesson/")
    expect(page.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    expect(page.locator("[data-testid=read-only]")).to_be_visible()
    expect(page.locator("[data-testid=identity]")).to_contain_text(f"{name} (student)")


def test_teacher_and_two_students(browser: Browser, stack) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    teacher_user = User.objects.create_user("ada", password="a long passphrase 7")
    Group.objects.get_or_create(name=access.TEACHERS_GROUP)[0].user_set.add(teacher_user)
    services.demo_cluster_create(name="lesson", owner_id=teacher_user.pk)
    teacher, alice, bob = new_page(browser), new_page(browser), new_page(browser)

    teacher.goto(f"{stack.url}/accounts/login/")
    teacher.locator("#id_username").fill("ada")
    teacher.locator("#id_password").fill("a long passphrase 7")
    teacher.get_by_role("button", name="Sign in").click()
    teacher.wait_for_url("**/classes/")
    teacher.locator("#id_name").fill("Kubernetes 101")
    teacher.locator("#id_cluster").select_option("lesson")
    teacher.get_by_role("button", name="Create class").click()
    code = teacher.locator("[data-testid=join-code-big]").inner_text().strip()
    assert code == Classroom.objects.get().join_code

    join(alice, stack.url, code, "Alice")
    join(bob, stack.url, code, "Bob")
    teacher.reload()
    expect(teacher.locator("[data-testid=overview]")).to_contain_text("Alice")
    expect(teacher.locator("[data-testid=overview]")).to_contain_text("Bob")
    # (Grace joins later, below: three students get sandboxes.)

    # The teacher's action reaches both students' screens.
    teacher.goto(f"{stack.url}/clusters/lesson/")
    expect(teacher.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
    expect(teacher.locator("[data-testid=read-only]")).to_have_count(0)
    # Follow mode: what the teacher selects, the students select.
    teacher.locator('[data-testid=node][data-name="node-2"]').click()
    for student in (alice, bob):
        expect(student.locator("#selection .sel-name")).to_have_text("node-2")
    bob.locator("[data-testid=follow-toggle]").uncheck()
    teacher.locator('[data-testid=node][data-name="node-3"]').click()
    expect(alice.locator("#selection .sel-name")).to_have_text("node-3")
    bob.wait_for_timeout(1000)
    expect(bob.locator("#selection .sel-name")).to_have_text("node-2")
    bob.locator("[data-testid=follow-toggle]").check()
    # The panel in view follows too: the teacher scrolls the side column down to Timings.
    expect(alice.locator("#timings-title")).not_to_be_in_viewport()
    teacher.locator("#timings-title").scroll_into_view_if_needed()
    expect(alice.locator("#timings-title")).to_be_in_viewport(timeout=10_000)
    # And the diagram's zoom.
    teacher.locator("[data-testid=zoom-in]").click()
    teacher.locator("[data-testid=zoom-in]").click()
    expect(teacher.locator("[data-testid=zoom-level]")).to_have_text("120%")
    expect(alice.locator("[data-testid=zoom-level]")).to_have_text("120%")
    teacher.locator("[data-testid=zoom-out]").click()
    teacher.locator("[data-testid=zoom-out]").click()
    expect(alice.locator("[data-testid=zoom-level]")).to_have_text("100%")
    # A student who arrives later starts on the teacher's last selection.
    late = new_page(browser)
    join(late, stack.url, code, "Grace")
    expect(late.locator("#selection .sel-name")).to_have_text("node-3")
    late.context.close()

    teacher.locator("#pause-button").click()
    for student in (alice, bob):
        expect(student.locator("#clock-paused")).to_be_visible()
    alice.screenshot(path=str(SHOTS / "classroom-student-watching.png"))
    expect(alice.locator("[data-testid=kubectl]")).to_have_count(0)
    teacher.locator("#pause-button").click()
    for student in (alice, bob):
        expect(student.locator("#clock-paused")).to_be_hidden()

    # Sandboxes: each student's changes stay in their own copy.
    room = Classroom.objects.get()
    teacher.goto(f"{stack.url}/classes/{room.pk}/")
    teacher.get_by_role("button", name="Hand out sandboxes").click()
    expect(teacher.locator("[data-testid=sandbox-health]")).to_have_count(3)
    expect(teacher.locator("[data-testid=sandbox-health]").first).to_contain_text("pods Running")
    sandboxes = {
        c.sandbox_of.display_name: c.name for c in Cluster.objects.exclude(sandbox_of=None)
    }
    for student, name in ((alice, "Alice"), (bob, "Bob")):
        student.reload()
        student.locator(".cluster-switch a", has_text="my sandbox").click()
        student.wait_for_url(f"**/clusters/{sandboxes[name]}/")
        expect(student.locator("[data-testid=connection]")).to_have_attribute("data-state", "live")
        expect(student.locator("[data-testid=read-only]")).to_have_count(0)
    alice.locator("#pause-button").click()
    expect(alice.locator("#clock-paused")).to_be_visible()
    # kubectl for her sandbox: a kubeconfig in her name (none offered while only watching).
    alice.locator("[data-testid=kubectl] summary").click()
    alice.screenshot(path=str(SHOTS / "classroom-sandbox-kubectl.png"))
    with alice.expect_download() as downloading:
        alice.locator("[data-testid=kubeconfig-download]").click()
    download = downloading.value
    assert download.suggested_filename == f"{sandboxes['Alice']}.kubeconfig"
    kubeconfig = yaml.safe_load(Path(download.path()).read_text())
    assert kubeconfig["users"][0]["name"] == f"alice@{sandboxes['Alice']}"
    bob.wait_for_timeout(1500)
    expect(bob.locator("#clock-paused")).to_be_hidden()
    assert Cluster.objects.get(name=sandboxes["Alice"]).paused
    assert not Cluster.objects.get(name=sandboxes["Bob"]).paused
    assert not Cluster.objects.get(name="lesson").paused
    # Bob cannot open Alice's sandbox: as far as he can tell it does not exist.
    response = bob.goto(f"{stack.url}/clusters/{sandboxes['Alice']}/")
    assert response is not None and response.status == 404
    teacher.reload()
    teacher.screenshot(path=str(SHOTS / "classroom-overview.png"), full_page=True)
    for page in (teacher, alice, bob):
        page.context.close()
