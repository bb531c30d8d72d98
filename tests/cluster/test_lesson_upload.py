"""Uploading a lesson through the dashboard (docs/lessons.md, "Your own lessons"): validated
completely (every problem listed, nothing saved), stored under its metadata.name beside the
shipped ones, and a cluster started from it; only who may create clusters uploads."""

from __future__ import annotations

import io
from html import unescape

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from cluster import access
from cluster.forms import ClusterCreateForm
from cluster.models import Classroom, Cluster, LessonFile, Student

pytestmark = pytest.mark.django_db

MINE = """
apiVersion: k8sviz.io/v1
kind: Lesson
metadata: {name: my-drain, title: Draining node-1}
cluster:
  nodes: [{name: node-1}, {name: node-2}]
steps:
  - title: Cordon node-1
    narration: Nothing new lands on node-1.
    actions: [{cordon: node-1}]
goal:
  description: node-1 cordoned
  checks: [{nodeSchedulable: {node: node-1, schedulable: false}}]
"""


def teacher_client(username: str = "ada") -> Client:
    user = User.objects.create_user(username)
    Group.objects.get_or_create(name=access.TEACHERS_GROUP)[0].user_set.add(user)
    client = Client(headers={"HX-Request": "true"})
    client.force_login(user)
    return client


def upload(client: Client, text: str | bytes, *, name: str = "lab-1", filename: str = "mine.yaml"):
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        "/lessons/upload/",
        {"name": name, "file": SimpleUploadedFile(filename, data, "application/yaml")},
    )


@pytest.fixture
def closed(settings) -> None:
    settings.K8SVIZ_OPEN_ACCESS = False


def test_a_teacher_uploads_a_lesson_and_its_cluster_opens(closed) -> None:
    client = teacher_client()
    response = upload(client, MINE)
    assert response.status_code == 200, unescape(response.content.decode())
    assert response["HX-Redirect"] == "/clusters/lab-1/"
    stored = LessonFile.objects.get()
    assert (stored.name, stored.owner.username) == ("my-drain", "ada")
    cluster = Cluster.objects.get(name="lab-1")
    assert (cluster.lesson, cluster.lesson_step, cluster.owner.username) == ("my-drain", 0, "ada")
    panel = unescape(client.get("/clusters/lab-1/lesson/").content.decode())
    assert "Draining node-1" in panel and "Cordon node-1" in panel
    # From now on it is one of the lessons to start from, after the shipped ones.
    choices = ClusterCreateForm().fields["lesson"].choices
    assert choices[-1] == ("my-drain", "lesson: my-drain (uploaded)")
    assert ("self-healing", "lesson: self-healing") in choices
    out = io.StringIO()
    call_command("lesson", "list", stdout=out)
    assert "my-drain             Draining node-1  (uploaded)" in out.getvalue()


def test_an_invalid_lesson_lists_every_problem_and_saves_nothing(closed) -> None:
    bad = MINE.replace("{cordon: node-1}", "{cordon: node-9}").replace(
        "schedulable: false", "schedulable: maybe"
    )
    bad = bad.replace("Nothing new lands", "Nothing new lands").replace("- title:", "- titel:")
    response = upload(teacher_client(), bad)
    assert response.status_code == 422
    body = unescape(response.content.decode())
    assert "mine.yaml: not a valid lesson" in body and "nothing was saved" in body
    assert "steps[0].titel: unknown field" in body
    assert 'steps[0].actions[0].cordon: no node "node-9" in cluster.nodes' in body
    assert not LessonFile.objects.exists() and not Cluster.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("kind: [", "not valid YAML (line 1, column 8)"),
        (b"\xff\xfe not text", "the file is not UTF-8 text"),
        ("x" * (256 * 1024 + 1), "the file is too large (256 KiB at most)"),
        (
            MINE.replace("name: my-drain", "name: self-healing"),
            'a shipped lesson is called "self-healing"',
        ),
    ],
)
def test_bad_files_are_refused_with_a_reason(closed, content, message) -> None:
    response = upload(teacher_client(), content)
    assert response.status_code == 422
    assert message in unescape(response.content.decode())
    assert not LessonFile.objects.exists()


def test_a_name_belongs_to_its_uploader(closed) -> None:
    ada = teacher_client("ada")
    assert upload(ada, MINE).status_code == 200
    refused = upload(teacher_client("grace"), MINE, name="lab-2")
    assert refused.status_code == 422
    assert "uploaded by someone else" in unescape(refused.content.decode())
    retitled = MINE.replace("title: Draining node-1", "title: Draining, take two")
    assert upload(ada, retitled, name="lab-3").status_code == 200
    assert "take two" in LessonFile.objects.get().text


def test_a_taken_cluster_name_keeps_the_lesson_and_says_so(closed) -> None:
    client = teacher_client()
    assert upload(client, MINE).status_code == 200
    again = upload(client, MINE)  # lab-1 exists now
    assert again.status_code == 409
    body = unescape(again.content.decode())
    assert 'lesson "my-drain" saved (Start from lists it), but the cluster:' in body


def test_only_who_may_create_clusters_uploads(closed, settings) -> None:
    teacher = User.objects.create_user("ada")
    room = Classroom.objects.create(name="A", owner=teacher, join_code="AAAAAA", viewer_token="v")
    alice = Student.objects.create(classroom=room, display_name="alice")
    store = SessionStore()
    store[access.SESSION_STUDENT] = alice.pk
    store.create()
    student = Client(headers={"HX-Request": "true"})
    student.cookies["sessionid"] = store.session_key
    assert upload(student, MINE).status_code == 403
    assert upload(Client(headers={"HX-Request": "true"}), MINE).status_code == 403
    assert not LessonFile.objects.exists()
    settings.K8SVIZ_OPEN_ACCESS = True  # one person's own machine: no accounts
    assert upload(Client(headers={"HX-Request": "true"}), MINE).status_code == 200
    assert LessonFile.objects.get().owner is None
