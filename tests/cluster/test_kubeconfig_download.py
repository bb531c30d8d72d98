"""The dashboard's "kubectl" download (docs/classroom.md, "kubectl in the classroom"): a
kubeconfig with a fresh token in the asker's name, only for a cluster they may change; the
token opens that cluster's API and no other."""

from __future__ import annotations

import pytest
import yaml
from django.contrib.auth.models import Group, User
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from cluster import access, kubeconfig, services
from cluster.models import ApiToken, Classroom, Student

pytestmark = pytest.mark.django_db


def api_status(config: dict, cluster: str) -> int:
    token = config["users"][0]["user"]["token"]
    client = Client(headers={"Authorization": f"Bearer {token}"})
    return client.get(f"/clusters/{cluster}/api/v1/nodes").status_code


def as_student(student: Student) -> Client:
    client = Client()
    store = SessionStore()
    store[access.SESSION_STUDENT] = student.pk
    store.create()
    client.cookies["sessionid"] = store.session_key
    return client


@pytest.fixture
def classroom(settings, tmp_path) -> dict:
    settings.K8SVIZ_OPEN_ACCESS = False
    settings.VAR_DIR = tmp_path
    teacher = User.objects.create_user("ada", password="pw-pw-pw-42")
    Group.objects.get_or_create(name=access.TEACHERS_GROUP)[0].user_set.add(teacher)
    taught = services.cluster_create(name="taught", owner_id=teacher.pk)
    room = Classroom.objects.create(
        name="A", owner=teacher, join_code="AAAAAA", viewer_token="v", cluster=taught
    )
    alice = Student.objects.create(classroom=room, display_name="Alice B.")
    bob = Student.objects.create(classroom=room, display_name="bob")
    services.cluster_create(name="alice-lab", sandbox_of_id=alice.pk)
    services.cluster_create(name="bob-lab", sandbox_of_id=bob.pk)
    signed_in = Client()
    signed_in.force_login(teacher)
    return {"teacher": signed_in, "alice": as_student(alice), "anonymous": Client()}


def test_a_student_gets_a_kubeconfig_for_their_own_sandbox_only(classroom) -> None:
    alice = classroom["alice"]
    response = alice.post("/clusters/alice-lab/kubeconfig/")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="alice-lab.kubeconfig"'
    assert response["Cache-Control"] == "no-store"
    config = yaml.safe_load(response.content)
    assert config["current-context"] == "alice-lab"
    assert config["users"][0]["name"] == "alice-b@alice-lab"
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443/clusters/alice-lab"
    assert api_status(config, "alice-lab") == 200
    assert api_status(config, "bob-lab") == 403  # a token of another cluster
    assert api_status(config, "taught") == 403
    # The class's cluster is hers to watch, not to change; another sandbox is not there at all.
    assert alice.post("/clusters/taught/kubeconfig/").status_code == 403
    assert alice.post("/clusters/bob-lab/kubeconfig/").status_code == 404
    assert ApiToken.objects.filter(cluster__name="alice-lab").count() == 1
    assert ApiToken.objects.count() == 1  # refused asks issued nothing


def test_the_teacher_and_nobody_else_gets_one_for_the_teachers_cluster(classroom) -> None:
    response = classroom["teacher"].post("/clusters/taught/kubeconfig/")
    assert response.status_code == 200
    config = yaml.safe_load(response.content)
    assert config["users"][0]["name"] == "ada@taught"
    assert api_status(config, "taught") == 200
    assert classroom["anonymous"].post("/clusters/taught/kubeconfig/").status_code == 404
    # A token is a write: never issued on a GET (a link, a prefetch).
    assert classroom["teacher"].get("/clusters/taught/kubeconfig/").status_code == 405


def test_the_download_names_the_configured_api_url(classroom, settings) -> None:
    settings.K8SVIZ_API_URL = "https://k8s.school.example:6443"
    config = yaml.safe_load(classroom["teacher"].post("/clusters/taught/kubeconfig/").content)
    server = config["clusters"][0]["cluster"]["server"]
    assert server == "https://k8s.school.example:6443/clusters/taught"


def test_open_access_lets_anyone_download(settings, tmp_path) -> None:
    settings.VAR_DIR = tmp_path
    services.cluster_create(name="demo")
    response = Client().post("/clusters/demo/kubeconfig/")
    assert response.status_code == 200
    config = yaml.safe_load(response.content)
    assert config["users"][0]["name"] == "admin@demo"
    assert api_status(config, "demo") == 200


def test_the_dashboard_offers_it_to_who_may_change_the_cluster(classroom) -> None:
    own = classroom["alice"].get("/clusters/alice-lab/").content.decode()
    watched = classroom["alice"].get("/clusters/taught/").content.decode()
    assert 'data-testid="kubeconfig-download"' in own
    assert 'data-testid="kubeconfig-download"' not in watched


@pytest.mark.parametrize(
    ("name", "user"),
    [
        ("Alice B.", "alice-b"),
        ("  Zoë  ", "zo"),
        ("李雷", "student-7"),
        ("a" * 80, "a" * 63),
        ("--x--", "x"),
    ],
)
def test_token_user_names_are_dns_labels(name, user) -> None:
    assert kubeconfig.user_name(name, "student-7") == user


def test_kubeconfig_layout() -> None:
    text = kubeconfig.kubeconfig_text(
        cluster="c", user="u", token="t", server="https://h:1/clusters/c", ca_pem=b"CA"
    )
    config = yaml.safe_load(text)
    assert config["contexts"] == [
        {"name": "c", "context": {"cluster": "c", "user": "u@c", "namespace": "default"}}
    ]
    assert config["clusters"][0]["cluster"]["server"] == "https://h:1/clusters/c"
