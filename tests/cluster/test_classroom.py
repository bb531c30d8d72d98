"""The classroom's flows (docs/classroom.md): a teacher signs in and creates a class, students
join with its code and a display name (validated, unique in the class, rate limited), the
projector link opens the class read-only, leaving forgets the identity; actions are rate
limited per identity; and the live WebSocket, served by real daphne, lets in only who may see
the cluster."""

from __future__ import annotations

import asyncio
import io
import json
import random
from html import unescape

import pytest
import websockets
from django.contrib.auth.models import Group, User
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.test import Client

from cluster import access, services
from cluster.models import Classroom, Student
from k8sviz.embedded import free_port
from tests.conftest import _run_daphne

pytestmark = pytest.mark.django_db


@pytest.fixture
def teacher() -> User:
    user = User.objects.create_user("ada", password="correct horse 42")
    Group.objects.get_or_create(name=access.TEACHERS_GROUP)[0].user_set.add(user)
    return user


@pytest.fixture
def room(teacher) -> Classroom:
    cluster = services.cluster_create(name="class-cluster", owner_id=teacher.pk)
    return Classroom.objects.create(
        name="K8s 101", owner=teacher, join_code="K7PX29", viewer_token="tok", cluster=cluster
    )


def fresh_address() -> str:
    """A client address of its own, so one test's rate-limit counts never reach another's."""
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def join(client: Client, code: str, name: str, address: str | None = None):
    return client.post(
        "/join/", {"code": code, "display_name": name}, REMOTE_ADDR=address or fresh_address()
    )


def test_teacher_signs_in_creates_a_class_and_sees_its_code(client, teacher) -> None:
    assert (
        client.post(
            "/accounts/login/", {"username": "ada", "password": "correct horse 42"}
        ).status_code
        == 302
    )
    services.cluster_create(name="mine", owner_id=teacher.pk)
    response = client.post("/classes/", {"name": "Tuesday  lab", "cluster": "mine"})
    room = Classroom.objects.get(owner=teacher)
    assert response["Location"] == f"/classes/{room.pk}/"
    assert room.name == "Tuesday lab" and room.cluster.name == "mine"
    assert len(room.join_code) == 6 and set(room.join_code) <= set(
        "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    )
    page = client.get(f"/classes/{room.pk}/").content.decode()
    assert room.join_code in page and f"/projector/{room.viewer_token}/" in page
    listing = client.get("/classes/").content.decode()
    assert "Tuesday lab" in listing and room.join_code in listing


def test_createteacher_makes_an_account_that_can_sign_in(client) -> None:
    out = io.StringIO()
    call_command("createteacher", "grace", "--password", "a long passphrase 7", stdout=out)
    assert "teacher grace created" in out.getvalue()
    assert client.login(username="grace", password="a long passphrase 7")
    assert client.get("/classes/").status_code == 200


def test_a_student_joins_and_follows_the_class_cluster(client, room) -> None:
    response = join(client, " k7px-29 ", "  Alan   Turing ")
    assert response.status_code == 302 and response["Location"] == "/"
    student = Student.objects.get(classroom=room)
    assert student.display_name == "Alan Turing"
    assert client.get("/")["Location"] == "/clusters/class-cluster/"
    page = client.get("/clusters/class-cluster/").content.decode()
    assert "Alan Turing (student)" in page and 'data-testid="read-only"' in page
    refused = client.post("/clusters/class-cluster/clock/", {"paused": "true"})
    assert refused.status_code == 403
    page = client.get(f"/classes/{room.pk}/")
    assert page.status_code == 404  # a student never sees the class page

    client.post("/leave/")
    assert client.get("/clusters/class-cluster/").status_code == 404


@pytest.mark.parametrize(
    ("code", "name", "status", "message"),
    [
        ("NOPE00", "Alan", 404, "no class has the code NOPE00"),
        ("K7PX29", "", 422, "This field is required"),
        ("K7PX29", "x" * 41, 422, "a display name is 1 to 40 visible characters"),
        ("K7PX29", "evil\u202egnp.exe", 422, "a display name is 1 to 40 visible characters"),
        ("K7PX29", "bad\x00name", 422, "Null characters are not allowed"),
        ("K7PX29", "zero\u200bwidth", 422, "a display name is 1 to 40 visible characters"),
    ],
)
def test_bad_joins_are_refused_with_a_reason(client, room, code, name, status, message) -> None:
    response = join(client, code, name)
    assert response.status_code == status
    assert message in unescape(response.content.decode())
    assert not Student.objects.exists()


def test_a_display_name_is_unique_in_its_class(client, room) -> None:
    assert join(Client(), "K7PX29", "Grace").status_code == 302
    response = join(client, "K7PX29", "grace")
    assert response.status_code == 409
    assert 'the name "grace" is taken in this class' in unescape(response.content.decode())


def test_joining_is_rate_limited_per_address(client, room, settings) -> None:
    settings.K8SVIZ_JOIN_RATE = 3
    address = fresh_address()
    statuses = [join(client, "WRONG1", f"n{i}", address).status_code for i in range(4)]
    assert statuses == [404, 404, 404, 429]
    # Another address is not affected.
    assert join(Client(), "K7PX29", "Hopper").status_code == 302


def test_actions_are_rate_limited_per_identity(client, settings) -> None:
    settings.K8SVIZ_ACTION_RATE = 2
    services.cluster_create(name="demo")
    address = fresh_address()
    codes = [
        client.post("/clusters/demo/clock/", {"paused": "true"}, REMOTE_ADDR=address).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_the_projector_link_is_a_read_only_viewer(client, room) -> None:
    response = client.get("/projector/tok/")
    assert response["Location"] == "/clusters/class-cluster/"
    page = client.get("/clusters/class-cluster/").content.decode()
    assert "projector (viewer)" in page and 'data-testid="read-only"' in page
    assert client.post("/clusters/class-cluster/clock/", {"paused": "true"}).status_code == 403
    assert client.get("/projector/not-the-token/").status_code == 404


# --- the WebSocket, through real daphne -------------------------------------------------------


@pytest.fixture
def closed_server(transactional_db, live_db_env, process_logs):
    """daphne with open access off (a classroom server)."""
    env = {**live_db_env, "K8SVIZ_OPEN_ACCESS": "0"}
    port = 0

    def endpoints() -> tuple[list[str], list[int]]:
        nonlocal port
        port = free_port()
        return ["-b", "127.0.0.1", "-p", str(port)], [port]

    with _run_daphne(env, process_logs, endpoints):
        yield f"http://127.0.0.1:{port}"


def session_cookie(**values: object) -> str:
    store = SessionStore()
    for key, value in values.items():
        store[key] = value
    store.create()
    return f"sessionid={store.session_key}"


async def first_message(url: str, path: str, cookie: str | None) -> dict | int:
    """The first message of the live socket, or the HTTP status that refused the handshake."""
    headers = {"Cookie": cookie} if cookie else None
    try:
        async with websockets.connect(
            "ws" + url.removeprefix("http") + path,
            origin=url,
            additional_headers=headers,
            open_timeout=10,
        ) as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), 10))
    except websockets.InvalidStatus as refused:
        return refused.response.status_code


def reader(ws, kind: str) -> asyncio.Queue:
    """Every message of type ``kind`` the socket receives, read by one task into a queue: a
    test never cancels a recv() (``.task`` stops it)."""
    queue: asyncio.Queue = asyncio.Queue()

    async def pump() -> None:
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == kind:
                queue.put_nowait(message)

    queue.task = asyncio.ensure_future(pump())
    return queue


async def next_message(queue: asyncio.Queue) -> dict | None:
    """The next message, or None after 15 s (generous: a loaded CI machine may take
    seconds). Whether a message was dropped is never decided by a timeout alone: a test sends
    a good message after the bad one and checks that the good one arrives first."""
    try:
        return await asyncio.wait_for(queue.get(), 15)
    except TimeoutError:
        return None


async def rest_of(queue: asyncio.Queue) -> list[dict]:
    """What else arrives within a second, then stop reading."""
    await asyncio.sleep(1)
    queue.task.cancel()
    return [queue.get_nowait() for _ in range(queue.qsize())]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_live_socket_admits_only_who_may_see(closed_server, teacher) -> None:
    own = services.cluster_create(name="taught", owner_id=teacher.pk)
    other = services.cluster_create(name="elsewhere", owner_id=teacher.pk)
    services.cluster_create(name="open")
    room = Classroom.objects.create(
        name="A", owner=teacher, join_code="AAAAAA", viewer_token="v", cluster=own
    )
    alice = Student.objects.create(classroom=room, display_name="alice")
    sandbox = services.cluster_create(name="sb-alice", sandbox_of_id=alice.pk)
    bob = Student.objects.create(classroom=room, display_name="bob")
    as_alice = session_cookie(**{access.SESSION_STUDENT: alice.pk})
    as_bob = session_cookie(**{access.SESSION_STUDENT: bob.pk})

    async def check() -> list:
        return [
            await first_message(closed_server, f"/ws/clusters/{own.name}/", as_alice),
            await first_message(closed_server, f"/ws/clusters/{sandbox.name}/", as_alice),
            await first_message(closed_server, f"/ws/clusters/{sandbox.name}/", as_bob),
            await first_message(closed_server, f"/ws/clusters/{other.name}/", as_alice),
            await first_message(closed_server, "/ws/clusters/open/", None),
            await first_message(closed_server, "/ws/clusters/nonexistent/", as_alice),
        ]

    taught, own_sandbox, bobs_try, elsewhere, anonymous, missing = asyncio.run(check())
    assert taught["type"] == "snapshot" and taught["cluster"]["name"] == "taught"
    assert own_sandbox["type"] == "snapshot" and own_sandbox["cluster"]["name"] == "sb-alice"
    # Refused exactly like a cluster that does not exist.
    assert bobs_try == elsewhere == anonymous == missing == 403


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_follow_messages_only_come_from_who_may_change_the_cluster(closed_server, teacher) -> None:
    own = services.cluster_create(name="taught", owner_id=teacher.pk)
    room = Classroom.objects.create(
        name="A", owner=teacher, join_code="AAAAAA", viewer_token="v", cluster=own
    )
    alice = Student.objects.create(classroom=room, display_name="alice")
    as_alice = session_cookie(**{access.SESSION_STUDENT: alice.pk})
    signed_in = Client()
    signed_in.force_login(teacher)
    as_teacher = f"sessionid={signed_in.cookies['sessionid'].value}"
    url = "ws" + closed_server.removeprefix("http") + "/ws/clusters/taught/"
    node = {"kind": "Node", "namespace": "", "name": "node-2"}
    other = {"kind": "Node", "namespace": "", "name": "node-1"}

    async def exchange() -> tuple:
        async with (
            websockets.connect(
                url, origin=closed_server, additional_headers={"Cookie": as_teacher}
            ) as lead,
            websockets.connect(
                url, origin=closed_server, additional_headers={"Cookie": as_alice}
            ) as student,
        ):
            await lead.recv()
            await student.recv()  # the snapshots
            leads, students = reader(lead, "follow"), reader(student, "follow")
            await student.send(json.dumps({"type": "follow", "selected": other}))
            await lead.send(json.dumps({"type": "follow", "selected": node}))
            followed = await next_message(students)
            await lead.send(
                json.dumps({"type": "follow", "selected": {"kind": "Secret", "name": "x"}})
            )
            await lead.send(json.dumps({"type": "follow", "panel": "services-title"}))
            after_junk = await next_message(students)
            await lead.send(json.dumps({"type": "follow", "panel": "<script>"}))
            await lead.send(json.dumps({"type": "follow", "zoom": 1.25}))
            after_bad_panel = await next_message(students)
            await lead.send(json.dumps({"type": "follow", "zoom": 40}))
            await lead.send(json.dumps({"type": "follow", "zoom": 0.5}))
            after_bad_zoom = await next_message(students)
            # The same selection again (bringing back a follower who looked elsewhere) is sent.
            await lead.send(json.dumps({"type": "follow", "selected": node}))
            again = await next_message(students)
            leads_saw = await rest_of(leads)
            students_rest = await rest_of(students)
            return (
                followed,
                after_junk,
                after_bad_panel,
                after_bad_zoom,
                again,
                leads_saw,
                students_rest,
            )

    followed, after_junk, after_bad_panel, after_bad_zoom, again, leads_saw, rest = asyncio.run(
        exchange()
    )
    assert followed == {"type": "follow", "selected": node}  # not the student's node-1
    assert after_junk == {"type": "follow", "panel": "services-title"}  # only nodes and pods
    assert after_bad_panel == {"type": "follow", "zoom": 1.2}  # no markup for a panel id
    assert after_bad_zoom == {"type": "follow", "zoom": 0.5}  # zoom within 0.5-2
    assert again == {"type": "follow", "selected": node}
    # A student cannot steer the class: the lead got its own messages, never the student's.
    assert {"type": "follow", "selected": other} not in leads_saw
    assert {"type": "follow", "selected": node} in leads_saw
    assert rest == []


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_lesson_changes_are_pushed_and_answers_only_to_who_sees_the_tally(
    closed_server, teacher
) -> None:
    """The Lesson panel is never polled: a step that runs reaches every dashboard of the
    cluster; an answer reaches the teacher and the projector (they show the tally), not the
    students (docs/lessons.md)."""
    from cluster.services import lessons

    own = lessons.lesson_cluster_create(
        name="taught", lesson_name="self-healing", owner_id=teacher.pk
    )
    room = Classroom.objects.create(
        name="A", owner=teacher, join_code="AAAAAA", viewer_token="v", cluster=own
    )
    alice = Student.objects.create(classroom=room, display_name="alice")
    as_alice = session_cookie(**{access.SESSION_STUDENT: alice.pk})
    as_projector = session_cookie(**{access.SESSION_VIEWER: room.pk})
    signed_in = Client()
    signed_in.force_login(teacher)
    as_teacher = f"sessionid={signed_in.cookies['sessionid'].value}"
    url = "ws" + closed_server.removeprefix("http") + "/ws/clusters/taught/"
    lesson = lessons.lesson_of(own)
    asking = next(i for i, step in enumerate(lesson.steps) if step.checkpoint is not None)

    async def exchange() -> tuple:
        def connect(cookie: str):
            return websockets.connect(
                url, origin=closed_server, additional_headers={"Cookie": cookie}
            )

        async with (
            connect(as_teacher) as lead,
            connect(as_alice) as student,
            connect(as_projector) as projector,
        ):
            for ws in (lead, student, projector):
                await ws.recv()  # the snapshots
            queues = [reader(ws, "lesson") for ws in (lead, student, projector)]
            for _ in range(asking):  # up to the question
                await asyncio.to_thread(lessons.lesson_next, cluster=own)
            await asyncio.to_thread(
                lessons.answer_submit, cluster=own, student_id=alice.pk, choice=0
            )
            await asyncio.to_thread(lessons.lesson_next, cluster=own)  # the reveal
            return [await rest_of_after(q, asking + 1) for q in queues]

    async def rest_of_after(queue: asyncio.Queue, at_least: int) -> list[dict]:
        got = []
        for _ in range(at_least):
            message = await next_message(queue)
            if message is None:
                break
            got.append(message)
        return got + await rest_of(queue)

    lead_saw, student_saw, projector_saw = asyncio.run(exchange())
    step = {"type": "lesson", "audience": "all"}
    tally = {"type": "lesson", "audience": "tally"}
    steps_run = [step] * asking
    assert lead_saw == projector_saw == [*steps_run, tally, step]
    assert student_saw == [*steps_run, step]
