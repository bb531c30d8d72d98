"""Every dashboard endpoint against every role, on a classroom server (open access off): who
gets a page, who gets a 403 toast, and for whom a cluster does not exist (404). The endpoints
are read from the URLconf, so a new one is covered without editing this file. Plus the
classroom pages, CSRF on forms, and an open cluster on one person's machine (open access on)."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import URLPattern

from cluster import access, services
from cluster.models import Classroom, Cluster, Student
from cluster.urls import urlpatterns

pytestmark = pytest.mark.django_db

ARGS = {
    "namespace": "default",
    "kind": "Pod",
    "obj_name": "x",
    "deployment": "nginx",
    "node": "node-1",
    "action": "cordon",
    "pod": "p",
    "component": "kube-scheduler",
    "service": "s",
}


def cluster_routes() -> list[tuple[str, str, bool]]:
    """(route name, path with the cluster as {name}, is an action) for every cluster route."""
    found = []
    for pattern in urlpatterns:
        assert isinstance(pattern, URLPattern)
        route = str(pattern.pattern)
        if "<slug:name>" not in route:
            continue
        path = "/" + re.sub(
            r"<(?:\w+):(\w+)>", lambda m: "{name}" if m[1] == "name" else ARGS[m[1]], route
        )
        found.append((pattern.name, path, bool(getattr(pattern.callback, "k8sviz_action", False))))
    return found


ROUTES = cluster_routes()


@pytest.fixture
def world(settings) -> dict:
    """Two teachers, an admin, class A (teacher A, following cluster "ta") with students alice
    and bob and their sandboxes, class B (teacher B, "tb") with carol, and an open cluster."""
    settings.K8SVIZ_OPEN_ACCESS = False
    teachers = Group.objects.get_or_create(name=access.TEACHERS_GROUP)[0]
    ta = User.objects.create_user("teacher-a", password="pw-123456!")
    tb = User.objects.create_user("teacher-b", password="pw-123456!")
    teachers.user_set.add(ta, tb)
    admin = User.objects.create_superuser("root", password="pw-123456!")
    clusters = {
        "open": services.cluster_create(name="open"),
        "ta": services.cluster_create(name="ta", owner_id=ta.pk),
        "tb": services.cluster_create(name="tb", owner_id=tb.pk),
    }
    class_a = Classroom.objects.create(
        name="A", owner=ta, join_code="AAAAAA", viewer_token="va", cluster=clusters["ta"]
    )
    class_b = Classroom.objects.create(
        name="B", owner=tb, join_code="BBBBBB", viewer_token="vb", cluster=clusters["tb"]
    )
    students = {
        "alice": Student.objects.create(classroom=class_a, display_name="alice"),
        "bob": Student.objects.create(classroom=class_a, display_name="bob"),
        "carol": Student.objects.create(classroom=class_b, display_name="carol"),
    }
    for who in ("alice", "bob"):
        clusters[f"sb-{who}"] = services.cluster_create(
            name=f"sb-{who}", sandbox_of_id=students[who].pk
        )
    return {
        "users": {"teacher-a": ta, "teacher-b": tb, "admin": admin},
        "students": students,
        "classes": {"A": class_a, "B": class_b},
        "clusters": clusters,
    }


def client_for(world: dict, who: str) -> Client:
    client = Client()
    if who in world["users"]:
        client.force_login(world["users"][who])
    elif who in world["students"]:
        session = client.session
        session[access.SESSION_STUDENT] = world["students"][who].pk
        session.save()
    elif who == "projector-a":
        session = client.session
        session[access.SESSION_VIEWER] = world["classes"]["A"].pk
        session.save()
    return client


# who -> cluster -> "act" | "view" | "none"
EXPECTED = {
    "admin": {"open": "act", "ta": "act", "tb": "act", "sb-alice": "act", "sb-bob": "act"},
    "teacher-a": {"open": "act", "ta": "act", "tb": "none", "sb-alice": "act", "sb-bob": "act"},
    "teacher-b": {"open": "act", "ta": "none", "tb": "act", "sb-alice": "none", "sb-bob": "none"},
    "alice": {"open": "none", "ta": "view", "tb": "none", "sb-alice": "act", "sb-bob": "none"},
    "carol": {"open": "none", "ta": "none", "tb": "view", "sb-alice": "none", "sb-bob": "none"},
    "projector-a": {
        "open": "none",
        "ta": "view",
        "tb": "none",
        "sb-alice": "none",
        "sb-bob": "none",
    },
    "anonymous": {"open": "none", "ta": "none", "tb": "none", "sb-alice": "none", "sb-bob": "none"},
}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_every_endpoint_for_every_role(world, who) -> None:
    client = client_for(world, who)
    for cluster, allowed in EXPECTED[who].items():
        for route, template, is_action in ROUTES:
            path = template.format(name=cluster)
            response = client.post(path) if is_action else client.get(path)
            if response.status_code == 405:  # a read that takes a form (Send a request)
                response = client.post(path)
            where = f"{who} {response.status_code} {route} on {cluster}"
            body = unescape(response.content.decode())
            # The cluster's 404 (a page or a toast), not an object's inside a visible cluster.
            hidden = response.status_code == 404 and (
                f'cluster "{cluster}" not found' in body
                if is_action
                else "The requested resource was not found" in body
            )
            if allowed == "none":
                assert hidden, where
                continue
            assert not hidden, where
            if is_action and allowed == "view":
                assert response.status_code == 403 and "but not change it" in body, where
            elif is_action:
                assert response.status_code != 403, where
            elif response.status_code == 403:  # answering a lesson question: students only
                assert "only students" in body and who not in ("alice", "carol"), where
            else:  # a page or panel (an object the path names may be missing: its own 404)
                assert response.status_code in (200, 404, 422), where


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("admin", {"open", "ta", "tb", "sb-alice", "sb-bob"}),
        ("teacher-a", {"open", "ta", "sb-alice", "sb-bob"}),
        ("alice", {"ta", "sb-alice"}),
        ("projector-a", {"ta"}),
    ],
)
def test_the_cluster_switcher_lists_only_what_one_may_see(world, who, visible) -> None:
    home = world["clusters"]["sb-alice" if who == "alice" else "ta"]
    html = client_for(world, who).get(f"/clusters/{home.name}/").content.decode()
    listed = set(re.findall(r'href="/clusters/([\w-]+)/"', html))
    # One visible cluster: its name, no switcher.
    assert listed == (visible if len(visible) > 1 else set())


def test_read_only_viewers_see_the_banner_and_no_controls(world) -> None:
    html = client_for(world, "alice").get("/clusters/ta/").content.decode()
    assert 'data-testid="read-only"' in html and "read-only" in html.split("<body", 1)[1][:200]
    assert 'data-testid="new-cluster"' not in html
    own = client_for(world, "alice").get("/clusters/sb-alice/").content.decode()
    assert 'data-testid="read-only"' not in own


def test_home_sends_each_role_to_its_cluster(world) -> None:
    assert client_for(world, "alice").get("/")["Location"] == "/clusters/ta/"
    assert client_for(world, "projector-a").get("/")["Location"] == "/clusters/ta/"
    page = client_for(world, "anonymous").get("/")
    assert page.status_code == 200
    assert "Join a class" in page.content.decode()
    assert "Create the demo cluster" not in page.content.decode()


def test_only_signed_in_teachers_create_clusters(world) -> None:
    refused = client_for(world, "anonymous").post(
        "/clusters/", {"name": "mine"}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 403 and not Cluster.objects.filter(name="mine").exists()
    refused = client_for(world, "alice").post(
        "/clusters/", {"name": "mine"}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 403
    made = client_for(world, "teacher-b").post(
        "/clusters/", {"name": "mine"}, HTTP_HX_REQUEST="true"
    )
    assert made["HX-Redirect"] == "/clusters/mine/"
    assert Cluster.objects.get(name="mine").owner == world["users"]["teacher-b"]


def test_class_pages_belong_to_their_teacher(world) -> None:
    class_a = world["classes"]["A"]
    assert client_for(world, "teacher-a").get(f"/classes/{class_a.pk}/").status_code == 200
    assert client_for(world, "admin").get(f"/classes/{class_a.pk}/").status_code == 200
    assert client_for(world, "teacher-b").get(f"/classes/{class_a.pk}/").status_code == 404
    assert client_for(world, "alice").get(f"/classes/{class_a.pk}/").status_code == 404
    login = client_for(world, "anonymous").get("/classes/")
    assert login.status_code == 302 and login["Location"].startswith("/accounts/login/")
    # Teacher B cannot point a class at teacher A's cluster.
    class_b = world["classes"]["B"]
    response = client_for(world, "teacher-b").post(f"/classes/{class_b.pk}/", {"cluster": "ta"})
    assert response.status_code == 422
    assert Classroom.objects.get(pk=class_b.pk).cluster.name == "tb"


def test_forms_need_the_csrf_token(world) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["users"]["teacher-a"])
    assert client.post("/clusters/ta/clock/", {"paused": "true"}).status_code == 403
    assert client.post("/join/", {"code": "AAAAAA", "display_name": "eve"}).status_code == 403
    page = client.get("/clusters/ta/")
    token = page.cookies["csrftoken"].value
    ok = client.post("/clusters/ta/clock/", {"paused": "true"}, HTTP_X_CSRFTOKEN=token)
    assert ok.status_code == 200


def test_open_access_lets_anybody_use_open_clusters_only(settings, client) -> None:
    settings.K8SVIZ_OPEN_ACCESS = True
    services.cluster_create(name="demo")
    teacher = User.objects.create_user("t")
    owned = services.cluster_create(name="owned", owner_id=teacher.pk)
    assert client.get("/clusters/demo/").status_code == 200
    assert client.post("/clusters/demo/clock/", {"paused": "true"}).status_code == 200
    assert client.get(f"/clusters/{owned.name}/").status_code == 404
    assert client.post(f"/clusters/{owned.name}/clock/", {"paused": "true"}).status_code == 404
