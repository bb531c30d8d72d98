"""The autoscaling panel's HTTP edge: one Deployment's HorizontalPodAutoscaler (GET), and its
actions (create or edit, delete, CPU burn), each answering a toast plus the panel's status part
redrawn out of band. The services are ``cluster.services.autoscaling``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cluster import forms, hpa_selectors, rollout_selectors
from cluster.models import Cluster
from cluster.services import autoscaling
from cluster.views import cluster_action, deployment_panel, form_error_toast, toast

TEMPLATE = "cluster/hpa.html"


def _context(cluster: Cluster, namespace: str, name: str) -> dict:
    return {
        "cluster_name": cluster.name,
        "namespace": namespace,
        "name": name,
        "deployments": rollout_selectors.deployment_names(cluster=cluster),
        "h": hpa_selectors.hpa_panel(cluster=cluster, namespace=namespace, deployment=name),
    }


@require_GET
def hpa_panel(
    request: HttpRequest, name: str, namespace: str = "", deployment: str = ""
) -> HttpResponse:
    """The whole panel (picker, status, forms), or only its status part with ?part=status."""
    return deployment_panel(
        request,
        name,
        namespace,
        deployment,
        template=TEMPLATE,
        part="hpa",
        context_of=_context,
        found="h",
    )


def _with_status(
    request: HttpRequest, response: HttpResponse, cluster: Cluster, namespace: str, name: str
) -> HttpResponse:
    context = {**_context(cluster, namespace, name), "oob": True}
    if context["h"] is not None:
        response.content += render(request, f"{TEMPLATE}#hpa-status", context).content
    return response


@cluster_action
def hpa_save(
    request: HttpRequest, cluster: Cluster, namespace: str, deployment: str
) -> HttpResponse:
    """Create the Deployment's HPA (named after it, as kubectl autoscale does) or edit it."""
    form = forms.HpaForm(request.POST)
    if not form.is_valid():
        return form_error_toast(request, form)
    data = form.cleaned_data
    panel = hpa_selectors.hpa_panel(cluster=cluster, namespace=namespace, deployment=deployment)
    args = {
        "cluster": cluster,
        "namespace": namespace,
        "min_replicas": data["min_replicas"],
        "max_replicas": data["max_replicas"],
        "cpu_percent": data["cpu_percent"],
    }
    if panel is not None and panel.exists:
        autoscaling.hpa_update(name=panel.hpa_name, **args)
        message = f"horizontalpodautoscaler {panel.hpa_name} updated"
    else:
        autoscaling.hpa_create(deployment=deployment, **args)
        message = f"deployment {deployment} autoscaled"
    return _with_status(request, toast(request, message), cluster, namespace, deployment)


@cluster_action
def hpa_delete(
    request: HttpRequest, cluster: Cluster, namespace: str, deployment: str
) -> HttpResponse:
    panel = hpa_selectors.hpa_panel(cluster=cluster, namespace=namespace, deployment=deployment)
    if panel is None or not panel.exists:
        return toast(request, f"deployment {deployment} has no autoscaler", error=True, status=404)
    autoscaling.hpa_delete(cluster=cluster, namespace=namespace, name=panel.hpa_name)
    message = f"horizontalpodautoscaler {panel.hpa_name} deleted"
    return _with_status(request, toast(request, message), cluster, namespace, deployment)


@cluster_action
def cpu_burn(
    request: HttpRequest, cluster: Cluster, namespace: str, deployment: str
) -> HttpResponse:
    form = forms.CpuBurnForm(request.POST)
    if not form.is_valid():
        return form_error_toast(request, form)
    cpu = form.cleaned_data["cpu"]
    autoscaling.deployment_cpu_burn_set(
        cluster=cluster, namespace=namespace, name=deployment, cpu=cpu
    )
    message = (
        f"deployment {deployment}: each pod burns {cpu} of CPU (rolling out)"
        if cpu
        else f"deployment {deployment}: CPU burn off (rolling out)"
    )
    return _with_status(request, toast(request, message), cluster, namespace, deployment)
