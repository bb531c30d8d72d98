"""The traffic generator's sampling pass: simulated clients sending each Service's requests
through the nodes' kube-proxies (docs/traffic.md).

Not a Kubernetes controller: it stands for the outside world (clients behind a NodePort or a
load balancer) and for the data plane each node's kube-proxy programs (k8s-reference §6:
kube-proxy watches Services and EndpointSlices and writes iptables or IPVS rules; the kernel
picks an endpoint per connection, uniformly at random for iptables, in turn for IPVS; a Service
with no usable endpoint is REJECTed; a stopped kube-proxy leaves its last rules in place).

Every ``SAMPLE_PERIOD`` simulated seconds, and only while some generator is on (one Wakeup,
set again at each pass), it reads the generators, the machines, the rules each node's kernel
has (the current slices for a running kube-proxy, the frozen copy for a stopped one, nothing
for a machine that is down) and the pods those rules point at, lets ``traffic.plan_sample``
split the window, and records the sample (which also goes to the browsers). The IPVS
round-robin position per node and Service lives in the controller's state. Each pod served
also gets the CPU it burns at that rate (``metrics_selectors.cpu_at_rates``, the usage model
``kubectl top`` and the HPA read), so the diagram shows rate and CPU side by side.
"""

from __future__ import annotations

from collections.abc import Iterable

from cluster import metrics_selectors, traffic, traffic_selectors
from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change
from cluster.services.traffic import SAMPLE_KEY, SAMPLER, traffic_sample_record

RR_STATE = "ipvs_rr"


class TrafficGenerator(Controller):
    name = SAMPLER
    component = "traffic"  # not a control-plane component: never stopped with one
    needs_api = False  # kube-proxy's rules keep forwarding while the API server is down
    watches = ()

    def keys_for(self, change: Change) -> Iterable[str]:
        return ()

    def all_keys(self, ctx: SyncContext) -> Iterable[str]:
        return (SAMPLE_KEY,) if traffic_selectors.generators(cluster=ctx.cluster) else ()

    def sync(self, ctx: SyncContext, key: str) -> None:
        cluster = ctx.cluster
        gens = traffic_selectors.generators(cluster=cluster)
        if not gens:
            last = traffic_selectors.latest_sample(cluster=cluster)
            if last and last.get("services"):
                # Say once that traffic stopped, so rates and charts drop to nothing.
                data = empty_sample(ctx.now, cluster.proxy_mode)
                traffic_sample_record(cluster=cluster, sim_time=ctx.now, data=data)
            return
        machines = {m.name: m for m in ctx.objects("Machine")}
        nodes = set(ctx.objects("Node").values_list("name", flat=True))
        entry = sorted(
            name
            for name, m in machines.items()
            if name in nodes and traffic_selectors.machine_up(m)
        )
        current = traffic_selectors.service_rules(
            cluster=cluster, services=[(ns, name) for ns, name, _ in gens]
        )
        rules_by_node = {
            name: traffic_selectors.node_rules(machines[name], current) for name in entry
        }
        inputs = [
            traffic.ServiceInput(
                key=f"{ns}/{name}",
                rps=rps,
                rules={
                    node: rules.get(f"{ns}/{name}", ()) for node, rules in rules_by_node.items()
                },
            )
            for ns, name, rps in gens
        ]
        pod_keys = {e.pod for s in inputs for eps in s.rules.values() for e in eps}
        pods = traffic_selectors.pod_states(cluster=cluster, keys=pod_keys, machines=machines)
        # IPVS' position per (node, Service) in use; routes that went away are forgotten.
        live = {f"{node}|{s.key}" for s in inputs for node in entry}
        rr_state = {k: v for k, v in ctx.state.get(RR_STATE, {}).items() if k in live}
        ctx.state[RR_STATE] = rr_state
        samples, per_pod = traffic.plan_sample(
            mode=cluster.proxy_mode,  # type: ignore[arg-type]
            window=traffic.SAMPLE_PERIOD,
            services=inputs,
            entry_nodes=entry,
            pods=pods,
            rng=ctx.rng,
            rr_state=rr_state,
        )
        data = empty_sample(ctx.now, cluster.proxy_mode)
        data["services"] = {
            s.key: {
                "rps": s.rps,
                "requests": s.requests,
                "ok": s.ok,
                "errors": s.errors,
                "errorRate": round(sum(s.errors.values()) / traffic.SAMPLE_PERIOD, 2),
                "okRate": round(s.ok / traffic.SAMPLE_PERIOD, 2),
                "p50": s.p50_ms,
                "p95": s.p95_ms,
                "nodes": s.nodes,
                "stale": [
                    n for n in s.nodes if not traffic_selectors.kube_proxy_running(machines[n])
                ],
            }
            for s in samples
        }
        cpu = metrics_selectors.cpu_at_rates(
            cluster=cluster, rates={pod: entry["rps"] for pod, entry in per_pod.items()}
        )
        for pod, millis in cpu.items():
            per_pod[pod]["cpuMillis"] = millis
        data["pods"] = per_pod
        traffic_sample_record(cluster=cluster, sim_time=ctx.now, data=data)
        ctx.reschedule(SAMPLE_KEY, ctx.now + traffic.SAMPLE_PERIOD)


def empty_sample(now: float, mode: str) -> dict:
    return {"t": now, "window": traffic.SAMPLE_PERIOD, "mode": mode, "services": {}, "pods": {}}
