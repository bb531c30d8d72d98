"""The Lesson panel (docs/lessons.md): a teacher starts a cluster from a lesson, runs it step by
step; students of the class answer the open question (once each, changeable), the teacher sees
the tally, the reveal marks the right answer, and the goal is checked when every step has run.
Only who may change the cluster runs steps; only students answer."""

from __future__ import annotations

import random
from html import unescape

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from cluster import access, reconcile
from cluster.models import Answer, Classroom, Cluster, KubeObject, Student

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def text(response) -> str:
    return unescape(response.content.decode())


@pytest.fixture
def lesson_class(settings):
    settings.K8SVIZ_OPEN_ACCESS = False
    teacher = User.objects.create_user("ada")
    Group.objects.get_or_create(name=access.TEACHERS_GROUP)[0].user_set.add(teacher)
    lead = Client()
    lead.force_login(teacher)
    made = lead.post("/clusters/", {"name": "cp", "lesson": "control-plane"}, **HTMX)
    assert made["HX-Redirect"] == "/clusters/cp/", made.content
    cluster = Cluster.objects.get(name="cp")
    room = Classroom.objects.create(
        name="A", owner=teacher, join_code="AAAAAA", viewer_token="v", cluster=cluster
    )
    students = {}
    for name in ("alice", "bob"):
        student = Student.objects.create(classroom=room, display_name=name)
        client = Client()
        session = client.session
        session[access.SESSION_STUDENT] = student.pk
        session.save()
        students[name] = client
    return cluster, lead, students


def test_a_lesson_runs_step_by_step_with_answers_and_a_reveal(lesson_class) -> None:
    cluster, lead, students = lesson_class
    assert cluster.lesson == "control-plane" and cluster.lesson_step == 0
    assert 'id="lesson-panel"' in text(lead.get("/clusters/cp/"))
    panel = text(lead.get("/clusters/cp/lesson/"))
    assert "step 1 of 3" in panel and "Stop the scheduler" in panel and "Run this step" in panel

    # Students cannot run steps; the teacher can.
    assert students["alice"].post("/clusters/cp/lesson/next/").status_code == 403
    ran = lead.post("/clusters/cp/lesson/next/")
    assert "Stop the scheduler: stopComponent kube-scheduler, paused for the question" in text(ran)
    cluster.refresh_from_db()
    assert cluster.components["kube-scheduler"] is False and cluster.lesson_step == 1
    assert cluster.paused  # a question is open: the cluster waits for the class

    # The question: students get buttons, the teacher the tally.
    question = text(students["alice"].get("/clusters/cp/lesson/"))
    assert question.count('data-testid="lesson-choice"') == 3
    assert students["alice"].post("/clusters/cp/lesson/answer/", {"choice": "0"}).status_code == 200
    assert students["alice"].post("/clusters/cp/lesson/answer/", {"choice": "1"}).status_code == 200
    assert students["bob"].post("/clusters/cp/lesson/answer/", {"choice": "0"}).status_code == 200
    assert Answer.objects.filter(cluster=cluster).count() == 2  # alice changed hers
    refused = students["bob"].post("/clusters/cp/lesson/answer/", {"choice": "7"})
    assert refused.status_code == 422 and "choose one of the 3 answers" in text(refused)
    not_a_student = lead.post("/clusters/cp/lesson/answer/", {"choice": "1"})
    assert not_a_student.status_code == 403
    tally = text(lead.get("/clusters/cp/lesson/"))
    assert "2 of 2 students answered" in tally and "Reveal and run this step" in tally

    # The reveal: the right answer marked, with how many chose each; the clock runs again.
    lead.post("/clusters/cp/lesson/next/")
    cluster.refresh_from_db()
    assert not cluster.paused
    revealed = text(students["bob"].get("/clusters/cp/lesson/"))
    assert 'class="is-right">✓ Three new pods are created and stay Pending' in revealed
    deployment = KubeObject.objects.get(cluster=cluster, kind="Deployment", name="web")
    assert deployment.body["spec"]["replicas"] == 5
    late = students["bob"].post("/clusters/cp/lesson/answer/", {"choice": "1"})
    assert late.status_code == 422 and "no question open" in text(late)

    # The last step, then the goal: it holds once the cluster has caught up.
    lead.post("/clusters/cp/lesson/next/")
    cluster.refresh_from_db()
    assert cluster.lesson_step == 3
    reconcile.run_to(cluster, cluster.sim_now + 40, random.Random(2))
    finished = text(lead.get("/clusters/cp/lesson/"))
    assert "finished" in finished and "✓ 5 Ready pods of app=web: 5 Ready" in finished
    done = lead.post("/clusters/cp/lesson/next/")
    assert done.status_code == 422 and "the lesson is finished" in text(done)


def test_a_sandbox_keeps_the_lesson_and_its_student_runs_it(lesson_class) -> None:
    from cluster.services.sandboxes import classroom_sandboxes_create

    cluster, _, students = lesson_class
    room = Classroom.objects.get()
    classroom_sandboxes_create(classroom=room, source=cluster)
    mine = Cluster.objects.get(sandbox_of__display_name="alice")
    assert mine.lesson == "control-plane" and mine.lesson_step == 0
    ran = students["alice"].post(f"/clusters/{mine.name}/lesson/next/")
    assert ran.status_code == 200
    mine.refresh_from_db()
    assert mine.lesson_step == 1
    cluster.refresh_from_db()
    assert cluster.lesson_step == 0  # the class's cluster did not move


def test_the_class_page_checks_every_sandbox_against_the_goal(lesson_class) -> None:
    from cluster.services.sandboxes import classroom_sandboxes_create

    cluster, lead, students = lesson_class
    room = Classroom.objects.get()
    classroom_sandboxes_create(classroom=room, source=cluster)
    page = text(lead.get(f"/classes/{room.pk}/"))
    assert page.count("goal: 2 of 3 checks") == 2  # not scaled yet: 2 Ready pods, not 5
    # Alice runs her sandbox's lesson to the end; only her card turns green.
    mine = Cluster.objects.get(sandbox_of__display_name="alice")
    for _ in range(3):
        students["alice"].post(f"/clusters/{mine.name}/lesson/next/")
    mine.refresh_from_db()
    reconcile.run_to(mine, mine.sim_now + 40, random.Random(4))
    page = text(lead.get(f"/classes/{room.pk}/"))
    assert page.count("✓ goal met") == 1 and page.count("goal: 2 of 3 checks") == 1
