"""The "send a request" tool's reads: the path one request takes through the cluster, step by
step, for the dashboard (docs/dns.md, docs/ingress.md).

:func:`request_path` (a selector: it reads, never writes) follows one request:

- **from a pod** to a name, ``name:port``, an IP or a URL: the pod's resolver walks its search
  list against kube-dns (:mod:`cluster.dns`; short name, ``svc.ns``, FQDN, headless Service ->
  pod IPs, NXDOMAIN), then the Service's virtual IP and port, the source node's kube-proxy
  choosing an endpoint (:func:`cluster.networking.pick_endpoint`, seeded), and the target pod
  and its node; or the failure where it happens (no such name, port not exposed, no endpoints,
  source pod not running);
- **from outside** to ``http://host/path``: the Ingress address (the ingress-nginx
  controller's LoadBalancer IP), ingress-nginx's routing (:func:`cluster.ingress.route`), the
  backend Service's endpoints and the pod; or an address of a LoadBalancer Service: the cloud
  load balancer, a node's NodePort, that node's kube-proxy, the pod.

Which endpoints a node's kube-proxy uses for a Service is :func:`node_endpoints`, the one seam
where kube-proxy's own per-node rules (stale while it is stopped) can be plugged in.
"""

from __future__ import annotations

import ipaddress
import random
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from cluster import dns, ingress, k8s, networking, traffic_selectors
from cluster.models import Cluster, KubeObject
from cluster.services.ingress import (
    CONTROLLER_NAMESPACE,
    CONTROLLER_SERVICE,
    DNS_SERVICE,
    INGRESS_CONTROLLER,
)

EXTERNAL = "external"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"

ERR_EMPTY_TARGET = "say where to send the request: a name (web, web.shop), name:port or a URL"
ERR_BAD_TARGET = "{target!r} is not a host name, host:port or http:// URL"
ERR_NO_POD = 'pod "{name}" not found in namespace "{namespace}"'


class RequestPathError(ValueError):
    """The tool's input cannot be followed (unknown source pod, unparseable target)."""


@dataclass(frozen=True)
class Step:
    """One hop: a short title, what happens there, the address involved, and ``ok``, ``fail``
    or ``info``."""

    title: str
    detail: str
    address: str = ""
    status: str = "ok"


@dataclass(frozen=True)
class RequestPath:
    steps: tuple[Step, ...]
    ok: bool
    summary: str
    target_pod: str = ""
    target_node: str = ""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


def parse_target(target: str) -> Target:
    """``web``, ``web:8080``, ``web.shop.svc.cluster.local``, ``10.96.0.5:80``,
    ``fd00:10:96::5``, ``[fd00:10:96::5]:80`` or ``http://shop.example.com/cart``."""
    text = target.strip()
    if not text:
        raise RequestPathError(ERR_EMPTY_TARGET)
    if _is_ip(text) and ":" in text:
        text = f"[{text}]"  # a bare IPv6 address: no port in it
    try:
        parts = urlsplit(text if "://" in text else f"http://{text}")
        port = parts.port
    except ValueError:
        raise RequestPathError(ERR_BAD_TARGET.format(target=target)) from None
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or " " in text:
        raise RequestPathError(ERR_BAD_TARGET.format(target=target))
    default = 443 if parts.scheme == "https" else 80
    return Target(parts.scheme, host.lower(), port or default, parts.path or "/")


def hostport(host: str, port: int | str) -> str:
    """``host:port``, an IPv6 address in brackets (``[fd00::5]:80``) as URLs write it."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# --- reads ----------------------------------------------------------------------------------------


def _slices(
    cluster: Cluster, namespace: str, service: str, family: str | None = None
) -> list[dict]:
    """The Service's EndpointSlices; with ``family``, only that address type's (a dual-stack
    Service has a set per family)."""
    bodies = KubeObject.objects.filter(
        cluster=cluster, kind="EndpointSlice", namespace=namespace
    ).values_list("body", flat=True)
    return [
        b
        for b in bodies
        if (b["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL) == service
        and (family is None or (b.get("addressType") or networking.IPV4) == family)
    ]


def node_endpoints(
    *,
    cluster: Cluster,
    node: str | None,
    namespace: str,
    service: str,
    family: str = networking.IPV4,
) -> tuple[tuple[networking.Endpoint, ...], str]:
    """The endpoints ``node``'s kernel sends a Service's new connections to, and why.

    A running kube-proxy's rules are the current EndpointSlices' ready endpoints, else the
    serving terminating ones (``networking.usable_endpoints``); so are ingress-nginx's
    (``node`` None). A stopped kube-proxy leaves the rules it had when it stopped (stale, as
    docs/traffic.md describes), and a machine that is down has none: both come from
    ``traffic_selectors.node_rules``, the same rules the traffic generator sends through."""
    machine = None
    if node is not None:
        machine = KubeObject.objects.filter(cluster=cluster, kind="Machine", name=node).first()
    if machine is not None and not traffic_selectors.machine_up(machine):
        return (), f"{node} is down: its kernel has no rules"
    if machine is not None and not traffic_selectors.kube_proxy_running(machine):
        rules = traffic_selectors.node_rules(machine, {}).get(f"{namespace}/{service}", ())
        stale = tuple(
            networking.Endpoint(
                address=e.address,
                ready=e.ready,
                serving=e.serving,
                terminating=e.terminating,
                pod=e.pod.partition("/")[2] or e.pod,
            )
            for e in rules
        )
        return stale, (
            f"kube-proxy on {node} is stopped: its rules are the ones it had when it stopped "
            f"({len(stale)} endpoint{'s' if len(stale) != 1 else ''}, maybe stale)"
        )
    endpoints = []
    for body in _slices(cluster, namespace, service, family):
        for ep in body.get("endpoints") or []:
            cond = ep.get("conditions") or {}
            endpoints.append(
                networking.Endpoint(
                    address=(ep.get("addresses") or [""])[0],
                    ready=bool(cond.get("ready")),
                    serving=bool(cond.get("serving")),
                    terminating=bool(cond.get("terminating")),
                    pod=(ep.get("targetRef") or {}).get("name", ""),
                )
            )
    endpoints.sort(key=lambda e: e.address)
    return networking.usable_endpoints(endpoints)


def _target_port(cluster: Cluster, namespace: str, service: str, port: dict) -> int | str:
    """The pods' port for a Service port, as the slices resolved it (else the targetPort)."""
    name = port.get("name", "")
    for body in _slices(cluster, namespace, service):
        for p in body.get("ports") or []:
            if p.get("name", "") == name and p.get("port"):
                return int(p["port"])
    return port.get("targetPort", port.get("port"))


def _services(cluster: Cluster) -> list[KubeObject]:
    return list(KubeObject.objects.filter(cluster=cluster, kind="Service").order_by("pk"))


def _pod(cluster: Cluster, **filters: str) -> dict | None:
    obj = KubeObject.objects.filter(cluster=cluster, kind="Pod", **filters).first()
    return obj.body if obj else None


def _pod_by_ip(cluster: Cluster, ip: str) -> dict | None:
    pods = KubeObject.objects.filter(cluster=cluster, kind="Pod").exclude(
        phase__in=k8s.TERMINAL_PHASES
    )
    for body in pods.values_list("body", flat=True):
        status = body.get("status") or {}
        ips = {e.get("ip") for e in status.get("podIPs") or [] if isinstance(e, dict)}
        if ip == status.get("podIP") or ip in ips:
            return body
    return None


def pod_choices(*, cluster: Cluster) -> list[tuple[str, str]]:
    """Running pods with an IP, as ``(namespace/name, label)``, for the tool's picker."""
    out = []
    rows = KubeObject.objects.filter(cluster=cluster, kind="Pod", phase="Running", deleting=False)
    for body in rows.order_by("namespace", "name").values_list("body", flat=True):
        ip = (body.get("status") or {}).get("podIP")
        if not ip:
            continue
        meta = body["metadata"]
        node = (body.get("spec") or {}).get("nodeName", "")
        out.append((f"{meta['namespace']}/{meta['name']}", f"{meta['name']} ({ip}, {node})"))
    return out


# --- the walk -------------------------------------------------------------------------------------


def _seeded(seed: int, *parts: str) -> random.Random:
    return random.Random(zlib.crc32("|".join(parts).encode()) + seed)


def request_path(*, cluster: Cluster, from_pod: str, target: str, seed: int = 0) -> RequestPath:
    """The steps one request takes (see the module docstring). ``from_pod`` is
    ``namespace/name`` (or ``name`` in default), or ``external``. ``seed`` picks the endpoint,
    as kube-proxy's random draw would: the same inputs give the same path."""
    parsed = parse_target(target)
    rng = _seeded(seed, from_pod, target, str(cluster.pk))
    walk = _Walk(cluster, rng)
    if from_pod in ("", EXTERNAL):
        walk.external(parsed)
    else:
        namespace, _, name = from_pod.rpartition("/")
        pod = _pod(cluster, namespace=namespace or "default", name=name)
        if pod is None:
            raise RequestPathError(ERR_NO_POD.format(name=name, namespace=namespace or "default"))
        walk.from_pod(pod, parsed)
    return walk.result()


class _Walk:
    """Collects the steps; the first failure ends the walk."""

    def __init__(self, cluster: Cluster, rng: random.Random) -> None:
        self.cluster = cluster
        self.rng = rng
        self.steps: list[Step] = []
        self.failed = ""
        self.target_pod = ""
        self.target_node = ""

    def add(self, title: str, detail: str, address: str = "", status: str = "ok") -> None:
        self.steps.append(Step(title, detail, address, status))

    def fail(self, title: str, detail: str, address: str = "", *, short: str = "") -> None:
        """End the walk at this step; ``short`` is the summary's wording (else ``detail``)."""
        self.add(title, detail, address, "fail")
        self.failed = f"{short or detail} (step {len(self.steps)}, {title})"

    def result(self) -> RequestPath:
        if self.failed:
            return RequestPath(tuple(self.steps), False, f"Failed: {self.failed}")
        summary = f"Answered by pod {self.target_pod} on {self.target_node}"
        return RequestPath(tuple(self.steps), True, summary, self.target_pod, self.target_node)

    # --- from a pod

    def from_pod(self, pod: dict, target: Target) -> None:
        meta, status = pod["metadata"], pod.get("status") or {}
        node = (pod.get("spec") or {}).get("nodeName", "")
        label = f"{meta['namespace']}/{meta['name']}"
        running = status.get("phase") == "Running" and status.get("podIP")
        if not running or meta.get("deletionTimestamp"):
            state = "being deleted" if meta.get("deletionTimestamp") else status.get("phase", "?")
            self.fail(
                "Client pod",
                f"pod {label} is {state}: it has no running container to send a request from",
            )
            return
        detail = f"{label} on {node} sends to {hostport(target.host, target.port)}"
        self.add("Client pod", detail, status["podIP"])
        ip = self.resolve(pod, target)
        if not ip:
            return
        self.to_address(ip, target, node)

    def resolve(self, pod: dict, target: Target) -> str:
        if _is_ip(target.host):
            self.add("No DNS lookup", f"{target.host} is already an IP address", "", "info")
            return target.host
        services = _services(self.cluster)
        kube_dns = next(
            (s for s in services if (s.namespace, s.name) == ("kube-system", DNS_SERVICE)), None
        )
        dns_ip = networking.dns_service_ip()
        if kube_dns is not None:
            dns_ip = kube_dns.body["spec"].get("clusterIP") or dns_ip
        config = dns.pod_dns_config(pod, dns_ip=dns_ip)
        records = self._records(services) if dns_ip in config.nameservers else {}
        resolution = dns.resolve(target.host, config, records)
        tried = "\n".join(
            f"{q.name} → {', '.join(q.answer)}" if q.answer else f"{q.name} → NXDOMAIN"
            for q in resolution.queries
        )
        conf = f"search {' '.join(config.searches) or '(none)'}, {' '.join(config.options)}"
        server = ", ".join(config.nameservers) or "(none)"
        if kube_dns is None and dns_ip in config.nameservers:
            self.fail("DNS lookup", f"there is no kube-dns Service: nobody answers {server}:53")
            return ""
        if not resolution.found:
            self.fail(
                "DNS lookup",
                f"resolv.conf: {conf}\nasked {server}:53:\n{tried}\n"
                f"No such name: the request never leaves the pod (could not resolve host)",
                f"{server}:53",
                short=f"could not resolve {target.host} (NXDOMAIN)",
            )
            return ""
        addresses = list(resolution.addresses)
        if len(addresses) > 1:
            self.rng.shuffle(addresses)  # CoreDNS' loadbalance plugin rotates the answer
        self.add(
            "DNS lookup",
            f"resolv.conf: {conf}\nasked kube-dns at {server}:53:\n{tried}",
            f"{server}:53",
        )
        dual = next(
            (
                s.body["spec"]["clusterIPs"]
                for s in services
                if len((s.body.get("spec") or {}).get("clusterIPs") or []) == 2
                and s.body["spec"]["clusterIPs"][0] == addresses[0]
            ),
            None,
        )
        if dual:
            record = "AAAA" if networking.family_of(dual[1]) == networking.IPV6 else "A"
            self.add(
                "Dual-stack Service",
                f"{resolution.name} also has an {record} record, {dual[1]}; this client "
                f"connects to the first answer, {dual[0]} (send to {dual[1]} to follow the "
                f"other family's path)",
                dual[1],
                "info",
            )
        if len(addresses) > 1:
            self.add(
                "Headless Service",
                f"{resolution.name} has no virtual IP: DNS answers with the pods' addresses "
                f"({', '.join(resolution.addresses)}); the client takes the first, {addresses[0]}",
                addresses[0],
                "info",
            )
        return addresses[0]

    def _records(self, services: list[KubeObject]) -> dict[str, tuple[str, ...]]:
        entries = []
        for svc in services:
            ip = svc.body.get("spec", {}).get("clusterIP", "")
            ready: tuple[str, ...] = ()
            if ip in ("", "None"):
                usable, _ = node_endpoints(
                    cluster=self.cluster, node=None, namespace=svc.namespace, service=svc.name
                )
                ready = tuple(e.address for e in usable if e.ready)
            entries.append((svc.namespace, svc.name, ip, ready))
        return dns.cluster_records(entries)

    def to_address(self, ip: str, target: Target, node: str) -> None:
        for svc in _services(self.cluster):
            spec = svc.body.get("spec") or {}
            lb_ips = [
                i.get("ip")
                for i in ((svc.body.get("status") or {}).get("loadBalancer") or {}).get("ingress")
                or []
            ]
            if ip == spec.get("clusterIP") or ip in (spec.get("clusterIPs") or []) or ip in lb_ips:
                self.through_service(svc, target.port, node, ip)
                return
        pod = _pod_by_ip(self.cluster, ip)
        if pod is None:
            self.fail(
                "No such address",
                f"no Service or pod has the address {ip}: the connection times out",
                ip,
            )
            return
        self.at_pod(pod, target.port, node)

    def through_service(self, svc: KubeObject, port: int, node: str, ip: str) -> None:
        spec = svc.body.get("spec") or {}
        ports = spec.get("ports") or []
        match = next(
            (p for p in ports if p.get("port") == port and p.get("protocol", "TCP") == "TCP"), None
        )
        label = f"{svc.namespace}/{svc.name}"
        if match is None:
            exposed = ", ".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports)
            self.fail(
                "Service",
                f"Service {label} does not expose port {port} (its ports: {exposed or 'none'}): "
                f"kube-proxy has no rule for {hostport(ip, port)}, so the connection times out",
                f"{hostport(ip, port)}",
            )
            return
        target_port = _target_port(self.cluster, svc.namespace, svc.name, match)
        self.add(
            "Service",
            f"{hostport(ip, port)} is the virtual IP of Service {label}: no pod has this address, "
            f"kube-proxy's rules on {node} rewrite it (port {port} → targetPort {target_port})",
            f"{hostport(ip, port)}",
        )
        family = networking.family_of(ip) if _is_ip(ip) else networking.IPV4
        self.proxy(svc, node, target_port, title=f"kube-proxy on {node}", family=family)

    def proxy(
        self,
        svc: KubeObject,
        node: str | None,
        target_port: int | str,
        *,
        title: str,
        family: str = networking.IPV4,
    ) -> None:
        """Pick an endpoint: kube-proxy's draw on ``node``, or (``node`` None) ingress-nginx's
        own balancing over the same endpoints (its default is round robin; one request is
        shown, so the pick is a seeded draw)."""
        usable, why = node_endpoints(
            cluster=self.cluster,
            node=node,
            namespace=svc.namespace,
            service=svc.name,
            family=family,
        )
        label = f"Service {svc.namespace}/{svc.name}"
        if node is None:
            if not usable:
                message = f"503 Service Temporarily Unavailable: {label} has no endpoints"
                self.fail(title, message)
                return
            endpoint = self.rng.choice(usable)
            detail = (
                f"{why}; ingress-nginx balances round robin: this request → "
                f"{endpoint.address} (pod {endpoint.pod})"
            )
        else:
            pick, _ = networking.pick_endpoint(
                mode=self.cluster.proxy_mode, endpoints=usable, rng=self.rng, rr_last=None
            )
            if pick.endpoint is None:
                # A node that is down or a stale kube-proxy says why; else kube-proxy REJECTs.
                reason = why if why != networking.MSG_NO_ENDPOINTS else pick.explanation
                self.fail(title, f"{label}: {reason}")
                return
            endpoint = pick.endpoint
            detail = (
                f"{why}; {self.cluster.proxy_mode} mode: {pick.explanation} (pod {endpoint.pod})"
            )
        self.add(title, detail, f"{hostport(endpoint.address, target_port)}")
        pod = _pod(self.cluster, namespace=svc.namespace, name=endpoint.pod)
        if pod is None:
            self.fail(
                "Target pod",
                f"pod {endpoint.pod} is gone (a stale rule): nothing answers at "
                f"{endpoint.address}, so the connection times out",
            )
            return
        self.at_pod(pod, target_port, node)

    def at_pod(self, pod: dict, port: int | str, from_node: str | None) -> None:
        meta, status = pod["metadata"], pod.get("status") or {}
        node = (pod.get("spec") or {}).get("nodeName", "")
        label = f"{meta['namespace']}/{meta['name']}"
        address = hostport(status.get("podIP", ""), port)
        if status.get("phase") != "Running":
            phase = status.get("phase")
            self.fail("Target pod", f"pod {label} is {phase}: nothing answers", address)
            return
        if from_node is None:
            hop = ""
        elif from_node == node:
            hop = f"; it stays on {node}"
        else:
            hop = f"; it crosses the pod network from {from_node} to {node}"
        note = "" if k8s.pod_is_ready(pod) else " (not Ready, but still serving while it drains)"
        self.add("Target pod", f"pod {label} on {node} answers{note}{hop}", address)
        self.target_pod, self.target_node = meta["name"], node

    # --- from outside

    def external(self, target: Target) -> None:
        services = _services(self.cluster)
        if _is_ip(target.host):
            for svc in services:
                lb = (svc.body.get("status") or {}).get("loadBalancer") or {}
                if target.host in [i.get("ip") for i in lb.get("ingress") or []]:
                    if (svc.namespace, svc.name) != (CONTROLLER_NAMESPACE, CONTROLLER_SERVICE):
                        self.through_load_balancer(svc, target)
                        return
        wanted = (CONTROLLER_NAMESPACE, CONTROLLER_SERVICE)
        controller = next((s for s in services if (s.namespace, s.name) == wanted), None)
        lb = ((controller.body.get("status") or {}).get("loadBalancer") or {}) if controller else {}
        lb_ips = [i["ip"] for i in lb.get("ingress") or [] if i.get("ip")]
        if controller is None:
            self.fail("Ingress controller", "this cluster has no ingress-nginx controller Service")
            return
        if not lb_ips:
            self.fail(
                "Ingress controller",
                f"Service {CONTROLLER_NAMESPACE}/{CONTROLLER_SERVICE} has EXTERNAL-IP <pending>: "
                "the cloud has not given it an address (is cloud-controller-manager running?)",
            )
            return
        address = lb_ips[0]
        if _is_ip(target.host) and target.host != address:
            self.fail("Client", f"nothing outside the cluster answers at {target.host}")
            return
        how = ""
        if not _is_ip(target.host):
            how = f"{target.host} → {address} (public DNS points it at the Ingress address); "
        url = f"{target.scheme}://{target.host}{target.path}"
        self.add("Client (outside)", f"{how}GET {url}", hostport(address, target.port))
        self.add(
            "Cloud load balancer",
            f"{hostport(address, target.port)} forwards to the ingress-nginx controller "
            f"(Service {CONTROLLER_NAMESPACE}/{CONTROLLER_SERVICE})",
            hostport(address, target.port),
        )
        ours = {
            name
            for name, ctl in KubeObject.objects.filter(
                cluster=self.cluster, kind="IngressClass"
            ).values_list("name", "body__spec__controller")
            if ctl == INGRESS_CONTROLLER
        }
        ingresses = [
            body
            for body in KubeObject.objects.filter(cluster=self.cluster, kind="Ingress")
            .order_by("namespace", "name")
            .values_list("body", flat=True)
            if ingress.ingress_class_of(body) in ours
        ]
        host = target.host if not _is_ip(target.host) else ""
        chosen = ingress.route(ingresses, host=host, path=target.path)
        if not chosen.service:
            self.fail("ingress-nginx", chosen.explanation)
            return
        self.add("ingress-nginx", chosen.explanation)
        svc = next(
            (s for s in services if (s.namespace, s.name) == (chosen.namespace, chosen.service)),
            None,
        )
        if svc is None:
            self.fail(
                "Backend Service",
                f"503 Service Temporarily Unavailable: Service {chosen.namespace}/{chosen.service} "
                "does not exist",
            )
            return
        ports = (svc.body.get("spec") or {}).get("ports") or []
        match = next((p for p in ports if chosen.port in (p.get("port"), p.get("name"))), None)
        if match is None:
            self.fail(
                "Backend Service",
                f"503 Service Temporarily Unavailable: Service {svc.namespace}/{svc.name} has no "
                f"port {chosen.port}",
            )
            return
        target_port = _target_port(self.cluster, svc.namespace, svc.name, match)
        self.add(
            "Backend Service",
            f"ingress-nginx reads the EndpointSlices of {svc.namespace}/{svc.name} itself and "
            f"connects to a pod directly (no ClusterIP, no kube-proxy), port {target_port}",
        )
        self.proxy(svc, None, target_port, title="ingress-nginx upstream")

    def through_load_balancer(self, svc: KubeObject, target: Target) -> None:
        spec = svc.body.get("spec") or {}
        match = next((p for p in spec.get("ports") or [] if p.get("port") == target.port), None)
        label = f"{svc.namespace}/{svc.name}"
        if match is None or not match.get("nodePort"):
            self.fail(
                "Cloud load balancer",
                f"the load balancer of {label} does not listen on port {target.port}",
            )
            return
        nodes = sorted(
            KubeObject.objects.filter(cluster=self.cluster, kind="Node", phase="True").values_list(
                "name", flat=True
            )
        )
        if not nodes:
            self.fail("Cloud load balancer", "no Ready node to send the connection to")
            return
        node = self.rng.choice(nodes)
        url = f"{target.scheme}://{hostport(target.host, target.port)}{target.path}"
        self.add("Client (outside)", f"GET {url}", f"{hostport(target.host, target.port)}")
        self.add(
            "Cloud load balancer",
            f"{hostport(target.host, target.port)} (Service {label}) forwards to a Ready node: "
            f"{node}, NodePort {match['nodePort']}",
            f"{node}:{match['nodePort']}",
        )
        target_port = _target_port(self.cluster, svc.namespace, svc.name, match)
        self.proxy(svc, node, target_port, title=f"kube-proxy on {node}")
