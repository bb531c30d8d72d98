"""Pure cluster DNS: a pod's resolver configuration as the kubelet writes it, and how its
resolver walks the search list against the records CoreDNS serves (docs/dns.md).

- :func:`pod_dns_config` is the kubelet's ``resolv.conf`` for the pod
  (``pkg/kubelet/network/dns``): with ``dnsPolicy: ClusterFirst`` (the default)
  ``nameserver <kube-dns ClusterIP>``, ``search <ns>.svc.<domain> svc.<domain> <domain>`` and
  ``options ndots:5``; ``Default`` takes the node's resolver; ``None`` only ``dnsConfig``;
  ``ClusterFirst`` with ``hostNetwork`` falls back to ``Default`` (``ClusterFirstWithHostNet``
  does not); ``dnsConfig`` nameservers, searches and options are appended/merged.
- :func:`resolve` is glibc's resolver: a name with fewer dots than ``ndots`` is tried with each
  search domain first and then as is; a name with more, as is first; a trailing dot means
  exactly that name. Each query is answered from ``records`` (name -> addresses) or NXDOMAIN.
- :func:`cluster_records` builds the records CoreDNS' kubernetes plugin serves for the
  Services: ``<svc>.<ns>.svc.<domain>`` -> the ClusterIP, or for a headless Service the
  addresses of its ready endpoints (none: NXDOMAIN... CoreDNS answers NODATA, same effect).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from cluster.networking import CLUSTER_DOMAIN

NODE_NAMESERVER = "172.18.0.1"  # the nodes' resolver (the container network's gateway in kind)
NDOTS = 5


@dataclass(frozen=True)
class DnsConfig:
    """A pod's resolv.conf."""

    nameservers: tuple[str, ...]
    searches: tuple[str, ...]
    options: tuple[str, ...] = ()
    policy: str = "ClusterFirst"

    @property
    def ndots(self) -> int:
        for option in self.options:
            if option.startswith("ndots:"):
                return int(option.partition(":")[2] or NDOTS)
        return 1  # glibc's default when resolv.conf does not say

    def lines(self) -> list[str]:
        out = [f"search {' '.join(self.searches)}"] if self.searches else []
        out += [f"nameserver {ns}" for ns in self.nameservers]
        if self.options:
            out.append(f"options {' '.join(self.options)}")
        return out


def pod_dns_config(
    pod: dict, *, dns_ip: str, cluster_domain: str = CLUSTER_DOMAIN
) -> DnsConfig:
    """The resolv.conf the kubelet writes for ``pod``."""
    spec = pod.get("spec") or {}
    namespace = pod["metadata"].get("namespace") or "default"
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    effective = policy
    if policy == "ClusterFirst" and spec.get("hostNetwork"):
        effective = "Default"
    if effective in ("ClusterFirst", "ClusterFirstWithHostNet"):
        nameservers: list[str] = [dns_ip]
        searches = [f"{namespace}.svc.{cluster_domain}", f"svc.{cluster_domain}", cluster_domain]
        options = [f"ndots:{NDOTS}"]
    elif effective == "Default":
        nameservers, searches, options = [NODE_NAMESERVER], [], []
    else:  # None: only dnsConfig
        nameservers, searches, options = [], [], []
    extra = spec.get("dnsConfig") or {}
    nameservers += [n for n in extra.get("nameservers") or [] if n not in nameservers]
    searches += [s for s in extra.get("searches") or [] if s not in searches]
    for option in extra.get("options") or []:
        name, value = option.get("name", ""), option.get("value")
        text = f"{name}:{value}" if value is not None else name
        options = [o for o in options if o.partition(":")[0] != name] + [text]
    return DnsConfig(tuple(nameservers), tuple(searches), tuple(options), policy)


@dataclass(frozen=True)
class Query:
    name: str
    answer: tuple[str, ...]  # () is NXDOMAIN


@dataclass(frozen=True)
class Resolution:
    """The queries the resolver made, in order, and the name that answered (if any)."""

    queries: tuple[Query, ...]
    name: str = ""
    addresses: tuple[str, ...] = field(default=())

    @property
    def found(self) -> bool:
        return bool(self.addresses)


def candidates(name: str, config: DnsConfig) -> tuple[str, ...]:
    """The names the resolver tries for ``name``, in order."""
    if name.endswith("."):
        return (name.rstrip("."),)
    expanded = tuple(f"{name}.{s}" for s in config.searches)
    if name.count(".") >= config.ndots:
        return (name, *expanded)
    return (*expanded, name)


def resolve(name: str, config: DnsConfig, records: dict[str, tuple[str, ...]]) -> Resolution:
    """Walk the candidates until one has an answer (names compare case-insensitively)."""
    queries = []
    for candidate in candidates(name.lower(), config):
        answer = tuple(records.get(candidate, ()))
        queries.append(Query(candidate, answer))
        if answer:
            return Resolution(tuple(queries), candidate, answer)
    return Resolution(tuple(queries))


def cluster_records(
    services: Iterable[tuple[str, str, str, tuple[str, ...]]],
    cluster_domain: str = CLUSTER_DOMAIN,
) -> dict[str, tuple[str, ...]]:
    """``(namespace, name, clusterIP, ready endpoint addresses)`` -> CoreDNS' A records."""
    records: dict[str, tuple[str, ...]] = {}
    for namespace, name, cluster_ip, ready in services:
        fqdn = f"{name}.{namespace}.svc.{cluster_domain}"
        if cluster_ip and cluster_ip != "None":
            records[fqdn] = (cluster_ip,)
        elif ready:
            records[fqdn] = tuple(ready)
    return records
