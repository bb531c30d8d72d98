"""The rollout panel's HTTP edge: one Deployment's progress, history and edit form (GET), and
its actions (edit, pause, resume, restart, roll back), each answering a toast plus the panel's
status part redrawn out of band. The services are ``cluster.services.rollouts``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cluster import forms, rollout_selectors
from cluster.models import Cluster
from cluster.services import rollouts
from cluster.services.errors import NotFound
from cluster.views import cluster_action, deployment_panel, form_error_toast, toast

TEMPLATE = "cluster/rollout.html"


def _context(cluster: Cluster, namespace: str, name: str) -> dict:
    context: dict = {
        "cluster_name": cluster.name,
        "namespace": namespace,
        "name": name,
        "deployments": rollout_selectors.deployment_names(cluster=cluster),
    }
    try:
        context["r"] = rollout_selectors.deployment_rollout(
            cluster=cluster, namespace=namespace, name=name
        )
    except NotFound:
        context["r"] = None
    return context


@require_GET
def rollout_panel(
    request: HttpRequest, name: str, namespace: str = "", deployment: str = ""
) -> HttpResponse:
    """The whole panel (picker, status, edit form), or only its status part with ?part=status."""
    return deployment_panel(
        request,
        name,
        namespace,
        deployment,
        template=TEMPLATE,
        part="rollout",
        context_of=_context,
        found="r",
    )


def _with_status(
    request: HttpRequest,
    response: HttpResponse,
    cluster: Cluster,
    namespace: str,
    name: str,
    *,
    edit_open: bool = False,
) -> HttpResponse:
    """Append the panel's status and edit form, redrawn out of band, to an action's toast (the
    form shows the Deployment as the action left it, e.g. the old image after a rollback)."""
    context = {**_context(cluster, namespace, name), "oob": True, "edit_open": edit_open}
    if context["r"] is None:
        return response
    for part in ("rollout-status", "rollout-edit"):
        response.content += render(request, f"{TEMPLATE}#{part}", context).content
    return response


@cluster_action
def deployment_edit(
    request: HttpRequest, cluster: Cluster, namespace: str, deployment: str
) -> HttpResponse:
    form = forms.DeploymentEditForm(request.POST)
    if not form.is_valid():
        return form_error_toast(request, form)
    data = form.cleaned_data
    before = rollout_selectors.deployment_rollout(
        cluster=cluster, namespace=namespace, name=deployment
    )
    rollouts.deployment_update(
        cluster=cluster,
        namespace=namespace,
        name=deployment,
        container=data["container"] or None,
        image=data["image"],
        resources={
            "requests": {"cpu": data["cpu_request"], "memory": data["memory_request"]},
            "limits": {"cpu": data["cpu_limit"], "memory": data["memory_limit"]},
        },
        replicas=data["replicas"],
        strategy_type=data["strategy"],
        max_surge=data["max_surge"] if data["strategy"] != "Recreate" else None,
        max_unavailable=data["max_unavailable"] if data["strategy"] != "Recreate" else None,
        change_cause=data["change_cause"],
    )
    after = rollout_selectors.deployment_rollout(
        cluster=cluster, namespace=namespace, name=deployment
    )
    if after.paused and after.image != before.image:
        message = f"deployment {deployment} updated; paused: the new template waits for Resume"
    elif (after.image, after.requests, after.limits) != (
        before.image,
        before.requests,
        before.limits,
    ):
        message = f"deployment {deployment} updated: rolling out the new template"
    else:
        message = f"deployment {deployment} updated"
    return _with_status(
        request, toast(request, message), cluster, namespace, deployment, edit_open=True
    )


@cluster_action
def deployment_rollout_action(
    request: HttpRequest, cluster: Cluster, namespace: str, deployment: str, action: str
) -> HttpResponse:
    args = {"cluster": cluster, "namespace": namespace, "name": deployment}
    if action == "pause":
        rollouts.deployment_pause(**args)
        message = f"deployment {deployment} paused"
    elif action == "resume":
        rollouts.deployment_resume(**args)
        message = f"deployment {deployment} resumed"
    elif action == "restart":
        rollouts.deployment_restart(**args)
        message = f"deployment {deployment} restarted"
    elif action == "rollback":
        form = forms.RollbackForm(request.POST)
        if not form.is_valid():
            return form_error_toast(request, form)
        to_revision = form.cleaned_data["to_revision"] or 0
        rollouts.deployment_rollback(**args, to_revision=to_revision)
        message = f"deployment {deployment} rolled back" + (
            f" to revision {to_revision}" if to_revision else ""
        )
    else:
        return toast(request, f'unknown rollout action "{action}"', error=True, status=404)
    return _with_status(request, toast(request, message), cluster, namespace, deployment)
