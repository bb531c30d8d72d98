"""Who may see and change which cluster: the one place that decides (docs/classroom.md).

Roles:

- **admin**: a superuser; sees and changes everything.
- **teacher**: a signed-in member of the ``teachers`` group; owns classes and clusters.
- **student**: joined a class with its code and a display name; the identity lives in the
  browser session (``SESSION_STUDENT``), no account.
- **viewer**: opened a class's projector link; read-only, also session-bound
  (``SESSION_VIEWER``).
- **anonymous**: anybody else.

Clusters are of three sorts:

- an **open** cluster has no owner (the local demo ``make run`` creates): with
  ``K8SVIZ_OPEN_ACCESS`` on (the default, for one person on their own machine) anybody may see
  and change it and create more; with it off (a shared classroom server) only admins and
  teachers may, and students and viewers only see it when their class follows it;
- a **teacher's** cluster: its owner changes it; students and viewers of a class that follows
  it see it;
- a **sandbox**: one student's copy; that student and the class's teacher change it, nobody
  else sees it.

The rules are pure functions of an :class:`Actor` and a cluster's :class:`Facts`, so the table
of tests can check every role against every sort of cluster. The edges (views, the WebSocket
consumer) build both and ask; the Kubernetes-style API authenticates with per-cluster tokens
instead (``ApiToken``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from django.conf import settings

from cluster.models import Classroom, Cluster, Student

SESSION_STUDENT = "k8sviz.student"
SESSION_VIEWER = "k8sviz.viewer"
TEACHERS_GROUP = "teachers"


class Role(StrEnum):
    ADMIN = "admin"
    TEACHER = "teacher"
    STUDENT = "student"
    VIEWER = "viewer"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Actor:
    """Who is asking: a role and the ids the rules compare (a user, a student, a class)."""

    role: Role
    user_id: int | None = None
    student_id: int | None = None
    classroom_id: int | None = None  # the student's class, or the viewer's
    name: str = ""

    @property
    def signed_in(self) -> bool:
        return self.role in (Role.ADMIN, Role.TEACHER)


ANONYMOUS = Actor(Role.ANONYMOUS)


@dataclass(frozen=True)
class Facts:
    """What the rules need to know about a cluster."""

    owner_id: int | None = None
    sandbox_student_id: int | None = None
    sandbox_teacher_id: int | None = None  # the owner of the sandbox's class
    followed_by: frozenset[int] = field(default_factory=frozenset)  # classes following it

    @property
    def open(self) -> bool:
        return self.owner_id is None and self.sandbox_student_id is None


def open_access() -> bool:
    return bool(getattr(settings, "K8SVIZ_OPEN_ACCESS", True))


# --- the rules (pure) -------------------------------------------------------------------------


def can_view(actor: Actor, facts: Facts, *, open_mode: bool) -> bool:
    if actor.role == Role.ADMIN or can_act(actor, facts, open_mode=open_mode):
        return True
    if facts.sandbox_student_id is not None:
        return False  # a sandbox: its student and the class's teacher only
    return actor.role in (Role.STUDENT, Role.VIEWER) and actor.classroom_id in facts.followed_by


def can_act(actor: Actor, facts: Facts, *, open_mode: bool) -> bool:
    if actor.role == Role.ADMIN:
        return True
    if facts.sandbox_student_id is not None:
        if actor.role == Role.STUDENT:
            return actor.student_id == facts.sandbox_student_id
        return actor.role == Role.TEACHER and actor.user_id == facts.sandbox_teacher_id
    if facts.open:
        return open_mode or actor.role == Role.TEACHER
    return actor.role == Role.TEACHER and actor.user_id == facts.owner_id


def can_create_cluster(actor: Actor, *, open_mode: bool) -> bool:
    return actor.role in (Role.ADMIN, Role.TEACHER) or (open_mode and actor.role == Role.ANONYMOUS)


# --- the edges' helpers (database) ------------------------------------------------------------


def facts_of(cluster: Cluster) -> Facts:
    teacher_id = None
    if cluster.sandbox_of_id is not None:
        teacher_id = (
            Classroom.objects.filter(students__pk=cluster.sandbox_of_id)
            .values_list("owner_id", flat=True)
            .first()
        )
    followed = frozenset(
        Classroom.objects.filter(cluster_id=cluster.pk).values_list("pk", flat=True)
    )
    return Facts(
        owner_id=cluster.owner_id,
        sandbox_student_id=cluster.sandbox_of_id,
        sandbox_teacher_id=teacher_id,
        followed_by=followed,
    )


def actor_of(user: object, session: object) -> Actor:
    """The actor of a request or a WebSocket scope (its user and session)."""
    if user is not None and getattr(user, "is_authenticated", False) and user.is_active:
        if user.is_superuser:
            return Actor(Role.ADMIN, user_id=user.pk, name=user.get_username())
        if user.groups.filter(name=TEACHERS_GROUP).exists():
            return Actor(Role.TEACHER, user_id=user.pk, name=user.get_username())
    get = getattr(session, "get", None)
    if get is None:
        return ANONYMOUS
    student_id = get(SESSION_STUDENT)
    if student_id is not None:
        student = Student.objects.filter(pk=student_id).values("classroom_id", "display_name")
        row = student.first()
        if row is not None:
            return Actor(
                Role.STUDENT,
                student_id=int(student_id),
                classroom_id=row["classroom_id"],
                name=row["display_name"],
            )
    viewer_of = get(SESSION_VIEWER)
    if viewer_of is not None and Classroom.objects.filter(pk=viewer_of).exists():
        return Actor(Role.VIEWER, classroom_id=int(viewer_of), name="projector")
    return ANONYMOUS


def request_actor(request: object) -> Actor:
    """The request's actor, computed once per request."""
    actor = getattr(request, "_k8sviz_actor", None)
    if actor is None:
        actor = actor_of(getattr(request, "user", None), getattr(request, "session", None))
        request._k8sviz_actor = actor  # type: ignore[attr-defined]
    return actor


def viewable_clusters(actor: Actor) -> list[Cluster]:
    """The clusters the actor may see (the cluster switcher, the home page): three queries,
    whatever the number of clusters."""
    open_mode = open_access()
    clusters = list(Cluster.objects.order_by("name"))
    followed: dict[int, set[int]] = {}
    for cluster_id, classroom_id in Classroom.objects.exclude(cluster=None).values_list(
        "cluster_id", "pk"
    ):
        followed.setdefault(cluster_id, set()).add(classroom_id)
    sandbox_students = {c.sandbox_of_id for c in clusters if c.sandbox_of_id is not None}
    teacher_of = dict(
        Student.objects.filter(pk__in=sandbox_students).values_list("pk", "classroom__owner_id")
    )
    return [
        c
        for c in clusters
        if can_view(
            actor,
            Facts(
                owner_id=c.owner_id,
                sandbox_student_id=c.sandbox_of_id,
                sandbox_teacher_id=teacher_of.get(c.sandbox_of_id),
                followed_by=frozenset(followed.get(c.pk, ())),
            ),
            open_mode=open_mode,
        )
    ]
