"""Forking a cluster (cluster/services/sandboxes.py): the copy has new UIDs with every
reference rewritten, the same clock and controllers' state, and goes on exactly as the original
does (same seed, same story: a node dies in both); changing one never touches the other; a
class gets a sandbox per student in one action, each visible to its student alone."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from cluster import access, k8s, services
from cluster.models import Change, Classroom, Cluster, KubeObject, Student, Wakeup
from cluster.services.sandboxes import classroom_sandboxes_create, cluster_fork
from tests.cluster.sim import deploy_nginx, make_cluster, run

pytestmark = pytest.mark.django_db


def story(cluster: Cluster) -> dict:
    """What a student would see: pods (phase, node, terminating), nodes' readiness, events."""
    objects = KubeObject.objects.filter(cluster=cluster)
    pods = sorted((o.name, o.phase, o.node_name, o.deleting) for o in objects.filter(kind="Pod"))
    nodes = sorted((o.name, k8s.node_ready_status(o.body)) for o in objects.filter(kind="Node"))
    events = Counter(
        (b["reason"], b["involvedObject"]["name"])
        for b in objects.filter(kind="Event").values_list("body", flat=True)
    )
    return {"pods": pods, "nodes": nodes, "events": events}


@pytest.fixture
def settled() -> Cluster:
    return deploy_nginx(make_cluster(), random.Random(7))


def test_a_fork_copies_everything_under_new_uids(settled) -> None:
    fork = cluster_fork(source=settled, name="copy")
    source_objects = KubeObject.objects.filter(cluster=settled)
    copies = KubeObject.objects.filter(cluster=fork)
    assert copies.count() == source_objects.count()
    assert (fork.sim_now, fork.resource_version) == (settled.sim_now, settled.resource_version)
    assert fork.compacted_rv == fork.resource_version and not Change.objects.filter(cluster=fork)
    assert (
        Wakeup.objects.filter(cluster=fork).count()
        == Wakeup.objects.filter(cluster=settled).count()
    )
    old_uids = {str(u) for u in source_objects.values_list("uid", flat=True)}
    new_uids = {str(u) for u in copies.values_list("uid", flat=True)}
    assert not old_uids & new_uids
    for obj in copies:
        text = str(obj.body)
        assert not any(uid in text for uid in old_uids), obj
        for ref in obj.body["metadata"].get("ownerReferences") or []:
            assert ref["uid"] in new_uids
        if obj.owner_uid:
            assert str(obj.owner_uid) in new_uids
        assert obj.body["metadata"]["uid"] == str(obj.uid)


def test_a_fork_goes_on_exactly_like_its_original(settled) -> None:
    fork = cluster_fork(source=settled, name="copy")
    before = story(settled)
    assert story(fork) == before
    for cluster in (settled, fork):
        services.node_power_off(cluster=cluster, name="node-2")
        run(cluster, 120, random.Random(11))
    original, copy = story(settled), story(fork)
    assert copy == original
    assert ("node-2", "Unknown") in original["nodes"] and original != before


def test_changing_a_fork_leaves_the_original_alone(settled) -> None:
    before = story(settled)
    fork = cluster_fork(source=settled, name="copy")
    services.deployment_scale(cluster=fork, namespace="default", name="nginx", replicas=2)
    run(fork, 30, random.Random(3))
    assert len([p for p in story(fork)["pods"] if not p[3]]) == 2
    settled.refresh_from_db()
    assert story(settled) == before


def test_a_class_gets_a_sandbox_per_student_each_seen_by_its_student_only(
    settled, settings
) -> None:
    settings.K8SVIZ_OPEN_ACCESS = False
    teacher = User.objects.create_user("ada")
    Group.objects.get_or_create(name=access.TEACHERS_GROUP)[0].user_set.add(teacher)
    Cluster.objects.filter(pk=settled.pk).update(owner=teacher)
    room = Classroom.objects.create(
        name="A", owner=teacher, join_code="AAAAAA", viewer_token="v", cluster=settled
    )
    alice = Student.objects.create(classroom=room, display_name="alice")
    bob = Student.objects.create(classroom=room, display_name="bob")
    made = classroom_sandboxes_create(classroom=room, source=settled)
    assert sorted(c.sandbox_of_id for c in made) == sorted([alice.pk, bob.pk])
    # Handing out again replaces each student's sandbox instead of adding one.
    again = classroom_sandboxes_create(classroom=room, source=settled)
    assert Cluster.objects.filter(sandbox_of__classroom=room).count() == 2
    mine = next(c for c in again if c.sandbox_of_id == alice.pk)
    theirs = next(c for c in again if c.sandbox_of_id == bob.pk)

    client = Client()
    session = client.session
    session[access.SESSION_STUDENT] = alice.pk
    session.save()
    assert client.get(f"/clusters/{mine.name}/").status_code == 200
    assert client.post(f"/clusters/{mine.name}/clock/", {"paused": "true"}).status_code == 200
    assert client.get(f"/clusters/{theirs.name}/").status_code == 404
    assert client.post(f"/clusters/{theirs.name}/clock/", {"paused": "true"}).status_code == 404


def test_sandboxes_respect_the_cluster_limit(settled, settings) -> None:
    teacher = User.objects.create_user("ada")
    room = Classroom.objects.create(
        name="A", owner=teacher, join_code="AAAAAA", viewer_token="v", cluster=settled
    )
    for i in range(3):
        Student.objects.create(classroom=room, display_name=f"s{i}")
    settings.K8SVIZ_MAX_CLUSTERS = 3
    with pytest.raises(services.ServiceError) as err:
        classroom_sandboxes_create(classroom=room, source=settled)
    assert "3 sandboxes would pass the installation's limit of 3 clusters" in str(err.value)
    assert Cluster.objects.count() == 1


def test_the_class_page_hands_out_sandboxes_and_shows_them(settled) -> None:
    teacher = User.objects.create_user("ada")
    Group.objects.get_or_create(name=access.TEACHERS_GROUP)[0].user_set.add(teacher)
    room = Classroom.objects.create(
        name="A", owner=teacher, join_code="AAAAAA", viewer_token="v", cluster=settled
    )
    Student.objects.create(classroom=room, display_name="alice")
    Student.objects.create(classroom=room, display_name="bob")
    client = Client()
    client.force_login(teacher)
    page = client.get(f"/classes/{room.pk}/").content.decode()
    assert page.count("no sandbox yet") == 2
    response = client.post(f"/classes/{room.pk}/sandboxes/")
    assert response["Location"] == f"/classes/{room.pk}/"
    page = client.get(f"/classes/{room.pk}/").content.decode()
    assert page.count("4/4 nodes Ready · 6/6 pods Running") == 2
    assert page.count('class="sandbox-card is-healthy"') == 2
    # One student's sandbox breaks: only their card says so.
    alices = Cluster.objects.get(sandbox_of__display_name="alice")
    services.node_power_off(cluster=alices, name="node-1")
    run(alices, 60, random.Random(5))
    page = client.get(f"/classes/{room.pk}/").content.decode()
    assert page.count("3/4 nodes Ready") == 1 and page.count("4/4 nodes Ready") == 1
    # The teacher's switcher names the sandboxes by student.
    dash = client.get(f"/clusters/{alices.name}/").content.decode()
    assert "sandbox: alice" in dash and "sandbox: bob" in dash
    # Another teacher cannot hand out this class's sandboxes.
    other = User.objects.create_user("eve")
    Group.objects.get_or_create(name=access.TEACHERS_GROUP)[0].user_set.add(other)
    intruder = Client()
    intruder.force_login(other)
    assert intruder.post(f"/classes/{room.pk}/sandboxes/").status_code == 404


def test_a_sandbox_has_smaller_limits_than_a_teachers_cluster(settled, settings) -> None:
    settings.K8SVIZ_SANDBOX_MAX_NODES = 5
    settings.K8SVIZ_SANDBOX_MAX_PODS = 8
    settings.K8SVIZ_SANDBOX_MAX_OBJECTS = 60
    settings.K8SVIZ_SANDBOX_MAX_SPEED = 10
    teacher = User.objects.create_user("ada")
    room = Classroom.objects.create(
        name="A", owner=teacher, join_code="AAAAAA", viewer_token="v", cluster=settled
    )
    Student.objects.create(classroom=room, display_name="alice")
    [sandbox] = classroom_sandboxes_create(classroom=room, source=settled)

    services.node_add(cluster=sandbox, name="node-4")  # 5 machines: at the limit
    with pytest.raises(services.ServiceError, match="the limit is 5"):
        services.node_add(cluster=sandbox, name="node-5")
    services.node_add(cluster=settled, name="node-5")  # the teacher's cluster is not limited so

    with pytest.raises(services.ServiceError, match="limit"):
        services.deployment_scale(cluster=sandbox, namespace="default", name="nginx", replicas=9)
    services.deployment_scale(cluster=settled, namespace="default", name="nginx", replicas=9)

    with pytest.raises(services.ServiceError, match="speed must be between 0.25x and 10x"):
        services.cluster_clock_update(cluster=sandbox, speed=20)
    services.cluster_clock_update(cluster=settled, speed=20)

    with pytest.raises(services.ServiceError, match="this sandbox already holds"):
        for i in range(60):
            services.service_create(
                cluster=sandbox, namespace="default", name=f"s{i}", selector={"a": "b"}, port=80
            )
