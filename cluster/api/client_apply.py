"""kubectl's client-side apply (``kubectl apply`` without ``--server-side``), as pure functions.

kubectl remembers what it applied last in the ``kubectl.kubernetes.io/last-applied-configuration``
annotation. On the next apply it sends a strategic merge patch built from three objects
(apimachinery ``strategicpatch.CreateThreeWayMergePatch``):

* *original*, the last-applied configuration (absent for an object nobody applied before),
* *modified*, the configuration being applied, annotated with itself,
* *current*, the live object.

The patch sets every field whose value in *modified* differs from *current*, and deletes the
fields *original* had that *modified* dropped: fields other writers set (a controller's
annotation, a defaulted ``imagePullPolicy``) survive because the applier never listed them.
An empty patch means ``unchanged``. Lists with a merge key (containers by ``name``) are diffed
element by element and a dropped element becomes ``{"$patch": "delete", ...}``; other lists
are replaced whole. Not modelled: ``$setElementOrder`` (a reordered merge list is unchanged)
and ``$deleteFromPrimitiveList``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from cluster.api import merge_schema
from cluster.api.merge_schema import Node

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
RETAIN_KEYS = "$retainKeys"
DIRECTIVE = "$patch"

Json = Any
_SAME = object()  # no difference: leave the field out of the patch


def last_applied(obj: dict) -> dict | None:
    """The configuration recorded by the last apply, if any (and if it is readable JSON)."""
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def with_last_applied(config: dict) -> dict:
    """``config`` carrying itself in the last-applied annotation, as kubectl sends it (compact
    JSON with sorted keys and a final newline, the output of Go's ``json.Marshal``)."""
    modified = copy.deepcopy(config)
    meta = modified.setdefault("metadata", {})
    annotations = meta.get("annotations")
    bare = copy.deepcopy(modified)
    if isinstance(annotations, dict):
        bare["metadata"]["annotations"].pop(LAST_APPLIED, None)
        if not bare["metadata"]["annotations"]:
            del bare["metadata"]["annotations"]
    else:
        annotations = meta["annotations"] = {}
    annotations[LAST_APPLIED] = json.dumps(bare, sort_keys=True, separators=(",", ":")) + "\n"
    return modified


def three_way_patch(
    original: dict | None, modified: dict, current: dict, *, gvk: tuple[str, str, str]
) -> dict:
    """The strategic merge patch kubectl sends to turn ``current`` into ``modified``, deleting
    what ``original`` had and ``modified`` no longer has. ``{}`` when nothing would change."""
    schema = merge_schema.root(gvk)
    patch = _diff_map(current, modified, schema)
    if original:
        _add_deletions(patch, original, modified, schema)
    return patch


# --- additions and changes: modified against current ------------------------------------------


def _diff_map(current: Json, modified: dict, schema: Node | None) -> dict:
    have = current if isinstance(current, dict) else {}
    out: dict = {}
    for key, want in modified.items():
        diff = _diff_value(have.get(key, _SAME), want, merge_schema.field(schema, key))
        if diff is not _SAME:
            out[key] = diff
    return out


def _diff_value(have: Json, want: Json, schema: Node | None) -> Json:
    if have == want:
        return _SAME
    strategies = merge_schema.patch_strategies(schema)
    if isinstance(want, dict) and isinstance(have, dict) and "replace" not in strategies:
        diff = _diff_map(have, want, schema)
        if not diff:
            return _SAME
        if "retainKeys" in strategies:
            diff[RETAIN_KEYS] = sorted(want)
        return diff
    key = merge_schema.merge_key(schema)
    if isinstance(want, list) and isinstance(have, list) and key and "merge" in strategies:
        return _diff_merge_list(have, want, key, merge_schema.items(schema))
    return want


def _diff_merge_list(have: list, want: list, key: str, item_schema: Node | None) -> Json:
    if not all(isinstance(item, dict) and key in item for item in want):
        return want  # the server will say what is wrong with it
    out = []
    for item in want:
        match = next((h for h in have if isinstance(h, dict) and h.get(key) == item[key]), None)
        if match is None:
            out.append(item)
            continue
        diff = _diff_map(match, item, item_schema)
        if diff:
            out.append({key: item[key], **diff})
    return out or _SAME


# --- deletions: original against modified -----------------------------------------------------


def _add_deletions(patch: dict, original: dict, modified: dict, schema: Node | None) -> None:
    for key, old in original.items():
        sub = merge_schema.field(schema, key)
        if key not in modified:
            patch[key] = None
            continue
        new = modified[key]
        if isinstance(old, dict) and isinstance(new, dict):
            if "replace" in merge_schema.patch_strategies(sub):
                continue
            nested = patch.get(key) if isinstance(patch.get(key), dict) else {}
            _add_deletions(nested, old, new, sub)
            if nested:
                patch[key] = nested
        elif isinstance(old, list) and isinstance(new, list):
            _add_list_deletions(patch, key, old, new, sub)


def _add_list_deletions(patch: dict, key: str, old: list, new: list, schema: Node | None) -> None:
    merge_key = merge_schema.merge_key(schema)
    if not merge_key or "merge" not in merge_schema.patch_strategies(schema):
        return  # an atomic list: the new value (already in the patch if different) replaces it
    existing = patch.get(key)
    if existing is not None and not isinstance(existing, list):
        return
    elements = list(existing or [])
    item_schema = merge_schema.items(schema)
    for item in old:
        if not isinstance(item, dict) or merge_key not in item:
            continue
        ident = item[merge_key]
        kept = next((n for n in new if isinstance(n, dict) and n.get(merge_key) == ident), None)
        if kept is None:
            elements.append({DIRECTIVE: "delete", merge_key: ident})
            continue
        element = next((e for e in elements if e.get(merge_key) == ident), None)
        fresh = element is None
        element = element if element is not None else {merge_key: ident}
        _add_deletions(element, item, kept, item_schema)
        if fresh and len(element) > 1:
            elements.append(element)
    if elements:
        patch[key] = elements
