"""The dashboard's HTTP edge: parse input with a form, call one service or selector, render.

The page embeds a snapshot so the diagram draws before the WebSocket connects. Every action
answers with a small toast partial (what happened, or the service's error text): the diagram
itself changes only through the WebSocket, like a watch on the API server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import suppress
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from cluster import (
    access,
    classroom_selectors,
    containers,
    forms,
    kubeconfig,
    ratelimit,
    rollout_selectors,
    selectors,
    services,
    timings,
)
from cluster.api import manifests
from cluster.models import Classroom, Cluster, KubeObject

PARTIALS = "cluster/partials.html"
DESCRIBE_KINDS = {
    "pod": "Pod",
    "node": "Node",
    "deployment": "Deployment",
    "replicaset": "ReplicaSet",
}
#: action in the URL -> (service name, extra keyword arguments, toast text). The failure modes
#: are described in docs/nodes.md.
NODE_ACTIONS: dict[str, tuple[str, dict, str]] = {
    "power-off": ("node_power_off", {}, "{node} powered off"),
    "power-on": ("node_power_on", {}, "{node} powered on"),
    "cordon": ("node_cordon", {}, "{node} cordoned"),
    "uncordon": ("node_uncordon", {}, "{node} uncordoned"),
    "remove": ("node_remove", {}, "{node} removed"),
    "kubelet-stop": (
        "node_kubelet_stop",
        {},
        "kubelet on {node} stopped: its pods keep running, but nothing renews its Lease",
    ),
    "kubelet-start": ("node_kubelet_start", {}, "kubelet on {node} started"),
    "partition": (
        "node_partition",
        {},
        "{node} cut off from the control plane: its containers keep running",
    ),
    "heal": ("node_heal", {}, "{node} reconnected: its kubelet re-posts its status"),
    "memory-pressure-on": (
        "node_pressure_set",
        {"kind": "memory", "on": True},
        "{node} is low on memory: the kubelet reports MemoryPressure and evicts",
    ),
    "memory-pressure-off": (
        "node_pressure_set",
        {"kind": "memory", "on": False},
        "{node} has enough memory again (the condition is held for the transition period)",
    ),
    "kube-proxy-stop": (
        "node_kube_proxy_stop",
        {},
        "kube-proxy on {node} stopped: its rules stay as they were (stale) until it starts",
    ),
    "kube-proxy-start": (
        "node_kube_proxy_start",
        {},
        "kube-proxy on {node} started: rules resynced",
    ),
    "disk-pressure-on": (
        "node_pressure_set",
        {"kind": "disk", "on": True},
        "{node} is low on disk: the kubelet reports DiskPressure and evicts",
    ),
    "disk-pressure-off": (
        "node_pressure_set",
        {"kind": "disk", "on": False},
        "{node} has enough disk again (the condition is held for the transition period)",
    ),
}
STEP_NEEDS_PAUSE = "Pause the clock first: Step advances a paused cluster"
#: Who the change log names for the dashboard's writes (the services' default too).
USER = "user"
#: What "New from YAML" opens with: a small Deployment to edit, or to replace by a paste.
NEW_MANIFEST = """\
# One object per document; separate documents with a line holding only ---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
        resources:
          requests:
            cpu: 100m
            memory: 64Mi
"""
ClusterView = Callable[..., HttpResponse]


# --- responses --------------------------------------------------------------------------------


def toast(
    request: HttpRequest,
    message: str,
    *,
    error: bool = False,
    details: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {"message": message, "error": error, "details": details or []}
    return render(request, f"{PARTIALS}#toast", context, status=status)


def form_error_toast(
    request: HttpRequest, form: Form, message: str = "Please correct the input"
) -> HttpResponse:
    details = []
    for field, errors in form.errors.items():
        label = form[field].label if field in form.fields else ""
        details += [f"{label}: {error}" if label else error for error in errors]
    return toast(request, message, error=True, details=details, status=422)


def service_error_toast(request: HttpRequest, err: services.ServiceError) -> HttpResponse:
    details = [f"{c['field']}: {c['message']}" for c in err.causes if c.get("field")]
    # A stopped etcd is a 500 in the API's words; to the dashboard both outages are a 503,
    # the one 5xx whose toast htmx swaps in (base.html's htmx-config).
    code = 503 if isinstance(err, services.Unavailable) else err.code
    return toast(request, str(err), error=True, details=details, status=code)


NOT_ALLOWED = 'you may look at cluster "{name}" but not change it'
TOO_MANY = "too many actions: wait a minute and try again"


def cluster_action(view: ClusterView) -> ClusterView:
    """POST only: look the cluster up, check the actor may change it (cluster.access) and is
    within the action rate, and turn service errors into an error toast."""

    @require_POST
    @wraps(view)
    def wrapper(request: HttpRequest, name: str, **kwargs: str) -> HttpResponse:
        try:
            cluster = selectors.cluster_get(name=name)
        except Cluster.DoesNotExist:
            return toast(request, f'cluster "{name}" not found', error=True, status=404)
        actor = access.request_actor(request)
        facts = access.facts_of(cluster)
        open_mode = access.open_access()
        if not access.can_view(actor, facts, open_mode=open_mode):
            return toast(request, f'cluster "{name}" not found', error=True, status=404)
        if not access.can_act(actor, facts, open_mode=open_mode):
            return toast(request, NOT_ALLOWED.format(name=name), error=True, status=403)
        if not ratelimit.hit("action", _identity(request, actor), settings.K8SVIZ_ACTION_RATE):
            return toast(request, TOO_MANY, error=True, status=429)
        try:
            return view(request, cluster, **kwargs)
        except services.ServiceError as err:
            return service_error_toast(request, err)

    wrapper.k8sviz_action = True  # type: ignore[attr-defined] - the permission tests read it
    return wrapper


def _identity(request: HttpRequest, actor: access.Actor) -> str:
    if actor.user_id is not None:
        return f"user-{actor.user_id}"
    if actor.student_id is not None:
        return f"student-{actor.student_id}"
    return f"addr-{ratelimit.client_address(request)}"


def deployment_panel(
    request: HttpRequest,
    name: str,
    namespace: str,
    deployment: str,
    *,
    template: str,
    part: str,
    context_of: Callable[[Cluster, str, str], dict],
    found: str,
) -> HttpResponse:
    """A side panel about one Deployment (rollout, autoscaling): the Deployment named, or the
    one shown by default; the whole panel (``<part>-panel``), or with ?part=status only its
    status part (``<part>-status``); 404 when the named one (``context[found]``) is missing."""
    cluster = _cluster_or_404(request, name)
    namespace, deployment = rollout_selectors.deployment_shown(
        cluster=cluster, namespace=namespace, name=deployment
    )
    context = context_of(cluster, namespace, deployment)
    which = "status" if request.GET.get("part") == "status" else "panel"
    status = 200 if context[found] is not None or not deployment else 404
    return render(request, f"{template}#{part}-{which}", context, status=status)


def _cluster_or_404(request: HttpRequest, name: str) -> Cluster:
    """The cluster, if the request's actor may see it (else 404: a cluster one may not see
    does not exist, as far as one can tell)."""
    try:
        cluster = selectors.cluster_get(name=name)
    except Cluster.DoesNotExist:
        raise Http404(f'cluster "{name}" not found') from None
    actor = access.request_actor(request)
    if not access.can_view(actor, access.facts_of(cluster), open_mode=access.open_access()):
        raise Http404(f'cluster "{name}" not found')
    return cluster


# --- pages and panels -------------------------------------------------------------------------


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The cluster one may see (the demo first), else the page to create one, join a class or
    sign in."""
    actor = access.request_actor(request)
    names = [c.name for c in access.viewable_clusters(actor)]
    if actor.role in (access.Role.STUDENT, access.Role.VIEWER):
        followed = Classroom.objects.filter(pk=actor.classroom_id).values_list(
            "cluster__name", flat=True
        )
        mine = [n for n in names if n in set(followed)]
        names = mine or names
    if names:
        return redirect("cluster:dashboard", name="demo" if "demo" in names else names[0])
    can_create = access.can_create_cluster(actor, open_mode=access.open_access())
    return render(request, "cluster/index.html", {"can_create": can_create, "actor": actor})


@require_POST
def demo_create(request: HttpRequest) -> HttpResponse:
    """Create (and settle) a demo cluster, then open it: the empty page's button (the demo
    cluster, or open it if it exists) and the dashboard's "New cluster" form (a name and the
    dual-stack choice; htmx: errors come back as a toast)."""
    actor = access.request_actor(request)
    if not access.can_create_cluster(actor, open_mode=access.open_access()):
        message = "sign in as a teacher to create clusters"
        if request.htmx:
            return toast(request, message, error=True, status=403)
        context = {"error": message, "can_create": False, "actor": actor}
        return render(request, "cluster/index.html", context, status=403)
    owner = actor.user_id if actor.signed_in else None
    if request.htmx:
        return _new_cluster(request, owner)
    try:
        cluster = services.demo_cluster_ensure(owner_id=owner)
    except services.ServiceError as err:
        return render(request, "cluster/index.html", {"error": str(err)}, status=err.code)
    return redirect("cluster:dashboard", name=cluster.name)


def _new_cluster(request: HttpRequest, owner: int | None) -> HttpResponse:
    """The "+ New cluster" form: a named demo cluster, owned by the signed-in teacher."""
    form = forms.ClusterCreateForm(request.POST)
    if not form.is_valid():
        return form_error_toast(request, form)
    data = form.cleaned_data
    try:
        if data["lesson"]:
            from cluster.services.lessons import lesson_cluster_create  # noqa: PLC0415

            cluster = lesson_cluster_create(
                name=data["name"], lesson_name=data["lesson"], owner_id=owner
            )
        else:
            cluster = services.demo_cluster_create(
                name=data["name"], dual_stack=data["dual_stack"], owner_id=owner
            )
    except services.ServiceError as err:
        return service_error_toast(request, err)
    return HttpResponseClientRedirect(reverse("cluster:dashboard", args=[cluster.name]))


def _dashboard_context(snapshot: dict, *, live: bool) -> dict:
    return {
        "snapshot": snapshot,
        "cluster_name": snapshot["cluster"]["name"],
        "live": live,
        "speed_value": (speed := f"{round(float(snapshot['cluster']['speed']), 2):g}"),
        "speeds": forms.speed_choices(speed),
        "profiles": forms.PROFILE_CHOICES,
        "steps": forms.STEP_CHOICES,
        "deployment_form": forms.DeploymentCreateForm(),
        "node_form": forms.NodeAddForm(),
    }


@require_GET
def dashboard(request: HttpRequest, name: str) -> HttpResponse:
    cluster = _cluster_or_404(request, name)
    actor = access.request_actor(request)
    open_mode = access.open_access()
    context = _dashboard_context(selectors.snapshot(cluster=cluster), live=True)
    clusters = access.viewable_clusters(actor)
    labels = classroom_selectors.sandbox_labels(clusters, student_id=actor.student_id)
    context["clusters"] = [{"name": c.name, "label": labels[c.pk]} for c in clusters]
    context["actor"] = actor
    context["read_only"] = not access.can_act(actor, access.facts_of(cluster), open_mode=open_mode)
    context["can_create"] = access.can_create_cluster(actor, open_mode=open_mode)
    context["dual_stack"] = cluster.dual_stack
    context["lesson"] = cluster.lesson
    context["cluster_form"] = forms.ClusterCreateForm()
    context["events"] = selectors.events_table(cluster=cluster)
    context.update(_timings_context(cluster))
    return render(request, "cluster/dashboard.html", context)


@require_GET
def fixture_dashboard(request: HttpRequest, fixture: str) -> HttpResponse:
    """Development only: the page drawn from ``tests/fixtures/<fixture>.json``, no WebSocket."""
    path = Path(settings.BASE_DIR) / "tests" / "fixtures" / f"{fixture}.json"
    if not settings.DEBUG or not path.is_file():
        raise Http404("fixtures are served only with DEBUG on")
    context = _dashboard_context(json.loads(path.read_text()), live=False)
    return render(request, "cluster/dashboard.html", context)


@require_GET
def events(request: HttpRequest, name: str) -> HttpResponse:
    cluster = _cluster_or_404(request, name)
    rows = selectors.events_table(cluster=cluster)
    return render(request, f"{PARTIALS}#event-rows", {"events": rows})


@require_GET
def describe(
    request: HttpRequest, name: str, kind: str, namespace: str, obj_name: str
) -> HttpResponse:
    kind_name = DESCRIBE_KINDS.get(kind.lower())
    context = {
        "cluster_name": name,
        "kind": kind_name or kind,
        "namespace": "" if namespace == "_" else namespace,
        "name": obj_name,
    }
    cluster = _cluster_or_404(request, name)
    try:
        if kind_name is None:
            raise KubeObject.DoesNotExist
        context["text"] = selectors.describe(
            cluster=cluster, kind=kind_name, namespace=context["namespace"], name=obj_name
        )
        if kind_name == "Pod":
            context["behavior"] = selectors.pod_behavior_form(
                cluster=cluster, namespace=context["namespace"], name=obj_name
            )
            context["behavior_modes"] = containers.MODES
    except KubeObject.DoesNotExist:
        return render(request, f"{PARTIALS}#describe", context, status=404)
    return render(request, f"{PARTIALS}#describe", context)


@require_GET
def yaml_panel(
    request: HttpRequest,
    name: str,
    kind: str | None = None,
    namespace: str = "_",
    obj_name: str = "",
) -> HttpResponse:
    """The YAML panel: an object as ``kubectl get -o yaml`` shows it, or a new manifest."""
    cluster = _cluster_or_404(request, name)
    context = {"cluster_name": name, "text": NEW_MANIFEST, "source": "", "ref": ""}
    if kind is None:
        return render(request, f"{PARTIALS}#yaml-panel", context)
    res = manifests.served_kind(kind)
    ns = "" if namespace == "_" or (res and not res.namespaced) else namespace
    context["ref"] = manifests.resource_ref(res, obj_name) if res else f"{kind}/{obj_name}"
    try:
        if res is None:
            raise KubeObject.DoesNotExist
        context["text"] = selectors.object_yaml(
            cluster=cluster, kind=res.kind, namespace=ns, name=obj_name
        )
    except KubeObject.DoesNotExist:
        context.update(text="", gone=True)
        return render(request, f"{PARTIALS}#yaml-panel", context, status=404)
    context["source"] = f"{res.kind}/{ns}/{obj_name}"
    context["reload_url"] = request.path
    return render(request, f"{PARTIALS}#yaml-panel", context)


# --- actions ----------------------------------------------------------------------------------


@cluster_action
def settle(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """ "Until settled": pause, then a worker advances the clock until every controller is idle
    and tells every open dashboard (a toast) how long it took."""
    services.cluster_settle(cluster=cluster)
    return toast(request, "paused; advancing until every controller is idle…")


@cluster_action
def kubeconfig_download(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """A kubeconfig for this cluster with a fresh token in the asker's name, as a file: only
    who may change the cluster gets one (a student: their own sandboxes)."""
    actor = access.request_actor(request)
    fallback = f"student-{actor.student_id}" if actor.student_id is not None else "admin"
    user = kubeconfig.user_name(actor.name, fallback) if actor.name else fallback
    text = services.kubeconfig_issue(cluster=cluster, user=user)
    response = HttpResponse(text, content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{cluster.name}.kubeconfig"'
    response["Cache-Control"] = "no-store"  # it holds a bearer token
    return response


@cluster_action
def clock(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    form = forms.ClockForm(request.POST)
    if not form.is_valid():
        return form_error_toast(request, form)
    data = form.cleaned_data
    if data["step"] is not None:
        if not cluster.paused:
            return toast(request, STEP_NEEDS_PAUSE, error=True, status=409)
        services.cluster_step(cluster=cluster, seconds=data["step"])
        return toast(request, f"Stepping {data['step']:g} simulated s")
    cluster = services.cluster_clock_update(
        cluster=cluster, speed=data["speed"], paused=data["paused"], profile=data["profile"] or None
    )
    state = "paused" if cluster.paused else "running"
    return toast(request, f"Clock {state} at {cluster.speed:g}x, {cluster.profile} timings")


@require_GET
def timings_panel(request: HttpRequest, name: str) -> HttpResponse:
    cluster = _cluster_or_404(request, name)
    return render(request, f"{PARTIALS}#timings", _timings_context(cluster))


def _timings_context(cluster: Cluster, form: forms.TimingsForm | None = None) -> dict:
    rows = selectors.timings_table(cluster=cluster)
    if form is not None and form.is_bound:  # keep what the user typed next to its error
        for row in rows:
            row["value"] = form.data.get(row["key"], row["value"])
            row["error"] = " ".join(form.errors.get(row["key"], []))
    overridden = sum(1 for row in rows if row["overridden"])
    return {
        "cluster_name": cluster.name,
        "timings": rows,
        "overridden": overridden,
        "profile": cluster.profile,
        "timings_key": timings.signature(cluster.profile, cluster.timings),
    }


@cluster_action
def timings_update(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """Apply the timing overrides (or reset to the profile); answers a toast and the panel."""
    form = forms.TimingsForm(request.POST)
    if form.is_valid():
        try:
            cluster = services.cluster_clock_update(
                cluster=cluster, timing_overrides=form.overrides(cluster.profile)
            )
        except services.ServiceError as err:
            for cause in err.causes:
                if cause.get("field") in form.fields:
                    form.add_error(cause["field"], cause["message"])
            response = form_error_toast(request, form, "Timings not applied")
        else:
            n = len(cluster.timings)
            message = f"Timings: {cluster.profile} profile" + (
                f" with {n} override{'s' if n != 1 else ''}" if n else ", no overrides"
            )
            response = toast(request, message)
            form = None
    else:
        response = form_error_toast(request, form)
    panel = render(request, f"{PARTIALS}#timings", {**_timings_context(cluster, form), "oob": True})
    response.content += panel.content
    return response


@cluster_action
def deployment_create(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    form = forms.DeploymentCreateForm(request.POST)
    if not form.is_valid():
        return form_error_toast(request, form)
    data = form.cleaned_data
    try:
        services.deployment_create(
            cluster=cluster,
            name=data["name"],
            image=data["image"],
            replicas=data["replicas"],
            cpu_request=data["cpu_request"] or None,
            memory_request=data["memory_request"] or None,
        )
    except services.ServiceError as err:
        if form.add_service_causes(err.causes):
            return form_error_toast(request, form, message=str(err))
        raise
    return toast(request, f"deployment {data['name']} created with {data['replicas']} replicas")


@cluster_action
def deployment_scale(
    request: HttpRequest, cluster: Cluster, namespace: str, deployment: str
) -> HttpResponse:
    form = forms.ScaleForm(request.POST)
    if not form.is_valid():
        return form_error_toast(request, form)
    replicas = form.cleaned_data["replicas"]
    services.deployment_scale(
        cluster=cluster, namespace=namespace, name=deployment, replicas=replicas
    )
    return toast(request, f"deployment {deployment} scaled to {replicas}")


@cluster_action
def deployment_delete(
    request: HttpRequest, cluster: Cluster, namespace: str, deployment: str
) -> HttpResponse:
    services.deployment_delete(cluster=cluster, namespace=namespace, name=deployment)
    return toast(request, f"deployment {deployment} deleted")


@cluster_action
def node_add(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    form = forms.NodeAddForm(request.POST)
    if not form.is_valid():
        return form_error_toast(request, form)
    data = form.cleaned_data
    machine = services.node_add(
        cluster=cluster, name=data["name"], cpu=data["cpu"], memory=data["memory"]
    )
    return toast(request, f"{machine.name} added: its kubelet registers the node")


@cluster_action
def node_action(request: HttpRequest, cluster: Cluster, node: str, action: str) -> HttpResponse:
    if action == "drain":
        return _node_drain(request, cluster, node)
    if action not in NODE_ACTIONS:
        return toast(request, f'unknown node action "{action}"', error=True, status=404)
    service_name, kwargs, done = NODE_ACTIONS[action]
    getattr(services, service_name)(cluster=cluster, name=node, **kwargs)
    return toast(request, done.format(node=node))


def _node_drain(request: HttpRequest, cluster: Cluster, node: str) -> HttpResponse:
    """kubectl drain --ignore-daemonsets --delete-emptydir-data, answered in kubectl's lines."""
    result = services.node_drain(cluster=cluster, name=node)
    if not result.ok:
        return toast(
            request, f"{node} cordoned, not drained", error=True, details=result.lines, status=422
        )
    return toast(request, f"draining {node}", details=result.lines)


@cluster_action
def pod_delete(request: HttpRequest, cluster: Cluster, namespace: str, pod: str) -> HttpResponse:
    remaining = services.pod_delete(cluster=cluster, namespace=namespace, name=pod)
    return toast(request, f"pod {pod} {'is terminating' if remaining else 'deleted'}")


@cluster_action
def pod_behavior(request: HttpRequest, cluster: Cluster, namespace: str, pod: str) -> HttpResponse:
    """Stage the simulated application's behaviour on a pod or on its Deployment's template."""
    form = forms.BehaviorForm(request.POST)
    if not form.is_valid():
        return form_error_toast(request, form)
    behavior = form.cleaned_data["behavior"] or "healthy"
    if form.cleaned_data.get("target") == "deployment":
        info = selectors.pod_behavior_form(cluster=cluster, namespace=namespace, name=pod)
        if not info or not info["deployment"]:
            return toast(request, f"pod {pod} has no Deployment", error=True, status=422)
        services.deployment_behavior_set(
            cluster=cluster,
            namespace=namespace,
            name=info["deployment"],
            behavior=form.cleaned_data["behavior"],
        )
        return toast(request, f"deployment {info['deployment']}: {behavior} (rolling out)")
    services.pod_behavior_set(
        cluster=cluster, namespace=namespace, name=pod, behavior=form.cleaned_data["behavior"]
    )
    return toast(request, f"pod {pod}: {behavior}")


@cluster_action
def yaml_apply(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """Apply the panel's manifest like ``kubectl apply -f -``: one result line per document.
    An object the panel was opened on comes back as stored, so it can be edited again."""
    form = forms.YamlApplyForm(request.POST)
    if not form.is_valid():
        return form_error_toast(request, form)
    data = form.cleaned_data
    report = manifests.manifest_apply(
        cluster=cluster,
        text=data["manifest"],
        actor=USER,
        dry_run=data["dry_run"],
        server_side=data["server_side"],
        force=data["force"],
    )
    context = {"report": report, "options": data, "field_manager": manifests.FIELD_MANAGER}
    kind, _, rest = data["source"].partition("/")
    namespace, _, obj_name = rest.partition("/")
    if not report.dry_run and not report.failed and report.applied == [(kind, namespace, obj_name)]:
        with suppress(KubeObject.DoesNotExist):  # it may be gone already (finalizers removed)
            context["editor_text"] = selectors.object_yaml(
                cluster=cluster, kind=kind, namespace=namespace, name=obj_name
            )
    return render(request, f"{PARTIALS}#yaml-result", context)


#: action in the URL -> (service name, toast text)
COMPONENT_ACTIONS = {
    "stop": ("component_stop", "{component} stopped"),
    "start": ("component_start", "{component} started"),
}


@cluster_action
def component_action(
    request: HttpRequest, cluster: Cluster, component: str, action: str
) -> HttpResponse:
    """Stop or start a control-plane component (the service validates the name)."""
    if action not in COMPONENT_ACTIONS:
        return toast(request, f'unknown component action "{action}"', error=True, status=404)
    service, done = COMPONENT_ACTIONS[action]
    getattr(services, service)(cluster=cluster, name=component)
    return toast(request, done.format(component=component))
