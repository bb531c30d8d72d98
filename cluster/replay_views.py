"""Time travel's HTTP edge (docs/replay.md): the replay page (the diagram at any recorded
resourceVersion, with a scrubber), the snapshot at one rv (JSON), exporting a cluster's
history to a file and importing one as a new cluster."""

from __future__ import annotations

import json

from django import forms as django_forms
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from cluster import access, history
from cluster.services import history as history_services
from cluster.services.errors import ServiceError
from cluster.views import _cluster_or_404, _dashboard_context, toast


class ImportForm(django_forms.Form):
    name = django_forms.CharField(max_length=63)
    file = django_forms.FileField()


@require_GET
def replay(request: HttpRequest, name: str) -> HttpResponse:
    cluster = _cluster_or_404(request, name)
    span = history.history_range(cluster=cluster)
    snapshot = history.replay_snapshot(cluster=cluster, rv=span["last"])
    context = _dashboard_context(snapshot, live=False)
    context.update(
        read_only=True,
        replay=span,
        actor=access.request_actor(request),
        clusters=[{"name": cluster.name, "label": cluster.name}],
    )
    return render(request, "cluster/dashboard.html", context)


@require_GET
def replay_at(request: HttpRequest, name: str) -> HttpResponse:
    cluster = _cluster_or_404(request, name)
    try:
        rv = int(request.GET.get("rv") or history.history_range(cluster=cluster)["last"])
    except ValueError:
        return JsonResponse({"error": "rv must be a resourceVersion (a number)"}, status=400)
    return JsonResponse(history.replay_snapshot(cluster=cluster, rv=rv))


@require_GET
def history_export(request: HttpRequest, name: str) -> HttpResponse:
    cluster = _cluster_or_404(request, name)
    document = history_services.history_export(cluster=cluster)
    response = HttpResponse(json.dumps(document), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{cluster.name}-history.json"'
    return response


@require_POST
def history_import(request: HttpRequest) -> HttpResponse:
    """A history file becomes a new, paused cluster; its replay page opens."""
    actor = access.request_actor(request)
    if not access.can_create_cluster(actor, open_mode=access.open_access()):
        return toast(request, "sign in as a teacher to import a history", error=True, status=403)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        details = [f"{k}: {' '.join(v)}" for k, v in form.errors.items()]
        return toast(
            request, "choose a name and a history file", error=True, details=details, status=422
        )
    upload = form.cleaned_data["file"]
    if upload.size > history_services.MAX_IMPORT_BYTES:
        return toast(request, "the file is too large (64 MiB at most)", error=True, status=413)
    try:
        cluster = history_services.history_import(
            raw=upload.read(),
            name=form.cleaned_data["name"].strip(),
            owner_id=actor.user_id if actor.signed_in else None,
        )
    except ServiceError as err:
        return toast(request, str(err), error=True, status=err.code)
    return redirect("cluster:replay", name=cluster.name)
