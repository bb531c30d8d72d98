"""Service writes: admission (defaults, validation, ClusterIP and NodePort allocation) as
kube-apiserver's Service registry does it, and the dashboard's create / expose / delete.

Models (k8s-reference §6):

- ``pkg/apis/core/v1/defaults.go`` ``SetDefaults_Service``: type ClusterIP, sessionAffinity
  None, protocol TCP, ``targetPort`` = ``port``, internalTrafficPolicy Cluster,
  externalTrafficPolicy Cluster for NodePort/LoadBalancer, allocateLoadBalancerNodePorts true;
- ``pkg/apis/core/validation`` ``ValidateService``: ports required unless headless, port and
  targetPort ranges, protocols, types, port names (required and unique when there are several);
- ``pkg/registry/core/service/ipallocator`` and ``portallocator`` through
  :mod:`cluster.networking`: a requested ``clusterIP`` or ``nodePort`` is checked with the
  allocator's errors, a missing one is allocated; ``clusterIP: None`` makes a headless Service
  (no address, no proxying);
- ``ValidateServiceUpdate``: ``spec.clusterIP`` is immutable; an update that leaves the
  clusterIP or a nodePort out keeps the allocated value (the registry's
  ``patchAllocatedValues``);
- the ``default/kubernetes`` Service the apiserver's bootstrap controller keeps
  (the range's first address, port 443 → 6443);
- IP families (``pkg/registry/core/service/storage/alloc.go`` ``initIPFamilyFields`` and
  ``ValidateServiceClusterIPsRelatedFields``): ``ipFamilyPolicy`` defaults to SingleStack on
  create and to the old policy on update; ``ipFamilies`` is inferred from the requested
  ``clusterIPs``, else the cluster's primary family (IPv4), plus the other family when the
  policy is not SingleStack and the cluster is dual-stack; RequireDualStack on a single-stack
  cluster and a family the cluster lacks are refused in the apiserver's words; one ClusterIP
  per family from that family's range; an update may add the secondary family (upgrade) or,
  with SingleStack, drop it (downgrade), never change the primary one.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

from django.db import transaction

from cluster import k8s, networking
from cluster.models import Cluster, KubeObject
from cluster.services import store
from cluster.services.errors import BadRequest, Invalid, not_found

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
PROTOCOLS = ("SCTP", "TCP", "UDP")
AFFINITIES = ("ClientIP", "None")
TRAFFIC_POLICIES = ("Cluster", "Local")
HEADLESS = "None"
KUBERNETES_SERVICE = "kubernetes"
APISERVER_PORT = 6443

ERR_REQUIRED = "Required value"
ERR_PORT_RANGE = "Invalid value: {value}: must be between 1 and 65535, inclusive"
ERR_UNSUPPORTED = 'Unsupported value: "{value}": supported values: {choices}'
ERR_DUPLICATE = 'Duplicate value: "{value}"'
ERR_BAD_IP = (
    'Invalid value: "{value}": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'
)
ERR_HEADLESS_TYPE = "Invalid value: \"None\": may not be set to 'None' for {type} services"
ERR_NODE_PORT_FORBIDDEN = "Forbidden: may not be used when `type` is 'ClusterIP'"
ERR_IMMUTABLE = 'Invalid value: "{value}": field is immutable'
ERR_PORT_NAME = (
    "Invalid value: \"{value}\": must contain only lowercase alphanumeric characters or '-', "
    "start and end with an alphanumeric character, at most 15 characters"
)
ERR_NO_SELECTOR = 'deployment "{name}" has no selector matchLabels; kubectl expose cannot use it'
POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
SINGLE_STACK, PREFER_DUAL_STACK, REQUIRE_DUAL_STACK = (
    "SingleStack",
    "PreferDualStack",
    "RequireDualStack",
)
FAMILIES = (networking.IPV4, networking.IPV6)
ERR_NOT_DUAL_STACK_CLUSTER = "this cluster is not configured for dual-stack services"
ERR_FAMILY_NOT_CONFIGURED = "not configured on this cluster"
ERR_IP_FAMILY_NOT_CONFIGURED = "{family} is not configured on this cluster"
ERR_SINGLE_WITH_TWO_IPS = (
    "must be 'RequireDualStack' or 'PreferDualStack' when multiple cluster IPs are specified"
)
ERR_SINGLE_WITH_TWO_FAMILIES = (
    "must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"
)
ERR_FIRST_MUST_MATCH = "first value must match `clusterIP`"
ERR_IPS_WITHOUT_IP = "must be empty when `clusterIP` is not specified"
ERR_NONE_ALONE = "'None' must be the first and only value"
ERR_TWO_VALUES = "may only hold up to 2 values"
ERR_ONE_PER_FAMILY = "may specify no more than one IP for each IP family"
ERR_EXPECTED_FAMILY = "expected an {family} value as indicated by `ipFamilies[{index}]`"
ERR_ONCE_SET = "may not change once set"
ERR_RELEASE_IP = "must be 'SingleStack' to release the secondary cluster IP"
ERR_RELEASE_FAMILY = "must be 'SingleStack' to release the secondary IP family"

_rng = random.SystemRandom()


def _choices(values: tuple[str, ...]) -> str:
    return ", ".join(f'"{v}"' for v in values)


def _invalid(name: str, causes: list[dict]) -> Invalid:
    detail = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
    return Invalid(
        f'Service "{name}" is invalid: {detail}', causes=causes, kind="Service", name=name
    )


def _port_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def _port_name_ok(name: str) -> bool:
    return len(name) <= 15 and k8s.DNS1123_LABEL.match(name) is not None


def service_apply_defaults(body: dict) -> None:
    """SetDefaults_Service (the type-independent parts; addresses come from allocation)."""
    spec = body.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if port.get("targetPort") in (None, 0, ""):
                port["targetPort"] = port.get("port")
    body.setdefault("status", {"loadBalancer": {}})


def _policy_errors(spec: dict) -> list[dict]:
    """sessionAffinity and the traffic policies: one of their few values."""
    causes = []
    for field, allowed in (
        ("sessionAffinity", AFFINITIES),
        ("internalTrafficPolicy", TRAFFIC_POLICIES),
        ("externalTrafficPolicy", TRAFFIC_POLICIES),
    ):
        if field in spec and spec[field] not in allowed:
            message = ERR_UNSUPPORTED.format(value=spec[field], choices=_choices(allowed))
            causes.append({"field": f"spec.{field}", "message": message})
    return causes


def _selector_errors(selector: Any) -> list[dict]:
    """A Service selector is a plain map of label keys to label values."""
    if selector is None:
        return []
    if not isinstance(selector, dict):
        return [{"field": "spec.selector", "message": "must be a map of strings"}]
    causes = []
    for key, value in selector.items():
        messages = [f'Invalid value: "{key}": {m}' for m in k8s.label_key_errors(str(key))]
        messages += [f'Invalid value: "{value}": {m}' for m in k8s.label_value_errors(str(value))]
        causes += [{"field": "spec.selector", "message": m} for m in messages]
    return causes


def _port_name_errors(name: str, *, several: bool, names: set[str]) -> list[str]:
    if not name:
        return [ERR_REQUIRED] if several else []
    messages = [] if _port_name_ok(name) else [ERR_PORT_NAME.format(value=name)]
    if name in names:
        messages.append(ERR_DUPLICATE.format(value=name))
    names.add(name)
    return messages


def _port_errors(path: str, port: Any, *, several: bool, names: set[str], stype: Any) -> list:
    """ValidateServicePort's causes for one entry of ``spec.ports`` (``names`` collects the
    names seen so far, for the duplicate check)."""
    if not isinstance(port, dict):
        return [{"field": path, "message": "must be an object"}]
    causes: list[dict] = []

    def add(field: str, message: str) -> None:
        causes.append({"field": f"{path}.{field}", "message": message})

    for message in _port_name_errors(port.get("name") or "", several=several, names=names):
        add("name", message)
    if not _port_number(port.get("port")):
        add("port", ERR_PORT_RANGE.format(value=port.get("port")))
    if port.get("protocol") not in PROTOCOLS:
        add(
            "protocol",
            ERR_UNSUPPORTED.format(value=port.get("protocol"), choices=_choices(PROTOCOLS)),
        )
    target = port.get("targetPort")
    if isinstance(target, str):
        if not _port_name_ok(target):
            add("targetPort", ERR_PORT_NAME.format(value=target))
    elif not _port_number(target):
        add("targetPort", ERR_PORT_RANGE.format(value=target))
    node_port = port.get("nodePort")
    if node_port not in (None, 0):
        if stype == "ClusterIP":
            add("nodePort", ERR_NODE_PORT_FORBIDDEN)
        elif not isinstance(node_port, int) or isinstance(node_port, bool):
            add("nodePort", ERR_PORT_RANGE.format(value=node_port))
    return causes


def service_validation_errors(body: dict) -> list[dict]:
    """ValidateService's causes (field, message) for a defaulted Service body."""
    spec = body.get("spec") or {}
    causes: list[dict] = []

    def add(field: str, message: str) -> None:
        causes.append({"field": field, "message": message})

    stype = spec.get("type")
    if stype not in SERVICE_TYPES:
        add("spec.type", ERR_UNSUPPORTED.format(value=stype, choices=_choices(SERVICE_TYPES)))
    cluster_ip = spec.get("clusterIP") or ""
    headless = cluster_ip == HEADLESS
    if cluster_ip and not headless:
        try:
            ipaddress.ip_address(cluster_ip)
        except ValueError:
            add("spec.clusterIPs[0]", ERR_BAD_IP.format(value=cluster_ip))
    if headless and stype in ("NodePort", "LoadBalancer"):
        add("spec.clusterIPs[0]", ERR_HEADLESS_TYPE.format(type=stype))
    causes += _policy_errors(spec) + _selector_errors(spec.get("selector"))
    ports = spec.get("ports") or []
    if not isinstance(ports, list):
        add("spec.ports", "must be a list")
        return causes
    if not ports and not headless:
        add("spec.ports", ERR_REQUIRED)
    names: set[str] = set()
    for i, port in enumerate(ports):
        causes += _port_errors(
            f"spec.ports[{i}]", port, several=len(ports) > 1, names=names, stype=stype
        )
    return causes


def _go(value: Any) -> str:
    """A value as Go's field errors print it: a string quoted, a string list as ``[]string{}``."""
    if isinstance(value, list):
        return "[]string{" + ", ".join(f'"{v}"' for v in value) + "}"
    if value is None:
        return "null"
    return f'"{value}"'


def _bad(field: str, value: Any, message: str) -> dict:
    return {"field": field, "message": f"Invalid value: {_go(value)}: {message}"}


def _strings(value: Any) -> list[str]:
    """A list field as strings (the schema layer has already refused other JSON types)."""
    return [str(v) for v in value] if isinstance(value, list) else []


def _headless(spec: dict) -> bool:
    return _strings(spec.get("clusterIPs"))[:1] == [HEADLESS]


def _in_step_errors(cluster_ip: str, ips: list[str]) -> list[dict]:
    """``clusterIP`` and ``clusterIPs[0]`` are the same address (or both unset)."""
    if cluster_ip and not ips:
        return [{"field": "spec.clusterIPs", "message": ERR_REQUIRED}]
    if cluster_ip and ips[0] != cluster_ip:
        return [_bad("spec.clusterIPs", ips, ERR_FIRST_MUST_MATCH)]
    if not cluster_ip and ips:
        return [_bad("spec.clusterIPs", ips, ERR_IPS_WITHOUT_IP)]
    return []


def _family_value_errors(families: list[str], policy: Any) -> list[dict]:
    """Families are IPv4 or IPv6, each once; the policy one of the three."""
    causes = []
    for i, family in enumerate(families):
        if family not in FAMILIES:
            message = ERR_UNSUPPORTED.format(value=family, choices=_choices(FAMILIES))
            causes.append({"field": f"spec.ipFamilies[{i}]", "message": message})
        if family in families[:i]:
            message = ERR_DUPLICATE.format(value=family)
            causes.append({"field": f"spec.ipFamilies[{i}]", "message": message})
    if policy is not None and policy not in POLICIES:
        message = ERR_UNSUPPORTED.format(value=policy, choices=_choices(POLICIES))
        causes.append({"field": "spec.ipFamilyPolicy", "message": message})
    return causes


def ip_fields_errors(spec: dict) -> list[dict]:
    """``ValidateServiceClusterIPsRelatedFields``: clusterIP and clusterIPs agree, families and
    the policy are known values, at most two addresses, one per family, each of the family its
    ``ipFamilies`` entry names."""
    causes: list[dict] = []
    cluster_ip, ips = spec.get("clusterIP") or "", _strings(spec.get("clusterIPs"))
    causes += _in_step_errors(cluster_ip, ips)
    families = _strings(spec.get("ipFamilies"))
    causes += _family_value_errors(families, spec.get("ipFamilyPolicy"))
    bad_ip = False
    for i, ip in enumerate(ips):
        if i == 0 and ip == HEADLESS:
            if len(ips) > 1:
                bad_ip = True
                causes.append(_bad("spec.clusterIPs", ips, ERR_NONE_ALONE))
            continue
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            bad_ip = True
            causes.append(
                {"field": f"spec.clusterIPs[{i}]", "message": ERR_BAD_IP.format(value=ip)}
            )
    if len(ips) > 2:
        causes.append(_bad("spec.clusterIPs", ips, ERR_TWO_VALUES))
    if bad_ip:
        return causes
    if len(ips) == 2 and networking.family_of(ips[0]) == networking.family_of(ips[1]):
        causes.append(_bad("spec.clusterIPs", ips, ERR_ONE_PER_FAMILY))
    if ips and ips != [HEADLESS]:
        for i, (ip, family) in enumerate(zip(ips, families, strict=False)):
            if family in FAMILIES and networking.family_of(ip) != family:
                message = ERR_EXPECTED_FAMILY.format(family=family, index=i)
                causes.append(_bad(f"spec.clusterIPs[{i}]", ip, message))
    return causes


def _upgrade_downgrade_errors(old_spec: dict, spec: dict) -> list[dict]:
    """``validateUpgradeDowngradeClusterIPs`` / ``...IPFamilies``: the primary address and
    family never change; dropping the secondary needs SingleStack."""
    causes: list[dict] = []
    policy = spec.get("ipFamilyPolicy")
    old_ips, ips = _strings(old_spec.get("clusterIPs")), _strings(spec.get("clusterIPs"))
    if not (_headless(old_spec) and _headless(spec)):
        if len(old_ips) == len(ips):
            causes += [
                _bad(f"spec.clusterIPs[{i}]", ips, ERR_ONCE_SET)
                for i, ip in enumerate(old_ips)
                if ip != ips[i]
            ]
        elif ips and old_ips and ips[0] != old_ips[0]:
            causes.append(_bad("spec.clusterIPs[0]", ips, ERR_ONCE_SET))
        if len(ips) == 1 < len(old_ips) and policy != SINGLE_STACK:
            message = "must be set to 'SingleStack' when releasing the secondary clusterIP"
            causes.append(_bad("spec.ipFamilyPolicy", policy, message))
    old_families, families = (
        _strings(old_spec.get("ipFamilies")),
        _strings(spec.get("ipFamilies")),
    )
    if _headless(old_spec) or _headless(spec) or not families or not old_families:
        return causes
    if families[0] != old_families[0] or (
        len(families) == len(old_families) and families != old_families
    ):
        causes.append(_bad("spec.ipFamilies[0]", families, ERR_ONCE_SET))
    if len(families) == 1 < len(old_families) and policy != SINGLE_STACK:
        message = "must be set to 'SingleStack' when releasing the secondary ipFamily"
        causes.append(_bad("spec.ipFamilyPolicy", policy, message))
    return causes


def _default_policy_on_admission(spec: dict, old_spec: dict | None) -> None:
    """A missing policy: the old one on update, RequireDualStack for a headless Service
    without a selector, else SingleStack."""
    if spec.get("ipFamilyPolicy") is not None:
        return
    if old_spec is not None and old_spec.get("ipFamilyPolicy"):
        spec["ipFamilyPolicy"] = old_spec["ipFamilyPolicy"]
    elif spec.get("clusterIP") == HEADLESS and not spec.get("selector"):
        spec["ipFamilyPolicy"] = REQUIRE_DUAL_STACK
    else:
        spec["ipFamilyPolicy"] = SINGLE_STACK


def _update_prep(spec: dict, old_spec: dict) -> list[dict]:
    """An update with SingleStack and the old two addresses/families is a downgrade (the
    secondary is dropped); with another policy, a shorter list is refused."""
    policy = spec["ipFamilyPolicy"]
    causes: list[dict] = []
    for key, message in (("clusterIPs", ERR_RELEASE_IP), ("ipFamilies", ERR_RELEASE_FAMILY)):
        values, old_values = _strings(spec.get(key)), _strings(old_spec.get(key))
        if policy == SINGLE_STACK:
            if values == old_values and len(values) > 1:
                spec[key] = values[:1]
        elif 0 < len(values) < len(old_values):
            # (an update that leaves a list out keeps it: only a shorter list releases)
            causes.append(_bad("spec.ipFamilyPolicy", policy, message))
    return causes


def _families_from_ips(spec: dict, cluster_families: tuple[str, ...]) -> list[dict]:
    """SingleStack may not carry two of anything; families missing for requested addresses are
    inferred from them (refused when the cluster lacks that family)."""
    policy = spec["ipFamilyPolicy"]
    families, ips = _strings(spec.get("ipFamilies")), _strings(spec.get("clusterIPs"))
    causes: list[dict] = []
    if policy == SINGLE_STACK and len(ips) == 2:
        causes.append(_bad("spec.ipFamilyPolicy", policy, ERR_SINGLE_WITH_TWO_IPS))
    if policy == SINGLE_STACK and len(families) == 2:
        causes.append(_bad("spec.ipFamilyPolicy", policy, ERR_SINGLE_WITH_TWO_FAMILIES))
    for i, ip in enumerate(ips):
        if ip == HEADLESS:
            break
        if i < len(families):
            continue
        family = networking.family_of(ip)
        if family in cluster_families:
            families.append(family)
        else:
            message = ERR_IP_FAMILY_NOT_CONFIGURED.format(family=family)
            causes.append(_bad(f"spec.clusterIPs[{i}]", ips, message))
    spec["ipFamilies"] = families
    return causes


def init_ip_families(
    spec: dict, *, cluster_families: tuple[str, ...], old_spec: dict | None = None
) -> list[dict]:
    """``initIPFamilyFields`` (mutates ``spec``): the policy's default, the families inferred
    from the requested addresses or the cluster's, the second family added for a dual-stack
    policy on a dual-stack cluster. Returns the causes of a refusal."""
    _default_policy_on_admission(spec, old_spec)
    causes = ip_fields_errors(spec)
    if causes:
        return causes
    if old_spec is not None:
        causes = _update_prep(spec, old_spec)
    causes += _families_from_ips(spec, cluster_families)
    if causes:
        return causes
    policy, families = spec["ipFamilyPolicy"], spec["ipFamilies"]
    if spec.get("clusterIP") == HEADLESS and not spec.get("selector"):
        # Headless without a selector: any families, even on a single-stack cluster.
        families = families or [cluster_families[0]]
        if len(families) < 2 and policy != SINGLE_STACK:
            families.append(networking.other_family(families[0]))
        spec["ipFamilies"] = families
        return []
    if policy == REQUIRE_DUAL_STACK and len(cluster_families) < 2:
        causes.append(_bad("spec.ipFamilyPolicy", policy, ERR_NOT_DUAL_STACK_CLUSTER))
    causes += [
        _bad(f"spec.ipFamilies[{i}]", family, ERR_FAMILY_NOT_CONFIGURED)
        for i, family in enumerate(families)
        if family not in cluster_families
    ]
    if causes:
        return causes
    families = families or [cluster_families[0]]
    if policy != SINGLE_STACK and len(families) == 1 and len(cluster_families) == 2:
        families.append(networking.other_family(families[0]))
    spec["ipFamilies"] = families
    return []


def _used(cluster: Cluster, *, exclude_uid: str | None = None) -> tuple[set[str], set[int]]:
    """The ClusterIPs (every family) and NodePorts the cluster's Services hold (Services are
    few)."""
    ips: set[str] = set()
    ports: set[int] = set()
    for uid, body in KubeObject.objects.filter(cluster=cluster, kind="Service").values_list(
        "uid", "body"
    ):
        if exclude_uid and str(uid) == exclude_uid:
            continue
        spec = body.get("spec") or {}
        ips.update(ip for ip in _strings(spec.get("clusterIPs")) if ip != HEADLESS)
        if spec.get("clusterIP") and spec["clusterIP"] != HEADLESS:
            ips.add(spec["clusterIP"])
        ports.update(p["nodePort"] for p in spec.get("ports") or [] if p.get("nodePort"))
    return ips, ports


def _allocate_ips(
    spec: dict, name: str, used_ips: set[str], rng: random.Random, *, keep: set[str]
) -> None:
    """One ClusterIP per ``ipFamilies`` entry from that family's range: a requested one is
    checked with the allocator's errors (``keep``: this Service's own, already held), a missing
    one is drawn. ``clusterIP`` is ``clusterIPs[0]``."""
    if _headless(spec) or spec.get("clusterIP") == HEADLESS:
        spec["clusterIP"], spec["clusterIPs"] = HEADLESS, [HEADLESS]
        return
    ips = _strings(spec.get("clusterIPs"))
    for i, family in enumerate(spec["ipFamilies"]):
        requested = ips[i] if i < len(ips) else ""
        cidr = networking.SERVICE_CIDRS[family]
        try:
            if requested in keep:
                ip = requested
            elif requested:
                ip = networking.reserve_cluster_ip(service_cidr=cidr, ip=requested, used=used_ips)
            else:
                ip = networking.allocate_cluster_ip(service_cidr=cidr, used=used_ips, rng=rng)
        except networking.AllocationError as exc:
            raise _invalid(
                name,
                [
                    {
                        "field": "spec.clusterIPs",
                        "message": f"Invalid value: {_go(ips or [requested])}: {exc}",
                    }
                ],
            ) from None
        used_ips.add(ip)
        if i < len(ips):
            ips[i] = ip
        else:
            ips.append(ip)
    spec["clusterIPs"] = ips[: len(spec["ipFamilies"])]
    spec["clusterIP"] = spec["clusterIPs"][0]


def _allocate(cluster: Cluster, body: dict, rng: random.Random, *, exclude_uid: str | None) -> None:
    """Fill the clusterIPs and nodePorts, checking requested ones with the allocators' errors."""
    spec = body["spec"]
    name = body["metadata"].get("name", "")
    used_ips, used_ports = _used(cluster, exclude_uid=exclude_uid)
    _allocate_ips(spec, name, used_ips, rng, keep=set())
    if spec["type"] not in ("NodePort", "LoadBalancer"):
        return
    for i, port in enumerate(spec.get("ports") or []):
        try:
            if port.get("nodePort"):
                networking.reserve_node_port(port=port["nodePort"], used=used_ports)
            else:
                port["nodePort"] = networking.allocate_node_port(used=used_ports, rng=rng)
        except networking.AllocationError as exc:
            raise _invalid(
                name,
                [
                    {
                        "field": f"spec.ports[{i}].nodePort",
                        "message": f"Invalid value: {port.get('nodePort')}: {exc}",
                    }
                ],
            ) from None
        used_ports.add(port["nodePort"])


def _families(cluster: Cluster) -> tuple[str, ...]:
    return networking.cluster_families(dual_stack=bool(getattr(cluster, "dual_stack", False)))


def _default_policy(spec: dict) -> None:
    """``SetDefaults_Service`` (on decoding, before the registry sees the request): two
    addresses or two families without a policy mean RequireDualStack."""
    if spec.get("ipFamilyPolicy") is None and (
        len(_strings(spec.get("clusterIPs"))) == 2 or len(_strings(spec.get("ipFamilies"))) == 2
    ):
        spec["ipFamilyPolicy"] = REQUIRE_DUAL_STACK


def _sync_cluster_ips(spec: dict, old_spec: dict | None = None) -> None:
    """The strategy's ``normalizeClusterIPs`` and ``patchAllocatedValues``: ``clusterIP`` and
    ``clusterIPs[0]`` follow each other when only one was given; an update that gives neither
    keeps the allocated ones."""
    ip, ips = spec.get("clusterIP") or "", _strings(spec.get("clusterIPs"))
    old_spec = old_spec or {}
    old_ip, old_ips = old_spec.get("clusterIP") or "", _strings(old_spec.get("clusterIPs"))
    if not ip and not ips and old_ip:
        spec["clusterIP"], spec["clusterIPs"] = old_ip, old_ips or [old_ip]
    elif ip and not ips:
        spec["clusterIPs"] = old_ips if (ip == old_ip and old_ips) else [ip]
    elif ips and not ip:
        spec["clusterIP"] = ips[0]


def service_admit(cluster: Cluster, body: dict, *, rng: random.Random | None = None) -> None:
    """Admission of a new Service (mutates ``body``): defaults, validation, IP families,
    allocation."""
    service_apply_defaults(body)
    name = body["metadata"].get("name", "")
    _default_policy(body["spec"])
    _sync_cluster_ips(body["spec"])
    causes = service_validation_errors(body)
    if causes:
        raise _invalid(name, causes)
    causes = init_ip_families(body["spec"], cluster_families=_families(cluster))
    if causes:
        raise _invalid(name, causes)
    _allocate(cluster, body, rng or _rng, exclude_uid=None)


def service_admit_update(cluster: Cluster, old: dict, new: dict) -> None:
    """Admission of an update: allocated values the update left out are kept; the clusterIP
    may not change; a secondary family may be added or (SingleStack) dropped; a nodePort newly
    needed (type changed to NodePort) is allocated."""
    old_spec, spec = old.get("spec") or {}, new.setdefault("spec", {})
    _default_policy(spec)
    _sync_cluster_ips(spec, old_spec)
    service_apply_defaults(new)
    name = old["metadata"]["name"]
    if spec.get("clusterIP") != old_spec.get("clusterIP"):
        raise _invalid(
            name,
            [
                {
                    "field": "spec.clusterIP",
                    "message": ERR_IMMUTABLE.format(value=spec.get("clusterIP")),
                }
            ],
        )
    if spec["type"] in ("NodePort", "LoadBalancer"):
        kept = {
            (p.get("port"), p.get("protocol")): p.get("nodePort")
            for p in old_spec.get("ports") or []
        }
        for port in spec.get("ports") or []:
            key = (port.get("port"), port.get("protocol")) if isinstance(port, dict) else None
            if key and not port.get("nodePort") and kept.get(key):
                port["nodePort"] = kept[key]
    causes = service_validation_errors(new) + _upgrade_downgrade_errors(old_spec, spec)
    if causes:
        raise _invalid(name, causes)
    causes = init_ip_families(spec, cluster_families=_families(cluster), old_spec=old_spec)
    if causes:
        raise _invalid(name, causes)
    used_ips, used_ports = _used(cluster, exclude_uid=old["metadata"].get("uid"))
    _allocate_ips(spec, name, used_ips, _rng, keep=set(_strings(old_spec.get("clusterIPs"))))
    if spec["type"] not in ("NodePort", "LoadBalancer"):
        return
    # New nodePorts are checked against every other Service's; kept ones are ours already.
    own = {p.get("nodePort") for p in old_spec.get("ports") or []}
    for i, port in enumerate(spec.get("ports") or []):
        try:
            if not port.get("nodePort"):
                port["nodePort"] = networking.allocate_node_port(used=used_ports, rng=_rng)
            elif port["nodePort"] not in own:
                networking.reserve_node_port(port=port["nodePort"], used=used_ports)
        except networking.AllocationError as exc:
            raise _invalid(
                name,
                [
                    {
                        "field": f"spec.ports[{i}].nodePort",
                        "message": f"Invalid value: {port.get('nodePort')}: {exc}",
                    }
                ],
            ) from None
        used_ports.add(port["nodePort"])


def _service_body(
    *,
    namespace: str,
    name: str,
    selector: dict[str, str] | None,
    port: int,
    target_port: int | str | None,
    type: str,
    labels: dict[str, str] | None = None,
    ip_family_policy: str | None = None,
) -> dict:
    entry: dict = {"port": port, "protocol": "TCP"}
    if target_port not in (None, ""):
        entry["targetPort"] = target_port
    spec: dict = {"type": type, "ports": [entry]}
    if ip_family_policy:
        spec["ipFamilyPolicy"] = ip_family_policy
    if selector:
        spec["selector"] = dict(selector)
    meta: dict = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def service_create(
    *,
    cluster: Cluster,
    namespace: str,
    name: str,
    selector: dict[str, str] | None,
    port: int,
    target_port: int | str | None = None,
    type: str = "ClusterIP",
    actor: str = "dashboard",
) -> KubeObject:
    """A Service with one TCP port, through the API's create path (same admission)."""
    from cluster.services.objects import object_create  # noqa: PLC0415 - objects imports us

    body = _service_body(
        namespace=namespace,
        name=name,
        selector=selector,
        port=port,
        target_port=target_port,
        type=type,
    )
    return object_create(cluster=cluster, body=body, namespace=namespace, actor=actor)


def service_expose_deployment(
    *,
    cluster: Cluster,
    namespace: str,
    deployment: str,
    port: int,
    target_port: int | str | None = None,
    type: str = "ClusterIP",
    ip_family_policy: str | None = None,
    actor: str = "dashboard",
) -> KubeObject:
    """``kubectl expose deployment <name>``: a Service of the same name whose selector is the
    Deployment's ``spec.selector.matchLabels`` and whose labels are the Deployment's."""
    deploy = store.object_get(
        cluster=cluster, kind="Deployment", namespace=namespace, name=deployment
    )
    selector = (deploy.body.get("spec", {}).get("selector") or {}).get("matchLabels")
    if not selector:
        raise BadRequest(ERR_NO_SELECTOR.format(name=deployment))
    from cluster.services.objects import object_create  # noqa: PLC0415 - objects imports us

    body = _service_body(
        namespace=namespace,
        name=deployment,
        selector=selector,
        port=port,
        target_port=target_port,
        type=type,
        labels=deploy.body["metadata"].get("labels"),
        ip_family_policy=ip_family_policy,
    )
    return object_create(cluster=cluster, body=body, namespace=namespace, actor=actor)


def service_delete(
    *, cluster: Cluster, namespace: str, name: str, actor: str = "dashboard"
) -> None:
    """Delete a Service; the garbage collector removes its EndpointSlices (ownerReferences)."""
    obj = KubeObject.objects.filter(
        cluster=cluster, kind="Service", namespace=namespace, name=name
    ).first()
    if obj is None:
        raise not_found("Service", name)
    obj.cluster = cluster
    store.object_remove(obj=obj, actor=actor)


def kubernetes_service_body() -> dict:
    """``default/kubernetes``: the apiserver's own Service (no selector: its EndpointSlice is
    written by the apiserver, not by the EndpointSlice controller)."""
    ip = networking.kubernetes_service_ip()
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": KUBERNETES_SERVICE,
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": ip,
            "clusterIPs": [ip],
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "sessionAffinity": "None",
            "internalTrafficPolicy": "Cluster",
            "ports": [
                {"name": "https", "port": 443, "protocol": "TCP", "targetPort": APISERVER_PORT}
            ],
        },
        "status": {"loadBalancer": {}},
    }


def kubernetes_service_ensure(*, cluster: Cluster, actor: str) -> KubeObject | None:
    """Create ``default/kubernetes`` if it is missing (as the apiserver's bootstrap controller
    re-creates it); returns the new object or None when it already existed."""
    exists = KubeObject.objects.filter(
        cluster=cluster, kind="Service", namespace="default", name=KUBERNETES_SERVICE
    ).exists()
    if exists:
        return None
    with transaction.atomic():
        return store.object_create(cluster=cluster, body=kubernetes_service_body(), actor=actor)
