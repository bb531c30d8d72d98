"""Who may see and change which cluster (cluster.access), as a table: every role against every
sort of cluster, with open access on (one person's machine) and off (a classroom server)."""

from __future__ import annotations

import pytest

from cluster.access import Actor, Facts, Role, can_act, can_create_cluster, can_view

TEACHER_A, TEACHER_B = 1, 2
CLASS_A, CLASS_B = 10, 20
ALICE, BOB = 100, 200  # students of class A

ADMIN = Actor(Role.ADMIN, user_id=99)
TEACHER = Actor(Role.TEACHER, user_id=TEACHER_A)
OTHER_TEACHER = Actor(Role.TEACHER, user_id=TEACHER_B)
STUDENT = Actor(Role.STUDENT, student_id=ALICE, classroom_id=CLASS_A)
OTHER_STUDENT = Actor(Role.STUDENT, student_id=BOB, classroom_id=CLASS_A)
OTHER_CLASS_STUDENT = Actor(Role.STUDENT, student_id=300, classroom_id=CLASS_B)
VIEWER = Actor(Role.VIEWER, classroom_id=CLASS_A)
NOBODY = Actor(Role.ANONYMOUS)

OPEN = Facts()
OPEN_FOLLOWED = Facts(followed_by=frozenset({CLASS_A}))
TEACHERS = Facts(owner_id=TEACHER_A, followed_by=frozenset({CLASS_A}))
TEACHERS_UNFOLLOWED = Facts(owner_id=TEACHER_A)
SANDBOX = Facts(sandbox_student_id=ALICE, sandbox_teacher_id=TEACHER_A)

# (actor, facts) -> (view, act) with open access off, then on.
CASES = [
    # admin: everything
    (ADMIN, OPEN, (True, True), (True, True)),
    (ADMIN, TEACHERS, (True, True), (True, True)),
    (ADMIN, SANDBOX, (True, True), (True, True)),
    # the owning teacher
    (TEACHER, TEACHERS, (True, True), (True, True)),
    (TEACHER, SANDBOX, (True, True), (True, True)),  # a sandbox of their class
    (TEACHER, OPEN, (True, True), (True, True)),
    # another teacher: not their class, not their cluster
    (OTHER_TEACHER, TEACHERS, (False, False), (False, False)),
    (OTHER_TEACHER, SANDBOX, (False, False), (False, False)),
    # students: watch the class's cluster, change only their own sandbox
    (STUDENT, TEACHERS, (True, False), (True, False)),
    (STUDENT, TEACHERS_UNFOLLOWED, (False, False), (False, False)),
    (STUDENT, SANDBOX, (True, True), (True, True)),
    (OTHER_STUDENT, SANDBOX, (False, False), (False, False)),
    (OTHER_CLASS_STUDENT, TEACHERS, (False, False), (False, False)),
    (STUDENT, OPEN, (False, False), (True, True)),
    (STUDENT, OPEN_FOLLOWED, (True, False), (True, True)),
    # the projector: read-only, its class's cluster only
    (VIEWER, TEACHERS, (True, False), (True, False)),
    (VIEWER, SANDBOX, (False, False), (False, False)),
    (VIEWER, TEACHERS_UNFOLLOWED, (False, False), (False, False)),
    # anybody: open clusters only, and only with open access on
    (NOBODY, OPEN, (False, False), (True, True)),
    (NOBODY, TEACHERS, (False, False), (False, False)),
    (NOBODY, SANDBOX, (False, False), (False, False)),
]


@pytest.mark.parametrize(("actor", "facts", "closed", "opened"), CASES)
def test_who_may_see_and_change(actor, facts, closed, opened) -> None:
    assert (
        can_view(actor, facts, open_mode=False),
        can_act(actor, facts, open_mode=False),
    ) == closed
    assert (can_view(actor, facts, open_mode=True), can_act(actor, facts, open_mode=True)) == opened


@pytest.mark.parametrize(
    ("actor", "closed", "opened"),
    [
        (ADMIN, True, True),
        (TEACHER, True, True),
        (STUDENT, False, False),
        (VIEWER, False, False),
        (NOBODY, False, True),
    ],
)
def test_who_may_create_clusters(actor, closed, opened) -> None:
    assert can_create_cluster(actor, open_mode=False) is closed
    assert can_create_cluster(actor, open_mode=True) is opened
