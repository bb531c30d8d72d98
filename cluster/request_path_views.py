"""The "send a request" tool's HTTP edge: the panel (GET: pick a source pod or "outside the
cluster", type a name or URL) and the result (POST: the numbered path from
:func:`cluster.request_path.request_path`, or the reason the input cannot be followed)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from cluster import forms, request_path
from cluster.views import _cluster_or_404

TEMPLATE = "cluster/request_path.html"


@require_GET
def request_panel(request: HttpRequest, name: str) -> HttpResponse:
    cluster = _cluster_or_404(request, name)
    context = {
        "cluster_name": cluster.name,
        "pods": request_path.pod_choices(cluster=cluster),
        "external": request_path.EXTERNAL,
    }
    return render(request, f"{TEMPLATE}#request-panel", context)


@require_POST
def request_send(request: HttpRequest, name: str) -> HttpResponse:
    cluster = _cluster_or_404(request, name)
    form = forms.RequestPathForm(request.POST)
    if not form.is_valid():
        errors = [f"{form[f].label}: {e}" for f, errs in form.errors.items() for e in errs]
        return render(request, f"{TEMPLATE}#request-error", {"errors": errors}, status=422)
    data = form.cleaned_data
    seed = data["seed"] or 0
    try:
        result = request_path.request_path(
            cluster=cluster, from_pod=data["from_pod"], target=data["target"], seed=seed
        )
    except request_path.RequestPathError as exc:
        return render(request, f"{TEMPLATE}#request-error", {"errors": [str(exc)]}, status=422)
    context = {"result": result, "cluster_name": cluster.name, "next_seed": seed + 1}
    return render(request, f"{TEMPLATE}#request-result", context)
