"""The Lesson panel's HTTP edge (docs/lessons.md): the panel (GET, reloaded when the server
pushes a change), the teacher's "Run this step" (an action on the cluster), a student's answer
to the open question, and "+ New cluster" → upload a lesson."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from cluster import access, forms, lesson_selectors, ratelimit
from cluster.lesson import MAX_BYTES
from cluster.models import Cluster
from cluster.services import lessons as lesson_services
from cluster.services.errors import Invalid, ServiceError
from cluster.views import (
    _cluster_or_404,
    cluster_action,
    form_error_toast,
    service_error_toast,
    toast,
)

TEMPLATE = "cluster/lesson.html"


def _panel(request: HttpRequest, cluster: Cluster, *, oob: bool = False) -> HttpResponse:
    actor = access.request_actor(request)
    facts = access.facts_of(cluster)
    context = {
        "cluster_name": cluster.name,
        "panel": lesson_selectors.lesson_panel(cluster=cluster, student_id=actor.student_id),
        "leads": access.can_act(actor, facts, open_mode=access.open_access()),
        "student": actor.student_id is not None,
        "oob": oob,
    }
    return render(request, f"{TEMPLATE}#lesson-panel", context)


@require_GET
def lesson_panel(request: HttpRequest, name: str) -> HttpResponse:
    return _panel(request, _cluster_or_404(request, name))


@cluster_action
def lesson_next(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    step, done = lesson_services.lesson_next(cluster=cluster)
    message = f"{step.title}: " + (", ".join(done) if done else "nothing to run")
    response = toast(request, message)
    cluster.refresh_from_db()
    response.content += _panel(request, cluster, oob=True).content
    return response


@require_POST
def lesson_answer(request: HttpRequest, name: str) -> HttpResponse:
    cluster = _cluster_or_404(request, name)
    actor = access.request_actor(request)
    if actor.student_id is None:
        return toast(request, lesson_services.ERR_NOT_STUDENT, error=True, status=403)
    if not ratelimit.hit("action", f"student-{actor.student_id}", settings.K8SVIZ_ACTION_RATE):
        return toast(request, "too many answers: wait a minute", error=True, status=429)
    try:
        choice = int(request.POST.get("choice", ""))
    except ValueError:
        choice = -1
    try:
        lesson_services.answer_submit(cluster=cluster, student_id=actor.student_id, choice=choice)
    except ServiceError as err:
        return service_error_toast(request, err)
    response = toast(request, "answer saved: wait for the reveal")
    response.content += _panel(request, cluster, oob=True).content
    return response


@require_POST
def lesson_upload(request: HttpRequest) -> HttpResponse:
    """A lesson file written elsewhere: validated completely (every problem listed in the
    toast), stored under its metadata.name (then in every "Start from" list), and a new cluster
    started from it, which opens."""
    actor = access.request_actor(request)
    if not access.can_create_cluster(actor, open_mode=access.open_access()):
        return toast(request, "sign in as a teacher to upload lessons", error=True, status=403)
    form = forms.LessonUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return form_error_toast(request, form, "choose a cluster name and a lesson file")
    upload = form.cleaned_data["file"]
    owner = actor.user_id if actor.signed_in else None
    try:
        cluster = lesson_services.lesson_upload_start(
            text=_text_of(upload),
            source=upload.name,
            cluster_name=form.cleaned_data["name"],
            owner_id=owner,
        )
    except ServiceError as err:
        return service_error_toast(request, err)
    return HttpResponseClientRedirect(reverse("cluster:dashboard", args=[cluster.name]))


def _text_of(upload: UploadedFile) -> str:
    if upload.size > MAX_BYTES:
        raise Invalid(f"the file is too large ({MAX_BYTES // 1024} KiB at most)")
    try:
        return upload.read().decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("the file is not UTF-8 text") from None
