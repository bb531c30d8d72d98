"""Pure Ingress (networking.k8s.io/v1): the apiserver's validation and the routing an ingress
controller does with the rules (docs/ingress.md).

- :func:`ingress_validation_errors` is ``ValidateIngressSpec`` (``pkg/apis/networking/
  validation``): rules or a defaultBackend, hosts (DNS names or one leading ``*.`` wildcard
  label, never an IP), ``pathType`` required and one of Exact/Prefix/ImplementationSpecific,
  absolute paths without ``//``-style segments, a backend that names a Service (a DNS-1035
  label) and a port by name or number (not both), the causes worded as the apiserver words them.
- :func:`route` is what the Ingress spec says a controller does with the rules of every Ingress
  of its class: the request's host picks the rules (a precise host before a wildcard host,
  before rules with no host; a wildcard matches exactly one label); then the longest matching
  path wins, Exact before Prefix on a tie; a Prefix matches whole path elements (``/foo``
  matches ``/foo/bar``, not ``/foobar``; a trailing ``/`` is ignored); ImplementationSpecific
  is treated as Prefix (as ingress-nginx does without regex annotations); no match goes to a
  ``defaultBackend``, else the controller's own 404.

No database, no clock: inputs are Ingress bodies (dicts).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from cluster import k8s

PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"

_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_WILDCARD = re.compile(r"^\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_BAD_PATH_PARTS = ("//", "/./", "/../", "%2f", "%2F")

MSG_NO_RULES = (
    "Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` must be "
    "specified"
)
MSG_HOST_IP = 'Invalid value: "{host}": must be a DNS name, not an IP address'
MSG_WILDCARD = (
    "Invalid value: \"{host}\": a wildcard DNS-1123 subdomain must start with '*.', followed by "
    "a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or "
    "'.' and end with an alphanumeric character (e.g. '*.example.com', regex used for "
    "validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
MSG_PATH_TYPE_REQUIRED = "Required value: pathType must be specified"
MSG_PATH_TYPE = 'Unsupported value: "{value}": supported values: "Exact", '
MSG_PATH_TYPE += '"ImplementationSpecific", "Prefix"'
MSG_ABSOLUTE = 'Invalid value: "{path}": must be an absolute path'
MSG_PATH_PART = "Invalid value: \"{path}\": must not contain '{part}'"
MSG_PATH_SUFFIX = "Invalid value: \"{path}\": cannot end with '{part}'"
MSG_BOTH_BACKENDS = 'Invalid value: "": cannot set both resource and service backends'
MSG_NO_BACKEND = 'Invalid value: "": resource or service backend is required'
MSG_BOTH_PORTS = 'Invalid value: "": cannot set both port name & port number'
MSG_PORT_REQUIRED = "Required value: port name or number is required"
MSG_PORT_RANGE = "Invalid value: {value}: must be between 1 and 65535, inclusive"
MSG_SERVICE_NAME = (
    "Invalid value: \"{name}\": a DNS-1035 label must consist of lower case alphanumeric "
    "characters or '-', start with an alphabetic character, and end with an alphanumeric "
    "character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
    "'[a-z]([-a-z0-9]*[a-z0-9])?')"
)
MSG_PORT_NAME = (
    'Invalid value: "{name}": must contain only alpha-numeric characters (a-z, 0-9), and '
    "hyphens (-)"
)
MSG_CLASS_NAME = 'Invalid value: "{name}": {message}'
MSG_REQUIRED = "Required value"


def _backend_errors(path: str, backend: Any) -> list[dict]:
    """validateIngressBackend."""
    if not isinstance(backend, dict):
        return [{"field": path, "message": MSG_NO_BACKEND}]
    service, resource = backend.get("service"), backend.get("resource")
    if service and resource:
        return [{"field": path, "message": MSG_BOTH_BACKENDS}]
    if resource:
        return []
    if not isinstance(service, dict):
        return [{"field": path, "message": MSG_NO_BACKEND}]
    causes = []
    name = service.get("name") or ""
    if not name:
        causes.append({"field": f"{path}.service.name", "message": MSG_REQUIRED})
    elif len(name) > 63 or not _DNS1035.match(name):
        message = MSG_SERVICE_NAME.format(name=name)
        causes.append({"field": f"{path}.service.name", "message": message})
    port = service.get("port") or {}
    port_name, number = port.get("name") or "", port.get("number") or 0
    if port_name and number:
        causes.append({"field": path, "message": MSG_BOTH_PORTS})
    elif port_name:
        if len(port_name) > 15 or not _PORT_NAME.match(port_name) or "--" in port_name:
            field = f"{path}.service.port.name"
            causes.append({"field": field, "message": MSG_PORT_NAME.format(name=port_name)})
    elif number:
        if not isinstance(number, int) or not 1 <= number <= 65535:
            field = f"{path}.service.port.number"
            causes.append({"field": field, "message": MSG_PORT_RANGE.format(value=number)})
    else:
        causes.append({"field": path, "message": MSG_PORT_REQUIRED})
    return causes


def _host_errors(path: str, host: str) -> list[dict]:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [{"field": path, "message": MSG_HOST_IP.format(host=host)}]
    if "*" in host:
        ok = len(host) <= 253 and _WILDCARD.match(host)
        return [] if ok else [{"field": path, "message": MSG_WILDCARD.format(host=host)}]
    return [
        {"field": path, "message": f'Invalid value: "{host}": {m}'} for m in k8s.name_errors(host)
    ]


def _path_errors(path: str, entry: dict) -> list[dict]:
    causes = []
    path_type = entry.get("pathType")
    value = entry.get("path") or ""
    if not path_type:
        causes.append({"field": f"{path}.pathType", "message": MSG_PATH_TYPE_REQUIRED})
    elif path_type not in PATH_TYPES:
        message = MSG_PATH_TYPE.format(value=path_type)
        causes.append({"field": f"{path}.pathType", "message": message})
    if path_type in ("Exact", "Prefix"):
        if not value.startswith("/"):
            causes.append({"field": f"{path}.path", "message": MSG_ABSOLUTE.format(path=value)})
        for part in _BAD_PATH_PARTS:
            if part in value:
                message = MSG_PATH_PART.format(path=value, part=part)
                causes.append({"field": f"{path}.path", "message": message})
        for suffix in ("/..", "/."):
            if value.endswith(suffix):
                message = MSG_PATH_SUFFIX.format(path=value, part=suffix)
                causes.append({"field": f"{path}.path", "message": message})
    elif value and not value.startswith("/"):
        causes.append({"field": f"{path}.path", "message": MSG_ABSOLUTE.format(path=value)})
    causes += _backend_errors(f"{path}.backend", entry.get("backend"))
    return causes


def ingress_validation_errors(body: dict) -> list[dict]:
    """ValidateIngressSpec's causes (field, message)."""
    spec = body.get("spec")
    if not isinstance(spec, dict):
        spec = {}
    rules = spec.get("rules") or []
    causes: list[dict] = []
    if not rules and not spec.get("defaultBackend"):
        causes.append({"field": "spec", "message": MSG_NO_RULES})
    if spec.get("defaultBackend"):
        causes += _backend_errors("spec.defaultBackend", spec["defaultBackend"])
    class_name = spec.get("ingressClassName")
    if class_name:
        causes += [
            {
                "field": "spec.ingressClassName",
                "message": MSG_CLASS_NAME.format(name=class_name, message=m),
            }
            for m in k8s.name_errors(class_name)
        ]
    for i, rule in enumerate(rules if isinstance(rules, list) else []):
        base = f"spec.rules[{i}]"
        if not isinstance(rule, dict):
            causes.append({"field": base, "message": "must be an object"})
            continue
        if rule.get("host"):
            causes += _host_errors(f"{base}.host", rule["host"])
        http = rule.get("http")
        if http is None:
            continue
        paths = (http or {}).get("paths") or []
        if not paths:
            causes.append({"field": f"{base}.http.paths", "message": MSG_REQUIRED})
        for j, entry in enumerate(paths):
            entry = entry if isinstance(entry, dict) else {}
            causes += _path_errors(f"{base}.http.paths[{j}]", entry)
    return causes


def ingress_class_validation_errors(body: dict) -> list[dict]:
    """ValidateIngressClass: a controller name, domain-prefixed path of at most 250 chars."""
    controller = (body.get("spec") or {}).get("controller") or ""
    if not controller:
        return [{"field": "spec.controller", "message": MSG_REQUIRED}]
    if len(controller) > 250:
        return [{"field": "spec.controller", "message": "Too long: may not be more than 250 bytes"}]
    return []


def default_class(classes: list[dict]) -> str | None:
    """The DefaultIngressClass admission plugin's pick: the class annotated as default (the
    most recently created one if there are several)."""
    defaults = [
        c
        for c in classes
        if (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"
    ]
    if not defaults:
        return None
    newest = max(
        defaults,
        key=lambda c: (c["metadata"].get("creationTimestamp") or "", c["metadata"]["name"]),
    )
    return newest["metadata"]["name"]


def ingress_class_of(body: dict) -> str:
    """The class an Ingress asks for (``spec.ingressClassName``, else the legacy annotation)."""
    spec = body.get("spec") or {}
    annotations = body["metadata"].get("annotations") or {}
    return spec.get("ingressClassName") or annotations.get(LEGACY_CLASS_ANNOTATION) or ""


# --- printing (kubectl get ingress) -------------------------------------------------------------


def hosts_cell(body: dict) -> str:
    """printIngress' HOSTS: the rules' hosts (``*`` for a rule without one), the first three and
    ``+ N more...``."""
    hosts = [r.get("host") or "*" for r in (body.get("spec") or {}).get("rules") or []]
    if not hosts:
        return "*"
    cell = ",".join(hosts[:3])
    if len(hosts) > 3:
        cell += f" + {len(hosts) - 3} more..."
    return cell


def address_cell(body: dict) -> str:
    ingress = ((body.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return ",".join(i.get("ip") or i.get("hostname") or "" for i in ingress if i)


def ports_cell(body: dict) -> str:
    return "80, 443" if (body.get("spec") or {}).get("tls") else "80"


# --- routing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """Where an external HTTP request goes: the Ingress and rule it matched and the backend
    Service and port, or ``service == ""`` for the controller's own 404."""

    ingress: str  # "<namespace>/<name>", "" for the controller's 404
    namespace: str
    service: str
    port: int | str | None
    explanation: str
    host_rule: str = ""
    path: str = ""
    path_type: str = ""


def host_matches(rule_host: str, host: str) -> bool:
    """A precise host matches itself; ``*.foo.com`` matches exactly one more label."""
    if not rule_host:
        return True
    if rule_host.startswith("*."):
        suffix = rule_host[1:]
        head = host[: -len(suffix)] if host.endswith(suffix) else ""
        return bool(head) and "." not in head
    return rule_host == host


def _host_rank(rule_host: str) -> int:
    if not rule_host:
        return 2
    return 1 if rule_host.startswith("*.") else 0


def path_matches(path_type: str, rule_path: str, path: str) -> bool:
    """Exact: the same path (case-sensitive). Prefix (and ImplementationSpecific here): the
    rule's elements are the first elements of the request path; a trailing ``/`` on either is
    ignored."""
    if path_type == "Exact":
        return rule_path == path
    wanted = [p for p in (rule_path or "/").split("/") if p]
    got = [p for p in path.split("/") if p]
    return got[: len(wanted)] == wanted


def _backend(ingress: dict, backend: dict) -> tuple[str, int | str | None]:
    service = (backend or {}).get("service") or {}
    port = service.get("port") or {}
    return service.get("name", ""), port.get("number") or port.get("name")


def route(ingresses: list[dict], *, host: str, path: str) -> Route:
    """The backend an ingress controller sends ``http://<host><path>`` to, given every Ingress
    of its class."""
    host = host.lower().rstrip(".")
    path = path or "/"
    matching: list[tuple[int, dict, dict]] = []
    for ing in ingresses:
        for rule in (ing.get("spec") or {}).get("rules") or []:
            if host_matches(rule.get("host") or "", host):
                matching.append((_host_rank(rule.get("host") or ""), ing, rule))
    if matching:
        best_rank = min(rank for rank, _, _ in matching)
        candidates = []
        for rank, ing, rule in matching:
            if rank != best_rank:
                continue
            for entry in (rule.get("http") or {}).get("paths") or []:
                path_type = entry.get("pathType", "Prefix")
                rule_path = entry.get("path") or "/"
                if path_matches(path_type, rule_path, path):
                    length = len([p for p in rule_path.split("/") if p])
                    exact = path_type == "Exact"
                    candidates.append((length, exact, len(rule_path), ing, rule, entry))
        if candidates:
            _, _, _, ing, rule, entry = max(candidates, key=lambda c: c[:3])
            service, port = _backend(ing, entry.get("backend") or {})
            meta = ing["metadata"]
            rule_host = rule.get("host") or "*"
            path_type = entry.get("pathType", "Prefix")
            rule_path = entry.get("path") or "/"
            return Route(
                ingress=f"{meta.get('namespace', '')}/{meta['name']}",
                namespace=meta.get("namespace", ""),
                service=service,
                port=port,
                explanation=(
                    f"Ingress {meta['name']}: host {rule_host}, path {rule_path} ({path_type}) "
                    f"-> service {service}:{port}"
                ),
                host_rule=rule_host,
                path=rule_path,
                path_type=path_type,
            )
    for ing in ingresses:
        default = (ing.get("spec") or {}).get("defaultBackend")
        if default:
            service, port = _backend(ing, default)
            meta = ing["metadata"]
            return Route(
                ingress=f"{meta.get('namespace', '')}/{meta['name']}",
                namespace=meta.get("namespace", ""),
                service=service,
                port=port,
                explanation=(
                    f"no rule matches {host}{path}: Ingress {meta['name']}'s defaultBackend "
                    f"-> service {service}:{port}"
                ),
            )
    return Route(
        ingress="",
        namespace="",
        service="",
        port=None,
        explanation=f"no Ingress rule matches {host}{path} and no defaultBackend: "
        "the ingress controller answers 404 Not Found itself",
    )
