"""Traffic and kube-proxy writes (docs/traffic.md): the cluster's proxy mode, kube-proxy
stop/start per node, a Service's traffic generator, and the samples the sampling pass records.

kube-proxy is a process on each node, like the kubelet (k8s-reference §6): stopping it removes
no rule from the kernel. The rules it had programmed stay in force, stale, until it starts again
and resyncs from the EndpointSlices; so stopping stores that one copy on the Machine
(simulator-only state), and starting drops it. Nothing is copied per tick.
"""

from __future__ import annotations

from django.db import transaction

from cluster import broadcast, traffic, traffic_selectors
from cluster.models import Cluster, KubeObject, TrafficSample, Wakeup
from cluster.services import store
from cluster.services.errors import Invalid, not_found
from cluster.services.nodes import POWERED_OFF, machine_get

PROXY_MODES = ("iptables", "ipvs")
#: Samples kept per cluster (the charts show the newest ``CHART_SAMPLES``).
RETENTION = 60
#: The sampling pass's Wakeup (controller, key).
SAMPLER = "traffic-generator"
SAMPLE_KEY = "sample"

ERR_MODE = 'unknown proxy mode "{mode}": use iptables or ipvs'
ERR_RATE = "requests per second must be a number between 0 and {max:g}"
KUBE_PROXY_ALREADY_STOPPED = "kube-proxy on {name} is already stopped"
KUBE_PROXY_ALREADY_RUNNING = "kube-proxy on {name} is already running"


def _wake_sampler(cluster: Cluster) -> None:
    """Make sure the sampling pass runs one period from now (an earlier one stays)."""
    due = cluster.sim_now + traffic.SAMPLE_PERIOD
    Wakeup.objects.get_or_create(
        cluster=cluster, controller=SAMPLER, key=SAMPLE_KEY, defaults={"due": due}
    )
    store.wake_controllers(cluster)


def cluster_proxy_mode_set(*, cluster: Cluster, mode: str, actor: str = "user") -> Cluster:
    """Switch every node's kube-proxy to ``mode`` (``--proxy-mode``): iptables picks an
    endpoint at random per connection, IPVS in turn."""
    if mode not in PROXY_MODES:
        raise Invalid(ERR_MODE.format(mode=mode))
    with transaction.atomic():
        Cluster.objects.filter(pk=cluster.pk).update(proxy_mode=mode)
        cluster.refresh_from_db()
        broadcast.send_clock(cluster)
    return cluster


def parse_rate(value: object) -> float:
    """A generator rate from a form or a caller, or Invalid."""
    try:
        rate = float(str(value).strip())
    except (TypeError, ValueError):
        raise Invalid(ERR_RATE.format(max=traffic.MAX_RPS)) from None
    if not 0 <= rate <= traffic.MAX_RPS or rate != rate:  # noqa: PLR0124 - NaN check
        raise Invalid(ERR_RATE.format(max=traffic.MAX_RPS))
    return rate


def service_traffic_set(
    *, cluster: Cluster, namespace: str, name: str, rps: object
) -> KubeObject:
    """Set a Service's traffic generator to ``rps`` requests per second (0 turns it off). The
    rate is simulator-only state (the API never serves it); the sampling pass picks it up."""
    rate = parse_rate(rps)
    with transaction.atomic():
        obj = KubeObject.objects.filter(
            cluster=cluster, kind="Service", namespace=namespace, name=name
        ).first()
        if obj is None:
            raise not_found("Service", name)
        obj.cluster = cluster
        if rate:
            obj.sim[traffic_selectors.RATE_KEY] = rate
        else:
            obj.sim.pop(traffic_selectors.RATE_KEY, None)
        store.object_sim_update(obj=obj)
        _wake_sampler(cluster)
    return obj


def _set_kube_proxy(*, cluster: Cluster, name: str, running: bool, actor: str) -> KubeObject:
    with transaction.atomic():
        machine = machine_get(cluster=cluster, name=name)
        if not machine.spec.get("powered"):
            raise Invalid(POWERED_OFF.format(name=name))
        if traffic_selectors.kube_proxy_running(machine) == running:
            already = KUBE_PROXY_ALREADY_RUNNING if running else KUBE_PROXY_ALREADY_STOPPED
            raise Invalid(already.format(name=name))
        machine.spec["kubeProxy"] = running
        if running:
            machine.sim.pop(traffic_selectors.RULES_KEY, None)
            machine.sim.pop(traffic_selectors.RULES_BOOT_KEY, None)
        else:
            machine.sim[traffic_selectors.RULES_KEY] = traffic_selectors.frozen_rules(
                cluster=cluster
            )
            machine.sim[traffic_selectors.RULES_BOOT_KEY] = machine.sim.get("boot_id")
        return store.object_update(obj=machine, actor=actor, spec_changed=True)


def node_kube_proxy_stop(*, cluster: Cluster, name: str, actor: str = "user") -> KubeObject:
    """systemctl stop kube-proxy: the node's rules stay as they are (stale) until it starts."""
    return _set_kube_proxy(cluster=cluster, name=name, running=False, actor=actor)


def node_kube_proxy_start(*, cluster: Cluster, name: str, actor: str = "user") -> KubeObject:
    """systemctl start kube-proxy: it resyncs its rules from the EndpointSlices at once."""
    return _set_kube_proxy(cluster=cluster, name=name, running=True, actor=actor)


def traffic_sample_record(*, cluster: Cluster, sim_time: float, data: dict) -> TrafficSample:
    """Store one sample, drop the ones past ``RETENTION``, and push it to the browsers once
    the transaction commits."""
    sample = TrafficSample.objects.create(cluster=cluster, sim_time=sim_time, data=data)
    old = list(
        TrafficSample.objects.filter(cluster=cluster)
        .order_by("-sim_time", "-pk")
        .values_list("pk", flat=True)[RETENTION:]
    )
    if old:
        TrafficSample.objects.filter(pk__in=old).delete()
    broadcast.send_traffic(cluster.pk, data)
    return sample
