"""Cluster networking arithmetic, pure: addresses, ports, DNS names and kube-proxy's choice.

What it models (see ../shared/k8s-reference.md §6):

- node-ipam's range allocator: each node gets the next free /24 of the cluster CIDR
  (10.244.0.0/16) and, dual-stack, the next free /64 of fd00:10:244::/56;
- the CNI's host-local IPAM: pod IPs from the node's range, after the gateway (.1), in order
  after the last one handed out;
- kube-apiserver's Service IP allocator: ``kubernetes`` takes the first address; dynamic
  addresses are drawn at random, preferring the upper band of the range (KEP-3070), and a
  requested address is checked with the apiserver's wording; NodePorts the same way (KEP-3668);
- cluster DNS names; and the endpoint a connection reaches through kube-proxy, per mode.

No clock and no global random: callers pass ``rng`` (a ``random.Random``) and state.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

CLUSTER_CIDR_V4 = "10.244.0.0/16"
NODE_CIDR_MASK_V4 = 24
CLUSTER_CIDR_V6 = "fd00:10:244::/56"
NODE_CIDR_MASK_V6 = 64
SERVICE_CIDR_V4 = "10.96.0.0/12"
SERVICE_CIDR_V6 = "fd00:10:96::/112"
NODE_PORT_RANGE = (30000, 32767)  # --service-node-port-range
CLUSTER_DOMAIN = "cluster.local"
#: The simulated cloud's pool of load-balancer addresses (TEST-NET-3, RFC 5737: never routed).
LOAD_BALANCER_POOL = "203.0.113.0/24"

# Texts as the components word them (tests assert them).
ERR_NO_NODE_CIDR = (
    "CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range"
)
ERR_POD_RANGE_FULL = "no IP addresses available in range set: {first}-{last}"
ERR_IP_OUT_OF_RANGE = (
    "failed to allocate IP {ip}: provided IP is not in the valid range. "
    "The range of valid IPs is {cidr}"
)
ERR_IP_ALLOCATED = "failed to allocate IP {ip}: provided IP is already allocated"
ERR_SERVICE_RANGE_FULL = "failed to allocate a serviceIP: range is full"
ERR_PORT_OUT_OF_RANGE = (
    "provided port is not in the valid range. The range of valid ports is {low}-{high}"
)
ERR_PORT_ALLOCATED = "provided port is already allocated"
ERR_PORT_RANGE_FULL = "range is full"
ERR_LB_POOL_FULL = "no free address left in the load-balancer pool {pool}"

ProxyMode = Literal["iptables", "ipvs"]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


IPV4 = "IPv4"
IPV6 = "IPv6"
#: The IP families a cluster is configured for, primary first (``--service-cluster-ip-range``
#: and ``--cluster-cidr`` list IPv4 first on a dual-stack cluster, as kubeadm and kind do).
SINGLE_STACK_FAMILIES = (IPV4,)
DUAL_STACK_FAMILIES = (IPV4, IPV6)
SERVICE_CIDRS = {IPV4: SERVICE_CIDR_V4, IPV6: SERVICE_CIDR_V6}


def cluster_families(*, dual_stack: bool) -> tuple[str, ...]:
    return DUAL_STACK_FAMILIES if dual_stack else SINGLE_STACK_FAMILIES


def family_of(ip: str) -> str:
    """``IPv4`` or ``IPv6`` for an address (``ValueError`` when it is not one)."""
    return IPV6 if ipaddress.ip_address(ip).version == 6 else IPV4


def other_family(family: str) -> str:
    return IPV6 if family == IPV4 else IPV4


def ip_of_family(ips: Iterable[str], family: str) -> str | None:
    """The first address of ``family`` among ``ips`` (a pod's ``status.podIPs``), or None."""
    for ip in ips:
        try:
            if family_of(ip) == family:
                return ip
        except ValueError:
            continue
    return None


class AllocationError(ValueError):
    """An address or port could not be allocated; ``str()`` is the component's message."""


# --- node pod CIDRs and pod IPs -------------------------------------------------------------


def allocate_node_cidr(*, cluster_cidr: str, mask: int, used: Iterable[str]) -> str:
    """The first free ``/mask`` subnet of ``cluster_cidr`` (node-ipam's range allocator scans
    the subnets in order; a released subnet is reused). Raises ``AllocationError`` with the
    controller's ``CIDRNotAvailable`` text when the range is exhausted."""
    taken = {ipaddress.ip_network(c) for c in used}
    for subnet in ipaddress.ip_network(cluster_cidr).subnets(new_prefix=mask):
        if subnet not in taken:
            return str(subnet)
    raise AllocationError(ERR_NO_NODE_CIDR)


def node_pod_cidrs(
    *, used_v4: Iterable[str], used_v6: Iterable[str] = (), dual_stack: bool = False
) -> tuple[str, ...]:
    """A node's ``spec.podCIDRs``: IPv4 first, then IPv6 when the cluster is dual-stack."""
    cidrs = [allocate_node_cidr(cluster_cidr=CLUSTER_CIDR_V4, mask=NODE_CIDR_MASK_V4, used=used_v4)]
    if dual_stack:
        cidrs.append(
            allocate_node_cidr(cluster_cidr=CLUSTER_CIDR_V6, mask=NODE_CIDR_MASK_V6, used=used_v6)
        )
    return tuple(cidrs)


def _pod_range(network: Network) -> tuple[Address, Address]:
    # host-local's default range: network+1 .. broadcast-1; the bridge (gateway) takes .1.
    first = network.network_address + 2
    last = network.broadcast_address - 1 if network.version == 4 else network.broadcast_address
    return first, last


def allocate_pod_ip(*, node_cidr: str, used: Iterable[str], last: str | None = None) -> str:
    """The next free pod IP in the node's range after ``last`` (the previous one handed out),
    wrapping around, as host-local IPAM does: a deleted pod's IP is not reused at once. The
    gateway (.1), the network and (IPv4) broadcast addresses are never given out."""
    network = ipaddress.ip_network(node_cidr)
    first, final = _pod_range(network)
    taken = {ipaddress.ip_address(a) for a in used}
    span = int(final) - int(first) + 1
    start = 0
    if last is not None:
        previous = ipaddress.ip_address(last)
        if first <= previous <= final:
            start = int(previous) - int(first) + 1
    # A /64 is too big to scan; the used set is small, so stepping past it ends quickly.
    for step in range(min(span, len(taken) + 1)):
        candidate = first + (start + step) % span
        if candidate not in taken:
            return str(candidate)
    raise AllocationError(ERR_POD_RANGE_FULL.format(first=first, last=final))


# --- Service ClusterIPs and NodePorts -------------------------------------------------------


def _band_offset(size: int, *, low: int, high: int, step: int) -> int:
    """KEP-3070/3668 (ipallocator's ``calculateRangeOffset``): the lower
    ``min(max(low, size/step), high)`` values of a range of ``size`` (the whole CIDR, network
    and broadcast included) are kept for static requests; dynamic allocation draws from above
    them first. A range of ``low`` or fewer values has no static band."""
    if size <= low:
        return 0
    return min(max(low, size // step), high)


def _service_range(cidr: str) -> tuple[Network, Address, int]:
    network = ipaddress.ip_network(cidr)
    base = network.network_address + 1
    # IPv4 loses the network and broadcast addresses; IPv6 only the network (subnet-router).
    size = network.num_addresses - (2 if network.version == 4 else 1)
    return network, base, size


def kubernetes_service_ip(service_cidr: str = SERVICE_CIDR_V4) -> str:
    """The ``default/kubernetes`` Service's ClusterIP: the first address of the range."""
    return str(ipaddress.ip_network(service_cidr).network_address + 1)


def dns_service_ip(service_cidr: str = SERVICE_CIDR_V4) -> str:
    """kube-dns' conventional ClusterIP (the tenth address), as kubeadm and kind assign it."""
    return str(ipaddress.ip_network(service_cidr).network_address + 10)


def reserve_cluster_ip(*, service_cidr: str, ip: str, used: Iterable[str]) -> str:
    """Check a requested ``spec.clusterIP`` as the apiserver's allocator does. The message goes
    under ``spec.clusterIPs: Invalid value: []string{"<ip>"}: ...`` in the 422 Status."""
    network, base, size = _service_range(service_cidr)
    address = ipaddress.ip_address(ip)
    if address.version != network.version or not (base <= address < base + size):
        raise AllocationError(ERR_IP_OUT_OF_RANGE.format(ip=ip, cidr=service_cidr))
    if address in {ipaddress.ip_address(u) for u in used}:
        raise AllocationError(ERR_IP_ALLOCATED.format(ip=ip))
    return str(address)


def allocate_cluster_ip(*, service_cidr: str, used: Iterable[str], rng: random.Random) -> str:
    """A random free ClusterIP: from the upper band first, then from the lower band
    (kept for static requests such as the DNS Service's .10)."""
    _, base, size = _service_range(service_cidr)
    taken = {int(ipaddress.ip_address(u)) - int(base) for u in used}
    full = ipaddress.ip_network(service_cidr).num_addresses
    offset = _band_offset(full, low=16, high=256, step=16)
    for low, high in ((offset, size), (0, offset)):
        index = _random_free(low, high, taken, rng)
        if index is not None:
            return str(base + index)
    raise AllocationError(ERR_SERVICE_RANGE_FULL)


def _random_free(low: int, high: int, taken: set[int], rng: random.Random) -> int | None:
    """A free value in [low, high): from a random start, the first free one scanning upwards
    with wrap, as the bitmap allocator's random-scan strategy does."""
    span = high - low
    if span <= 0:
        return None
    start = rng.randrange(span)
    for step in range(min(span, len(taken) + 1)):
        value = low + (start + step) % span
        if value not in taken:
            return value
    return None


def reserve_node_port(
    *, port: int, used: Iterable[int], port_range: tuple[int, int] = NODE_PORT_RANGE
) -> int:
    """Check a requested ``nodePort``; the message goes under ``spec.ports[i].nodePort:
    Invalid value: <port>: ...``."""
    low, high = port_range
    if not low <= port <= high:
        raise AllocationError(ERR_PORT_OUT_OF_RANGE.format(low=low, high=high))
    if port in set(used):
        raise AllocationError(ERR_PORT_ALLOCATED)
    return port


def allocate_node_port(
    *, used: Iterable[int], rng: random.Random, port_range: tuple[int, int] = NODE_PORT_RANGE
) -> int:
    """A random free NodePort, from above the static band first (KEP-3668:
    ``min(max(16, size/32), 128)`` ports at the bottom)."""
    low, high = port_range
    size = high - low + 1
    taken = {p - low for p in used}
    offset = _band_offset(size, low=16, high=128, step=32)
    for lo, hi in ((offset, size), (0, offset)):
        index = _random_free(lo, hi, taken, rng)
        if index is not None:
            return low + index
    raise AllocationError(ERR_PORT_RANGE_FULL)


# --- load balancers (the simulated cloud) -------------------------------------------------


def allocate_load_balancer_ip(*, used: Iterable[str], pool: str = LOAD_BALANCER_POOL) -> str:
    """The lowest free address of the cloud's pool (.1 up to the last before broadcast): a
    released address is the first handed out again. Raises ``AllocationError`` when the pool is
    exhausted (the service controller then records ``SyncLoadBalancerFailed``)."""
    taken = {ipaddress.ip_address(u) for u in used}
    for address in ipaddress.ip_network(pool).hosts():
        if address not in taken:
            return str(address)
    raise AllocationError(ERR_LB_POOL_FULL.format(pool=pool))


# --- DNS ------------------------------------------------------------------------------------


def service_dns_name(name: str, namespace: str, cluster_domain: str = CLUSTER_DOMAIN) -> str:
    """A Service's A/AAAA record: ``<svc>.<ns>.svc.<cluster domain>``."""
    return f"{name}.{namespace}.svc.{cluster_domain}"


def dns_search_names(
    name: str, client_namespace: str, cluster_domain: str = CLUSTER_DOMAIN
) -> tuple[str, ...]:
    """The names a pod's resolver tries for ``name``, from its ``search`` list
    (``<ns>.svc.<domain> svc.<domain> <domain>``, ndots 5): so ``web`` finds ``web`` in the
    client's namespace and ``web.shop`` finds it in ``shop``."""
    if name.endswith("."):
        return (name.rstrip("."),)
    search = (f"{client_namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain)
    expanded = tuple(f"{name}.{suffix}" for suffix in search)
    return (*expanded, name) if name.count(".") < 5 else (name, *expanded)


def resolve_service(
    name: str,
    client_namespace: str,
    services: dict[tuple[str, str], str],
    cluster_domain: str = CLUSTER_DOMAIN,
) -> tuple[str, str] | None:
    """The (namespace, service) a name reaches, or None (NXDOMAIN). ``services`` maps
    (namespace, name) to anything (e.g. the ClusterIP)."""
    known = {service_dns_name(s, ns, cluster_domain): (ns, s) for ns, s in services}
    for candidate in dns_search_names(name, client_namespace, cluster_domain):
        if candidate in known:
            return known[candidate]
    return None


# --- kube-proxy -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One EndpointSlice endpoint (its conditions as the EndpointSlice controller writes them)."""

    address: str
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    pod: str = ""


@dataclass(frozen=True)
class Pick:
    """Where one new connection went, or why it failed."""

    endpoint: Endpoint | None
    explanation: str

    @property
    def rejected(self) -> bool:
        return self.endpoint is None


MSG_NO_ENDPOINTS = "no endpoints: kube-proxy REJECTs the connection (connection refused)"


def usable_endpoints(endpoints: Sequence[Endpoint]) -> tuple[tuple[Endpoint, ...], str]:
    """The endpoints kube-proxy programs for a Service (``CategorizeEndpoints``): the ready
    ones; if there are none, the serving-but-terminating ones (ProxyTerminatingEndpoints, GA
    in 1.28), so a rollout's last old pods still answer while they drain; else nothing."""
    ready = tuple(e for e in endpoints if e.ready)
    if ready:
        return ready, f"{len(ready)} ready endpoint(s)"
    draining = tuple(e for e in endpoints if e.serving and e.terminating)
    if draining:
        return draining, (
            f"no ready endpoints: falling back to {len(draining)} terminating endpoint(s) "
            f"that are still serving"
        )
    return (), MSG_NO_ENDPOINTS


def iptables_probabilities(n: int) -> tuple[float, ...]:
    """The ``-m statistic --mode random --probability p`` of each rule in a KUBE-SVC chain of n
    endpoints: rule i gets 1/(n-i), written with ten decimals; the last rule has no match."""
    return tuple(float(f"{1.0 / (n - i):.10f}") for i in range(n - 1))


def _xt_statistic_threshold(probability: float) -> int:
    """How the probability reaches the kernel: iptables' libxt_statistic stores
    ``lround(p x 2^31)`` and xt_statistic matches when a random 31-bit number is below it."""
    return int(probability * 2**31 + 0.5)


def pick_iptables(endpoints: Sequence[Endpoint], rng: random.Random) -> Pick:
    """Walk the KUBE-SVC chain as netfilter does: each rule draws its own random number and
    jumps to its endpoint's KUBE-SEP chain if the draw is under its probability; the last rule
    always jumps. The product of the misses makes every endpoint equally likely (1/n).
    Endpoints are taken in the order given (kube-proxy writes them in its sorted order)."""
    usable, why = usable_endpoints(endpoints)
    if not usable:
        return Pick(None, why)
    probabilities = iptables_probabilities(len(usable))
    for i, probability in enumerate(probabilities):
        if rng.getrandbits(31) < _xt_statistic_threshold(probability):
            return Pick(
                usable[i],
                f"{why}; iptables rule {i + 1} of {len(usable)} matched "
                f"(probability {probability:.4f}) -> {usable[i].address}",
            )
    last = usable[-1]
    return Pick(last, f"{why}; iptables: the last rule of {len(usable)} matched -> {last.address}")


def pick_ipvs(endpoints: Sequence[Endpoint], last: str | None) -> tuple[Pick, str | None]:
    """IPVS' ``rr`` scheduler: the real server after the one used last, wrapping around; when
    the last one is gone from the list, start again at the head. ``last`` (an address) is the
    Service's scheduler state, passed in and returned."""
    usable, why = usable_endpoints(endpoints)
    if not usable:
        return Pick(None, why), last
    addresses = [e.address for e in usable]
    index = (addresses.index(last) + 1) % len(usable) if last in addresses else 0
    chosen = usable[index]
    return Pick(
        chosen,
        f"{why}; IPVS round robin: real server {index + 1} of {len(usable)} -> {chosen.address}",
    ), chosen.address


def pick_endpoint(
    *, mode: ProxyMode, endpoints: Sequence[Endpoint], rng: random.Random, rr_last: str | None
) -> tuple[Pick, str | None]:
    """One connection through kube-proxy in ``mode``; returns the pick and the IPVS state."""
    if mode == "ipvs":
        return pick_ipvs(endpoints, rr_last)
    return pick_iptables(endpoints, rng), rr_last
