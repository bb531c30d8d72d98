"""Classes, students and teachers (docs/classroom.md): a teacher creates a class and gets a
short join code; a student joins with the code and a display name (no account); the class
follows one cluster; a projector link opens it read-only."""

from __future__ import annotations

import secrets
import unicodedata

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import IntegrityError, transaction

from cluster import access, broadcast
from cluster.models import Classroom, Cluster, Student
from cluster.services.errors import AlreadyExists, Invalid, LimitExceeded, NotFound

#: Join codes avoid look-alikes (0/O, 1/I/L) so they can be read off a projector.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
MAX_NAME = 40
ERR_NO_CLASS = "no class has the code {code}: check it with your teacher"
ERR_NAME = "a display name is 1 to {max} visible characters"
ERR_NAME_TAKEN = 'the name "{name}" is taken in this class: choose another'
ERR_CLASS_FULL = "this class is full ({limit} students)"
ERR_CLASS_NAME = "a class name is 1 to 100 characters"
ERR_NOT_YOURS = "you may only follow clusters you may change"


def normalize_code(code: str) -> str:
    """What a student typed, as stored: upper case, spaces and dashes dropped."""
    return "".join(ch for ch in code.upper() if ch not in " -\t")


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def clean_display_name(name: str) -> str:
    """1 to 40 printable characters, inner spaces collapsed; control and format characters
    (bidi overrides, zero-width joiners) are refused so a name cannot disguise itself."""
    text = " ".join(name.split())
    bad = any(unicodedata.category(ch)[0] == "C" for ch in text)
    if not text or len(text) > MAX_NAME or bad:
        raise Invalid(ERR_NAME.format(max=MAX_NAME), causes=[{"field": "display_name"}])
    return text


def teacher_create(*, username: str, password: str, email: str = "") -> User:
    """A teacher account (a user in the ``teachers`` group)."""
    if User.objects.filter(username=username).exists():
        raise AlreadyExists(f'user "{username}" already exists')
    with transaction.atomic():
        user = User.objects.create_user(username=username, password=password, email=email)
        group, _ = Group.objects.get_or_create(name=access.TEACHERS_GROUP)
        user.groups.add(group)
    return user


def classroom_create(*, owner: User, name: str, cluster: Cluster | None = None) -> Classroom:
    """A class with a fresh join code and projector token."""
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise Invalid(ERR_CLASS_NAME, causes=[{"field": "name"}])
    for _ in range(20):  # 31^6 codes: a clash is rare, retried
        try:
            with transaction.atomic():
                return Classroom.objects.create(
                    name=name,
                    owner=owner,
                    join_code=_new_code(),
                    viewer_token=secrets.token_urlsafe(24),
                    cluster=cluster,
                )
        except IntegrityError:
            continue
    raise LimitExceeded("could not find a free join code; try again")


def classroom_follow(*, classroom: Classroom, actor: access.Actor, cluster: Cluster | None) -> None:
    """Point the class at a cluster the teacher may change (None: at nothing)."""
    if cluster is not None and not access.can_act(
        actor, access.facts_of(cluster), open_mode=access.open_access()
    ):
        raise Invalid(ERR_NOT_YOURS, causes=[{"field": "cluster"}])
    previous = classroom.cluster_id
    Classroom.objects.filter(pk=classroom.pk).update(cluster=cluster)
    classroom.cluster = cluster
    if previous is not None and cluster is not None and previous != cluster.pk:
        # Followers watching the old cluster move to the new one.
        broadcast.send_follow_cluster(previous, cluster.name)


def classroom_join(*, code: str, display_name: str) -> Student:
    """A student joins: the class by its code, a display name unique in the class (case
    aside)."""
    classroom = Classroom.objects.filter(join_code=normalize_code(code)).first()
    if classroom is None:
        raise NotFound(ERR_NO_CLASS.format(code=code.strip() or "''"))
    name = clean_display_name(display_name)
    with transaction.atomic():
        # The class's row lock serialises joins (the name check and the count); PostgreSQL
        # refuses FOR UPDATE on an aggregate, so the students themselves are not locked.
        Classroom.objects.select_for_update().filter(pk=classroom.pk).first()
        students = Student.objects.filter(classroom=classroom)
        if students.filter(display_name__iexact=name).exists():
            raise AlreadyExists(ERR_NAME_TAKEN.format(name=name))
        limit = settings.K8SVIZ_MAX_STUDENTS
        if students.count() >= limit:
            raise LimitExceeded(ERR_CLASS_FULL.format(limit=limit))
        try:
            return Student.objects.create(classroom=classroom, display_name=name)
        except IntegrityError:
            raise AlreadyExists(ERR_NAME_TAKEN.format(name=name)) from None
