"""The merge metadata of the Kubernetes v1.32 schemas, as the patch engines need it.

Strategic merge patch and server-side apply decide how to combine two values by looking at the
schema of the field they sit in: ``x-kubernetes-patch-strategy`` / ``x-kubernetes-patch-merge-key``
(strategic merge patch, apimachinery ``strategicpatch``) and ``x-kubernetes-list-type`` /
``x-kubernetes-list-map-keys`` / ``x-kubernetes-map-type`` (server-side apply,
structured-merge-diff). This module owns reading that metadata from the JSON schemas shipped by
``kubernetes_validate``; the file is ~1 MB, so it is loaded once and only when first needed.

A schema node here is a plain dict with its ``$ref`` already followed: the keys written next to a
``$ref`` (a property's own ``x-kubernetes-patch-strategy: retainKeys``) win over the referenced
definition's. ``None`` means "the schema does not describe this": callers fall back to their
untyped behaviour.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from typing import Any, Literal

Node = dict[str, Any]
ListType = Literal["map", "set", "atomic"]

SCHEMA_VERSION = "v1.32.0-local"
_REF_PREFIXES = ("#/$defs/", "#/definitions/")


@functools.cache
def definitions() -> dict[str, Node]:
    """All definitions of the v1.32 schemas, keyed by name (``io.k8s.api.apps.v1.Deployment``)."""
    path = (
        importlib.resources.files("kubernetes_validate")
        / "kubernetes-json-schema"
        / SCHEMA_VERSION
        / "_definitions.json"
    )
    document = json.loads(path.read_text(encoding="utf-8"))
    return document.get("$defs") or document["definitions"]


@functools.cache
def _kinds() -> dict[tuple[str, str, str], str]:
    index: dict[tuple[str, str, str], str] = {}
    for name, definition in definitions().items():
        for gvk in definition.get("x-kubernetes-group-version-kind", []):
            index.setdefault((gvk["group"], gvk["version"], gvk["kind"]), name)
    return index


def root(gvk: tuple[str, str, str]) -> Node | None:
    """The schema of a whole object of kind ``(group, version, kind)``; ``""`` is the core group."""
    name = _kinds().get(gvk)
    return resolve(definitions()[name]) if name else None


def resolve(node: Node | None) -> Node | None:
    """Follow ``$ref`` (repeatedly), keeping the referring node's own keys on top."""
    while node is not None and "$ref" in node:
        ref = node["$ref"]
        target = next(
            (definitions().get(ref[len(p) :]) for p in _REF_PREFIXES if ref.startswith(p)), None
        )
        if target is None:
            return None
        own = {k: v for k, v in node.items() if k not in ("$ref", "description")}
        node = {**target, **own}
    return node


def field(node: Node | None, name: str) -> Node | None:
    """The schema of ``name`` inside ``node``: a declared property, else the map values."""
    if node is None:
        return None
    properties = node.get("properties") or {}
    if name in properties:
        return resolve(properties[name])
    values = node.get("additionalProperties")
    return resolve(values) if isinstance(values, dict) else None


def items(node: Node | None) -> Node | None:
    """The schema of the elements of the list ``node``."""
    if node is None or not isinstance(node.get("items"), dict):
        return None
    return resolve(node["items"])


def is_struct(node: Node | None) -> bool:
    """True for objects with declared fields (PodSpec), false for string-keyed maps (labels)."""
    return node is not None and "properties" in node


def is_map(node: Node | None) -> bool:
    """True for string-keyed maps whose values share one schema (``labels``, ``data``)."""
    return node is not None and isinstance(node.get("additionalProperties"), dict)


def is_atomic_map(node: Node | None) -> bool:
    """Objects replaced as a whole by apply (``x-kubernetes-map-type: atomic``: LabelSelector)."""
    return node is not None and node.get("x-kubernetes-map-type") == "atomic"


def patch_strategies(node: Node | None) -> set[str]:
    """The field's ``x-kubernetes-patch-strategy`` words: ``merge``, ``retainKeys``, ``replace``."""
    if node is None:
        return set()
    return {s for s in str(node.get("x-kubernetes-patch-strategy", "")).split(",") if s}


def merge_key(node: Node | None) -> str | None:
    """The strategic-merge key of a list of objects (``name`` for containers)."""
    return None if node is None else node.get("x-kubernetes-patch-merge-key")


def list_type(node: Node | None) -> tuple[ListType, tuple[str, ...]]:
    """How server-side apply treats a list, and its map keys.

    ``x-kubernetes-list-type`` when given; otherwise the strategic-merge metadata decides, as
    kube-apiserver does when it builds its apply schema: a merge key makes a map list, a merge
    strategy over primitives a set, anything else is atomic.
    """
    if node is None:
        return "atomic", ()
    declared = node.get("x-kubernetes-list-type")
    keys = tuple(node.get("x-kubernetes-list-map-keys") or ())
    if declared == "map":
        return "map", keys or ((merge_key(node),) if merge_key(node) else ())
    if declared in ("set", "atomic"):
        return declared, ()
    if merge_key(node):
        return "map", (merge_key(node),)
    if "merge" in patch_strategies(node):
        return "set", ()
    return "atomic", ()
