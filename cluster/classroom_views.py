"""The classroom's HTTP edge (docs/classroom.md): students join with a code and a display name,
teachers sign in and manage their classes, a projector opens a class read-only, anyone leaves.
Who may do what is :mod:`cluster.access`; the writes are :mod:`cluster.services.classrooms`."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cluster import access, classroom_selectors, ratelimit
from cluster.models import Classroom, Cluster
from cluster.services import classrooms as classroom_services
from cluster.services import sandboxes as sandbox_services
from cluster.services.errors import Invalid, ServiceError

TOO_MANY_JOINS = "too many attempts from this address: wait a minute and try again"


class JoinForm(forms.Form):
    code = forms.CharField(max_length=20, label="Class code")
    display_name = forms.CharField(max_length=80, label="Your name")


class ClassroomForm(forms.Form):
    name = forms.CharField(max_length=100, label="Class name")
    cluster = forms.CharField(max_length=63, required=False, label="Cluster to show")


def _teacher(request: HttpRequest) -> access.Actor:
    actor = access.request_actor(request)
    if not actor.signed_in:
        raise Http404("not found")
    return actor


def _my_classroom(request: HttpRequest, pk: int) -> Classroom:
    """A class of the signed-in teacher (an admin sees every class)."""
    actor = _teacher(request)
    classes = Classroom.objects.select_related("cluster")
    if actor.role != access.Role.ADMIN:
        classes = classes.filter(owner_id=actor.user_id)
    classroom = classes.filter(pk=pk).first()
    if classroom is None:
        raise Http404("no such class")
    return classroom


def _changeable_clusters(actor: access.Actor) -> list[Cluster]:
    open_mode = access.open_access()
    return [
        c
        for c in access.viewable_clusters(actor)
        if c.sandbox_of_id is None
        and access.can_act(actor, access.facts_of(c), open_mode=open_mode)
    ]


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest) -> HttpResponse:
    """A student enters the class code and a display name; the session becomes that student."""
    form = JoinForm(request.POST or None, initial={"code": request.GET.get("code", "")})
    error = ""
    status = 200
    if request.method == "POST":
        if not ratelimit.hit("join", ratelimit.client_address(request), settings.K8SVIZ_JOIN_RATE):
            error, status = TOO_MANY_JOINS, 429
        elif form.is_valid():
            try:
                student = classroom_services.classroom_join(
                    code=form.cleaned_data["code"],
                    display_name=form.cleaned_data["display_name"],
                )
            except ServiceError as err:
                error, status = str(err), err.code
            else:
                if request.user.is_authenticated:
                    logout(request)
                request.session.cycle_key()
                request.session.pop(access.SESSION_VIEWER, None)
                request.session[access.SESSION_STUDENT] = student.pk
                return redirect("cluster:index")
        else:
            status = 422
    return render(request, "cluster/join.html", {"form": form, "error": error}, status=status)


@require_POST
def leave(request: HttpRequest) -> HttpResponse:
    """Forget the student or projector identity of this browser (and sign out)."""
    logout(request)  # flushes the session: student and viewer keys go too
    return redirect("cluster:index")


@require_GET
def projector(request: HttpRequest, token: str) -> HttpResponse:
    """The class's projector link: this browser becomes a read-only viewer of the class."""
    classroom = Classroom.objects.filter(viewer_token=token).first()
    if classroom is None:
        raise Http404("no such class")
    request.session.cycle_key()
    request.session.pop(access.SESSION_STUDENT, None)
    request.session[access.SESSION_VIEWER] = classroom.pk
    if classroom.cluster is None:
        return render(request, "cluster/join.html", {"waiting": classroom})
    return redirect("cluster:dashboard", name=classroom.cluster.name)


@require_http_methods(["GET", "POST"])
def classes(request: HttpRequest) -> HttpResponse:
    """A teacher's classes, and the form to create one."""
    actor = access.request_actor(request)
    if not actor.signed_in:
        return redirect_to_login(request.get_full_path())
    form = ClassroomForm(request.POST or None)
    clusters = _changeable_clusters(actor)
    error, status = "", 200
    if request.method == "POST" and form.is_valid():
        chosen = next((c for c in clusters if c.name == form.cleaned_data["cluster"]), None)
        if form.cleaned_data["cluster"] and chosen is None:
            error, status = classroom_services.ERR_NOT_YOURS, 422
        else:
            try:
                classroom = classroom_services.classroom_create(
                    owner=request.user, name=form.cleaned_data["name"], cluster=chosen
                )
            except ServiceError as err:
                error, status = str(err), err.code
            else:
                return redirect("cluster:classroom", pk=classroom.pk)
    elif request.method == "POST":
        status = 422
    mine = Classroom.objects.select_related("cluster").prefetch_related("students")
    if actor.role != access.Role.ADMIN:
        mine = mine.filter(owner_id=actor.user_id)
    context = {"form": form, "classes": mine, "clusters": clusters, "error": error}
    return render(request, "cluster/classes.html", context, status=status)


@require_http_methods(["GET", "POST"])
def classroom(request: HttpRequest, pk: int) -> HttpResponse:
    """One class: its join code and link, the projector link, the cluster it follows (POST to
    change it), its students."""
    room = _my_classroom(request, pk)
    actor = access.request_actor(request)
    clusters = _changeable_clusters(actor)
    error, status = "", 200
    if request.method == "POST":
        name = request.POST.get("cluster", "")
        chosen = next((c for c in clusters if c.name == name), None)
        try:
            if name and chosen is None:
                raise Invalid(classroom_services.ERR_NOT_YOURS)
            classroom_services.classroom_follow(classroom=room, actor=actor, cluster=chosen)
        except ServiceError as err:
            error, status = str(err), err.code
        else:
            return redirect("cluster:classroom", pk=room.pk)
    return _class_page(request, room, clusters, error=error, status=status)


def _class_page(
    request: HttpRequest, room: Classroom, clusters: list, *, error: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "room": room,
        "students": room.students.all(),
        "overview": classroom_selectors.classroom_overview(classroom=room),
        "clusters": clusters,
        "join_url": request.build_absolute_uri(f"/join/?code={room.join_code}"),
        "projector_url": request.build_absolute_uri(f"/projector/{room.viewer_token}/"),
        "error": error,
    }
    return render(request, "cluster/classroom.html", context, status=status)


@require_POST
def sandboxes(request: HttpRequest, pk: int) -> HttpResponse:
    """Hand every student of the class a private copy of the class's cluster as it is now."""
    room = _my_classroom(request, pk)
    if room.cluster is None:
        return redirect("cluster:classroom", pk=room.pk)
    try:
        sandbox_services.classroom_sandboxes_create(classroom=room, source=room.cluster)
    except ServiceError as err:
        clusters = _changeable_clusters(access.request_actor(request))
        return _class_page(request, room, clusters, error=str(err), status=err.code)
    return redirect("cluster:classroom", pk=room.pk)
