"""The Services panel's HTTP edge (docs/traffic.md): the list of Services with their
endpoints and traffic generators (GET), and its actions: expose a Deployment, delete a Service,
set a generator's rate, switch kube-proxy's mode. Each action answers a toast plus the panel
redrawn out of band. The services are ``cluster.services.networking`` and
``cluster.services.traffic``."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from cluster import rollout_selectors, traffic, traffic_selectors
from cluster.models import Cluster
from cluster.services import networking as net_services
from cluster.services import traffic as traffic_services
from cluster.views import _cluster_or_404, cluster_action, form_error_toast, toast

TEMPLATE = "cluster/services_panel.html"


class ExposeForm(forms.Form):
    deployment = forms.CharField(max_length=253)
    port = forms.IntegerField(min_value=1, max_value=65535, label="Port")
    target_port = forms.CharField(max_length=15, required=False, label="Target port")
    type = forms.ChoiceField(choices=[(t, t) for t in net_services.SERVICE_TYPES], label="Type")
    ip_family_policy = forms.ChoiceField(
        choices=[(p, p) for p in net_services.POLICIES], required=False, label="IP families"
    )

    def clean_target_port(self) -> int | str | None:
        value = self.cleaned_data["target_port"].strip()
        if not value:
            return None
        return int(value) if value.isdigit() else value


class RateForm(forms.Form):
    rps = forms.FloatField(min_value=0, max_value=traffic.MAX_RPS, label="Requests/s")


def _context(cluster: Cluster) -> dict:
    deployments = rollout_selectors.deployment_names(cluster=cluster)
    return {
        "cluster_name": cluster.name,
        "services": traffic_selectors.services_panel(cluster=cluster),
        "proxy": traffic_selectors.proxy_state(cluster=cluster),
        "modes": traffic_services.PROXY_MODES,
        "types": net_services.SERVICE_TYPES,
        "policies": net_services.POLICIES,
        "dual_stack": cluster.dual_stack,
        "deployments": deployments,
        "max_rps": int(traffic.MAX_RPS),
    }


@require_GET
def services_panel(request: HttpRequest, name: str) -> HttpResponse:
    cluster = _cluster_or_404(request, name)
    return render(request, f"{TEMPLATE}#services-panel", _context(cluster))


def _with_panel(request: HttpRequest, response: HttpResponse, cluster: Cluster) -> HttpResponse:
    cluster.refresh_from_db()
    panel = render(request, f"{TEMPLATE}#services-panel", {**_context(cluster), "oob": True})
    response.content += panel.content
    return response


@cluster_action
def service_expose(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    form = ExposeForm(request.POST)
    if not form.is_valid():
        return form_error_toast(request, form)
    data = form.cleaned_data
    namespace, _, deployment = data["deployment"].rpartition("/")
    service = net_services.service_expose_deployment(
        cluster=cluster,
        namespace=namespace or "default",
        deployment=deployment,
        port=data["port"],
        target_port=data["target_port"],
        type=data["type"],
        ip_family_policy=data["ip_family_policy"] or None,
    )
    spec = service.body["spec"]
    addresses = ", ".join(spec.get("clusterIPs") or [spec.get("clusterIP", "")])
    message = f"service/{service.name} exposed: {addresses} port {data['port']}"
    return _with_panel(request, toast(request, message), cluster)


@cluster_action
def service_delete(
    request: HttpRequest, cluster: Cluster, namespace: str, service: str
) -> HttpResponse:
    net_services.service_delete(cluster=cluster, namespace=namespace, name=service)
    return _with_panel(request, toast(request, f'service "{service}" deleted'), cluster)


@cluster_action
def service_traffic(
    request: HttpRequest, cluster: Cluster, namespace: str, service: str
) -> HttpResponse:
    form = RateForm(request.POST)
    if not form.is_valid():
        return form_error_toast(request, form)
    rps = form.cleaned_data["rps"]
    traffic_services.service_traffic_set(
        cluster=cluster, namespace=namespace, name=service, rps=rps
    )
    message = f"traffic to {service}: {rps:g} requests/s" if rps else f"traffic to {service} off"
    return _with_panel(request, toast(request, message), cluster)


@cluster_action
def proxy_mode(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    mode = request.POST.get("mode", "")
    traffic_services.cluster_proxy_mode_set(cluster=cluster, mode=mode)
    words = "random endpoint per connection" if mode == "iptables" else "endpoints in turn"
    return _with_panel(request, toast(request, f"kube-proxy mode: {mode} ({words})"), cluster)
