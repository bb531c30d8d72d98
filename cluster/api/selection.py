"""``labelSelector`` and ``fieldSelector`` query parameters, parsed and matched as the API
server does (apimachinery ``labels.Parse`` and ``fields.ParseSelector``).

Labels: comma-separated requirements, all of which must hold: ``k=v``, ``k==v``, ``k!=v``,
``k in (a,b)``, ``k notin (a,b)``, ``k`` (exists), ``!k`` (does not exist). ``!=`` and
``notin`` also match objects without the key.

Fields: ``f=v``, ``f==v``, ``f!=v``, comma-separated. Each kind supports only some fields (the
field label conversion functions of each API type); any other field is refused with the API
server's ``field label not supported: <field>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

Requirement = Callable[[dict], bool]


class SelectorError(ValueError):
    """A selector the API server would refuse with 400 BadRequest; the text is its message."""


# --- labels ------------------------------------------------------------------------------------

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_SET = re.compile(rf"^\s*({_KEY})\s+(in|notin)\s+\(([^()]*)\)\s*$")
_EQ = re.compile(rf"^\s*({_KEY})\s*(==|=|!=)\s*({_VALUE})\s*$")
_EXISTS = re.compile(rf"^\s*(!?)\s*({_KEY})\s*$")


def _split_requirements(text: str) -> list[str]:
    """Split on commas outside parentheses (``app in (a,b),tier`` is two requirements)."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _label_requirement(text: str) -> Requirement:
    if m := _SET.match(text):
        key, op = m.group(1), m.group(3)
        values = {v.strip() for v in m.group(4).split(",") if v.strip()}
        if not values:
            raise SelectorError(f"unable to parse requirement: values must not be empty: {text}")
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if m := _EQ.match(text):
        key, op, value = m.group(1), m.group(3), m.group(4)
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if m := _EXISTS.match(text):
        negate, key = m.group(1) == "!", m.group(2)
        if negate:
            return lambda labels: key not in labels
        return lambda labels: key in labels
    raise SelectorError(f"unable to parse requirement: found '{text.strip()}', expected a selector")


def parse_label_selector(text: str | None) -> Requirement:
    """A predicate over an object's ``metadata.labels``; an empty selector matches everything."""
    if not text or not text.strip():
        return lambda labels: True
    requirements = [_label_requirement(part) for part in _split_requirements(text)]
    return lambda labels: all(req(labels) for req in requirements)


# --- fields ------------------------------------------------------------------------------------


def _path(*keys: str) -> Callable[[dict], str]:
    def get(body: dict) -> str:
        value: object = body
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return get


_COMMON = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}
FIELDS: dict[str, dict[str, Callable[[dict], str]]] = {
    "Pod": {
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    "Node": {"spec.unschedulable": _path("spec", "unschedulable")},
    "Namespace": {"status.phase": _path("status", "phase")},
    "Event": {
        **{
            f"involvedObject.{f}": _path("involvedObject", f)
            for f in (
                "kind",
                "namespace",
                "name",
                "uid",
                "apiVersion",
                "resourceVersion",
                "fieldPath",
            )
        },
        "reason": _path("reason"),
        "reportingComponent": _path("reportingComponent"),
        "source": _path("source", "component"),
        "type": _path("type"),
    },
    "ReplicaSet": {"status.replicas": _path("status", "replicas")},
}


@dataclass(frozen=True)
class _FieldTerm:
    get: Callable[[dict], str]
    value: str
    equal: bool

    def __call__(self, body: dict) -> bool:
        return (self.get(body) == self.value) == self.equal


def parse_field_selector(text: str | None, *, kind: str) -> Callable[[dict], bool]:
    """A predicate over an object's body; raises :class:`SelectorError` for a field ``kind``
    does not support or a term without an operator."""
    if not text or not text.strip():
        return lambda body: True
    supported = {**_COMMON, **FIELDS.get(kind, {})}
    terms = []
    for part in text.split(","):
        if not part.strip():
            continue
        m = re.match(r"^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not m:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = m.groups()
        if field not in supported:
            raise SelectorError(f"field label not supported: {field}")
        terms.append(_FieldTerm(supported[field], value, op != "!="))
    return lambda body: all(term(body) for term in terms)
