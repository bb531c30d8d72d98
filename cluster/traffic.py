"""Simulated client traffic through kube-proxy, pure: where a window of requests goes.

What it models (../shared/k8s-reference.md §6, docs/traffic.md):

- an external client (as a NodePort or LoadBalancer client would) sends a Service's requests to
  the cluster's nodes whose machines are up, spread evenly over them;
- each node's kube-proxy sends what enters it to one of the endpoints it has programmed:
  in iptables mode every connection walks the KUBE-SVC chain (rule i matches with probability
  1/(n-i)), so a window of N requests splits as a chain of binomial draws, which is exactly the
  multinomial with equal weights the chain produces; in IPVS mode the ``rr`` scheduler hands
  them out in turn, so the split is even and the remainder continues where the last window
  stopped;
- a request fails when the node has no endpoint for the Service (kube-proxy REJECTs: connection
  refused) or when the chosen pod does not answer (its machine is off or cut off, its container
  is not running, or a stale rule still points at a pod that is gone): a timeout;
- latency: each pod is an M/M/1 queue whose service rate follows its CPU (``CPU_MILLIS_PER_RPS``
  per request/s against its CPU limit, else ``DEFAULT_CPU_MILLIS``: one core), so the
  mean response time is ``BASE_LATENCY_MS / (1 - load)``, capped; a Service's p50/p95 are the
  quantiles of the mixture of its pods' (exponential) response times, weighted by requests.

No clock and no global random: callers pass ``rng`` (a ``random.Random``) and state.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cluster.load import CPU_MILLIS_PER_RPS
from cluster.networking import Endpoint, ProxyMode, usable_endpoints

#: Simulated seconds per traffic sample (the sampling pass's period).
SAMPLE_PERIOD = 5.0
#: The highest rate a generator may be set to (requests per second per Service).
MAX_RPS = 1000.0
#: Response time of an idle pod (milliseconds).
BASE_LATENCY_MS = 5.0
#: The mean response time never exceeds this (an overloaded pod's queue is bounded by timeouts).
LATENCY_CAP_MS = 5000.0
#: CPU a pod can use when it declares neither a limit nor a request (millicores).
DEFAULT_CPU_MILLIS = 1000.0

# Why a request failed (the keys of a sample's ``errors``).
REFUSED = "connection refused: no ready endpoint"
NO_NODE = "connection timed out: no node is up to receive it"
NODE_DOWN = "timeout: the pod's node is down or cut off"
NOT_RUNNING = "timeout: the pod's container is not running"
GONE = "timeout: stale rule to a pod that is gone"


@dataclass(frozen=True)
class PodState:
    """What a request meets at a pod: ``failure`` is None when the pod answers, else why not."""

    name: str
    address: str
    node: str
    cpu_millis: float = DEFAULT_CPU_MILLIS
    failure: str | None = None


@dataclass(frozen=True)
class ServiceInput:
    """One Service with its generator on: ``rules`` is what each entry node's kube-proxy has
    programmed for it (the usable endpoints, in kube-proxy's order)."""

    key: str
    rps: float
    rules: Mapping[str, Sequence[Endpoint]]


@dataclass
class ServiceSample:
    key: str
    rps: float
    requests: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    #: Requests each pod received and answered, by pod name.
    pods: dict[str, int] = field(default_factory=dict)
    #: Per entry node: ``{"ok": {pod: n}, "fail": [[pod or "", reason, n], ...]}``: where its
    #: requests were answered, and where (at which pod, "" for none) and why they failed.
    nodes: dict[str, dict] = field(default_factory=dict)
    p50_ms: float | None = None
    p95_ms: float | None = None


# --- splitting a window of requests ---------------------------------------------------------


def requests_in_window(rps: float, window: float, rng: random.Random) -> int:
    """How many requests a generator at ``rps`` sends in ``window`` seconds: the whole part,
    plus one more with the probability of the fraction (so 0.3 rps still sends some)."""
    expected = max(rps, 0.0) * window
    whole = math.floor(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def split_even(total: int, n: int, offset: int = 0) -> tuple[list[int], int]:
    """``total`` shared over ``n`` in turn, starting at ``offset`` (round robin): everyone gets
    the same share, the remainder goes to the next ones in line. Returns the shares and where
    the next window starts."""
    if n <= 0:
        return [], 0
    base, extra = divmod(total, n)
    shares = [base] * n
    for i in range(extra):
        shares[(offset + i) % n] += 1
    return shares, (offset + extra) % n


def split_iptables(total: int, n: int, rng: random.Random) -> list[int]:
    """``total`` connections through a KUBE-SVC chain of ``n`` rules: rule i takes each
    connection still walking the chain with probability 1/(n-i), so its count is a binomial
    draw over what is left; the last rule takes the rest."""
    shares = []
    left = total
    for i in range(n - 1):
        taken = rng.binomialvariate(left, 1.0 / (n - i)) if left else 0
        shares.append(taken)
        left -= taken
    if n:
        shares.append(left)
    return shares


def split_nodes(total: int, nodes: Sequence[str], rng: random.Random) -> dict[str, int]:
    """The client spreads requests evenly over the nodes, the remainder to random ones."""
    if not nodes:
        return {}
    shares, _ = split_even(total, len(nodes), rng.randrange(len(nodes)))
    return dict(zip(nodes, shares, strict=True))


# --- latency --------------------------------------------------------------------------------


def pod_mean_latency_ms(rps: float, cpu_millis: float) -> float:
    """Mean response time of a pod serving ``rps`` with ``cpu_millis`` of CPU (M/M/1)."""
    capacity = max(cpu_millis, 1.0) / CPU_MILLIS_PER_RPS
    load = rps / capacity
    if load >= 1.0:
        return LATENCY_CAP_MS
    return min(BASE_LATENCY_MS / (1.0 - load), LATENCY_CAP_MS)


def latency_quantile(weighted: Sequence[tuple[float, float]], q: float) -> float | None:
    """The ``q`` quantile of a mixture of exponential response times: ``weighted`` holds
    (weight, mean ms) per pod. None without weight. Found by bisection on the mixture's CDF."""
    total = sum(w for w, _ in weighted)
    if total <= 0:
        return None
    parts = [(w / total, mean) for w, mean in weighted if w > 0]

    def cdf(t: float) -> float:
        return sum(w * (1.0 - math.exp(-t / mean)) for w, mean in parts)

    low, high = 0.0, max(mean for _, mean in parts) * 50
    for _ in range(60):
        mid = (low + high) / 2
        if cdf(mid) < q:
            low = mid
        else:
            high = mid
    return round(high, 1)


# --- a sample -------------------------------------------------------------------------------


def node_rules(endpoints: Sequence[Endpoint]) -> tuple[Endpoint, ...]:
    """What a running kube-proxy programs from a Service's EndpointSlices."""
    return usable_endpoints(endpoints)[0]


def plan_sample(
    *,
    mode: ProxyMode,
    window: float,
    services: Sequence[ServiceInput],
    entry_nodes: Sequence[str],
    pods: Mapping[str, PodState],
    rng: random.Random,
    rr_state: dict[str, int],
) -> tuple[list[ServiceSample], dict[str, dict[str, float]]]:
    """One window of every generator's requests. ``pods`` maps pod key (``ns/name``, as the
    rules' ``Endpoint.pod`` name them) to its state (a key
    absent means the pod is gone); ``rr_state`` (IPVS' position per node and Service) is
    updated in place. Returns the per-Service samples and, per pod name, ``rps`` served and
    ``latencyMs`` (its mean response time)."""
    samples = []
    for svc in services:
        sample = ServiceSample(key=svc.key, rps=svc.rps)
        total = requests_in_window(svc.rps, window, rng)
        sample.requests = total
        if not entry_nodes:
            if total:
                sample.errors[NO_NODE] = total
            samples.append(sample)
            continue
        for node, count in split_nodes(total, entry_nodes, rng).items():
            ok: dict[str, int] = {}
            fail: list[list] = []
            sample.nodes[node] = {"ok": ok, "fail": fail}
            if not count:
                continue
            rules = list(svc.rules.get(node, ()))
            if not rules:
                fail.append(["", REFUSED, count])
                sample.errors[REFUSED] = sample.errors.get(REFUSED, 0) + count
                continue
            if mode == "ipvs":
                state_key = f"{node}|{svc.key}"
                shares, rr_state[state_key] = split_even(
                    count, len(rules), rr_state.get(state_key, 0) % len(rules)
                )
            else:
                shares = split_iptables(count, len(rules), rng)
            for endpoint, share in zip(rules, shares, strict=True):
                if not share:
                    continue
                pod = pods.get(endpoint.pod)
                failure = GONE if pod is None or pod.address != endpoint.address else pod.failure
                if failure:
                    fail.append([endpoint.pod, failure, share])
                    sample.errors[failure] = sample.errors.get(failure, 0) + share
                else:
                    ok[endpoint.pod] = ok.get(endpoint.pod, 0) + share
                    sample.pods[endpoint.pod] = sample.pods.get(endpoint.pod, 0) + share
        sample.ok = sum(sample.pods.values())
        samples.append(sample)
    served: dict[str, float] = {}
    for sample in samples:
        for pod, count in sample.pods.items():
            served[pod] = served.get(pod, 0.0) + count / window
    per_pod = {
        pod: {
            "rps": round(rps, 2),
            "latencyMs": round(pod_mean_latency_ms(rps, pods[pod].cpu_millis), 1),
        }
        for pod, rps in served.items()
    }
    for sample in samples:
        weighted = [(count, per_pod[pod]["latencyMs"]) for pod, count in sample.pods.items()]
        sample.p50_ms = latency_quantile(weighted, 0.5)
        sample.p95_ms = latency_quantile(weighted, 0.95)
    return samples, per_pod
