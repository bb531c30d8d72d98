"""Server-side apply and field ownership (``metadata.managedFields``), as pure functions.

Models kube-apiserver's field manager (``apiserver/pkg/endpoints/handlers/fieldmanager``) over
structured-merge-diff: every write records which manager set which fields.

* ``server_side_apply`` answers ``PATCH`` with ``application/apply-patch+yaml``
  (``kubectl apply --server-side``): the applied configuration is merged into the live object
  (or an empty one, to create it); the applier now owns exactly the fields it listed; fields it
  owned before and no longer lists are removed unless another manager owns them; changing a
  field another manager owns is a conflict unless ``force`` (``--force-conflicts``) moves it.
* ``record_update`` follows every other write (create, update, the other patches): the writer's
  ``Update`` entry gains the fields whose values it set or changed, and other managers lose them.

Field sets are sets of paths; a path is a tuple of ``(kind, text)`` elements in FieldsV1's own
vocabulary: ``("f", "spec")`` a field, ``("k", '{"name":"nginx"}')`` an element of a map list,
``("v", '"x"')`` an element of a set list, ``("i", "0")`` an element found by index.
"""

from __future__ import annotations

import copy
import json
from typing import Any, NamedTuple

from cluster.api import merge_schema
from cluster.api.merge_schema import Node
from cluster.api.patch import PatchError

Json = Any
PathElement = tuple[str, str]
Path = tuple[PathElement, ...]
FieldSet = set[Path]

APPLY = "Apply"
UPDATE = "Update"
FIELDS_V1 = "FieldsV1"
# Ownership of an object that existed before any manager was recorded (kube-apiserver's name).
BEFORE_FIRST_APPLY = "before-first-apply"

NOT_AN_OBJECT = "the applied configuration must be an object, got {type}"
ONE_CONFLICT = "Apply failed with 1 conflict: conflict with {manager}: {path}"
MANY_CONFLICTS = "Apply failed with {count} conflicts: {details}"
CAUSE_MESSAGE = "conflict with {manager}"
CAUSE_REASON = "FieldManagerConflict"

# Never tracked: the object's identity and server-set metadata (the apiserver's "strip meta"
# manager) and the status of the main resource (reset on writes to it).
_IGNORED_EXACT: frozenset[Path] = frozenset(
    {(("f", "apiVersion"),), (("f", "kind"),), (("f", "metadata"),)}
    | {
        (("f", "metadata"), ("f", name))
        for name in (
            "name",
            "namespace",
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "selfLink",
            "managedFields",
        )
    }
)
_IGNORED_PREFIXES: frozenset[Path] = frozenset(
    {
        (("f", "status"),),
        (("f", "metadata"), ("f", "managedFields")),
    }
)
_NODE = object()  # the flattened value of a path that is a container, not a leaf
_MISSING = object()


class Conflict(NamedTuple):
    """A field the applier would change that ``manager`` owns; ``path`` as kube prints it."""

    manager: str
    path: str
    operation: str = APPLY
    api_version: str = ""


class ApplyConflict(Exception):
    """The applied configuration changes fields other managers own, and ``force`` was false."""

    def __init__(self, conflicts: list[Conflict]) -> None:
        super().__init__(conflict_message(conflicts))
        self.conflicts = conflicts

    def causes(self) -> list[dict]:
        return conflict_causes(self.conflicts)


class _Entry(NamedTuple):
    manager: str
    operation: str
    api_version: str
    time: str | None
    fields: frozenset[Path]
    subresource: str | None = None

    def identity(self) -> tuple[str, str, str, str | None]:
        # An applier keeps one entry across versions; an updater has one per apiVersion.
        version = "" if self.operation == APPLY else self.api_version
        return self.manager, self.operation, version, self.subresource


# --- public API -----------------------------------------------------------------------------


def server_side_apply(
    live: dict | None,
    applied: dict,
    *,
    manager: str,
    force: bool,
    gvk: tuple[str, str, str],
    now: str,
) -> dict:
    """The object after ``manager`` applies ``applied`` to ``live`` (``None``: create it)."""
    if not isinstance(applied, dict):
        raise PatchError(NOT_AN_OBJECT.format(type=type(applied).__name__))
    schema = merge_schema.root(gvk)
    api_version = _api_version(gvk)
    live = copy.deepcopy(live) if live is not None else {}
    config = _without_untracked(applied)
    entries = _entries(live, schema)
    identity = (manager, APPLY, "", None)
    previous = next((e for e in entries if e.identity() == identity), None)
    applied_set = frozenset(_tracked(_flatten(config, schema, granular_maps=False)))

    merged = _merge(live, config, schema)
    others = [e for e in entries if e.identity() != identity]
    if previous is not None:
        _prune(merged, previous.fields - applied_set, others, applied_set)
    changed = _changed(live, merged, schema)
    conflicts = _conflicts(others, changed)
    if conflicts and not force:
        raise ApplyConflict(conflicts)

    others = _disown(others, changed | _removed(live, merged, schema))
    touched = previous is None or previous.fields != applied_set or merged != live
    entry = _Entry(manager, APPLY, api_version, _time(previous, now, touched), applied_set)
    return _with_entries(merged, [*others, entry])


def record_update(old: dict | None, new: dict, *, manager: str, now: str, api_version: str) -> dict:
    """``new`` with managedFields updated for a create/update/patch by ``manager``."""
    schema = merge_schema.root((*_split_api_version(api_version), new.get("kind", "")))
    old = old if old is not None else {}
    new = copy.deepcopy(new)
    entries = _entries(old, schema)
    identity = (manager, UPDATE, api_version, None)
    previous = next((e for e in entries if e.identity() == identity), None)
    changed = _changed(old, new, schema)
    removed = _removed(old, new, schema)
    others = _disown([e for e in entries if e.identity() != identity], changed | removed)
    owned = ((previous.fields if previous else frozenset()) - removed) | changed
    touched = bool(changed or removed) or previous is None or owned != previous.fields
    entry = _Entry(manager, UPDATE, api_version, _time(previous, now, touched), owned)
    return _with_entries(new, [*others, entry])


def conflict_message(conflicts: list[Conflict]) -> str:
    """The Status message kube-apiserver writes for apply conflicts (``getConflictMessage``)."""
    if len(conflicts) == 1:
        (conflict,) = conflicts
        return ONE_CONFLICT.format(manager=_manager_label(conflict), path=conflict.path)
    by_manager: dict[str, list[str]] = {}
    for conflict in conflicts:
        by_manager.setdefault(_manager_label(conflict), []).append(conflict.path)
    lines = []
    for label in sorted(by_manager):
        lines.append(f"conflicts with {label}:")
        lines += [f"- {path}" for path in by_manager[label]]
    return MANY_CONFLICTS.format(count=len(conflicts), details="\n".join(lines))


def conflict_causes(conflicts: list[Conflict]) -> list[dict]:
    """``details.causes`` of the 409 Status: one ``FieldManagerConflict`` per field."""
    return [
        {
            "reason": CAUSE_REASON,
            "message": CAUSE_MESSAGE.format(manager=_manager_label(c)),
            "field": c.path,
        }
        for c in conflicts
    ]


def encode_fields(fields: FieldSet | frozenset[Path]) -> dict:
    """A field set as FieldsV1 JSON: ``{"f:spec": {"f:replicas": {}}}``, ``.`` for members."""
    trie: dict = {}
    for path in fields:
        node = trie
        for element in path:
            node = node.setdefault(_element_text(element), {})
        node["."] = {}
    return _finish_trie(trie)


def decode_fields(fields_v1: dict) -> FieldSet:
    """The inverse of :func:`encode_fields`."""
    out: FieldSet = set()
    _decode_into(fields_v1, (), out)
    return out


def path_string(path: Path) -> str:
    """A path as kube prints it: ``.spec.template.spec.containers[name="nginx"].image``."""
    parts = []
    for kind, text in path:
        if kind == "f":
            parts.append(f".{text}")
        elif kind == "k":
            keys = json.loads(text)
            parts.append("[" + ",".join(f"{k}={_compact(v)}" for k, v in keys.items()) + "]")
        elif kind == "v":
            parts.append(f"[={text}]")
        else:
            parts.append(f"[{text}]")
    return "".join(parts)


# --- managedFields entries ------------------------------------------------------------------


def _api_version(gvk: tuple[str, str, str]) -> str:
    group, version, _ = gvk
    return f"{group}/{version}" if group else version


def _split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


def _entries(obj: dict, schema: Node | None) -> list[_Entry]:
    """The entries of ``obj``; an object nobody was recorded for is all ``before-first-apply``."""
    raw = (obj.get("metadata") or {}).get("managedFields")
    if raw is None:
        if not obj:
            return []
        everything = frozenset(_tracked(_flatten(obj, schema, granular_maps=True)))
        version = obj.get("apiVersion", "")
        return [_Entry(BEFORE_FIRST_APPLY, UPDATE, version, None, everything)] if everything else []
    return [
        _Entry(
            manager=item.get("manager", ""),
            operation=item.get("operation", UPDATE),
            api_version=item.get("apiVersion", ""),
            time=item.get("time"),
            fields=frozenset(decode_fields(item.get("fieldsV1") or {})),
            subresource=item.get("subresource"),
        )
        for item in raw
        if isinstance(item, dict)
    ]


def _time(previous: _Entry | None, now: str, touched: bool) -> str | None:
    """A manager's entry is stamped when its write changed the object or its fields."""
    return now if touched or previous is None else previous.time


def _disown(entries: list[_Entry], paths: FieldSet) -> list[_Entry]:
    return [e._replace(fields=e.fields - paths) for e in entries]


def _with_entries(obj: dict, entries: list[_Entry]) -> dict:
    kept = sorted(
        (e for e in entries if e.fields),
        key=lambda e: (e.operation, e.time or "", e.manager, e.api_version, e.subresource or ""),
    )
    obj.setdefault("metadata", {})["managedFields"] = [_encode_entry(e) for e in kept]
    return obj


def _encode_entry(entry: _Entry) -> dict:
    encoded: dict = {
        "manager": entry.manager,
        "operation": entry.operation,
        "apiVersion": entry.api_version,
    }
    if entry.time:
        encoded["time"] = entry.time
    encoded["fieldsType"] = FIELDS_V1
    encoded["fieldsV1"] = encode_fields(entry.fields)
    if entry.subresource:
        encoded["subresource"] = entry.subresource
    return encoded


def _manager_label(conflict: Conflict) -> str:
    # kube-apiserver's printManager: updaters are named with the apiVersion they wrote.
    label = json.dumps(conflict.manager)
    if conflict.operation == UPDATE and conflict.api_version:
        return f"{label} using {conflict.api_version}"
    return label


def _conflicts(others: list[_Entry], changed: FieldSet) -> list[Conflict]:
    found = [
        (entry, path) for entry in others for path in sorted(entry.fields & changed, key=_sort_key)
    ]
    return [Conflict(e.manager, path_string(p), e.operation, e.api_version) for e, p in found]


# --- FieldsV1 -------------------------------------------------------------------------------

_KIND_ORDER = {"f": 0, "k": 1, "v": 2, "i": 3}


def _sort_key(path: Path) -> tuple:
    return tuple((_KIND_ORDER.get(kind, 4), text) for kind, text in path)


def _element_text(element: PathElement) -> str:
    return f"{element[0]}:{element[1]}"


def _finish_trie(node: dict) -> dict:
    children = sorted((k for k in node if k != "."), key=lambda k: (_KIND_ORDER.get(k[0], 4), k))
    finished = {k: _finish_trie(node[k]) for k in children}
    return {".": {}, **finished} if "." in node and finished else finished


def _decode_into(node: dict, prefix: Path, out: FieldSet) -> None:
    for text, child in node.items():
        if text == ".":
            out.add(prefix)
            continue
        kind, _, rest = text.partition(":")
        path = (*prefix, (kind, rest))
        if not child:
            out.add(path)
        else:
            _decode_into(child, path, out)


def _compact(value: Json) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


# --- walking objects with their schema ------------------------------------------------------


def _without_untracked(applied: dict) -> dict:
    config = copy.deepcopy(applied)
    config.pop("status", None)
    metadata = config.get("metadata")
    if isinstance(metadata, dict):
        for name in ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"):
            metadata.pop(name, None)
    return config


def _tracked(flat: dict[Path, Json]) -> dict[Path, Json]:
    return {
        path: value
        for path, value in flat.items()
        if path
        and path not in _IGNORED_EXACT
        and path[:1] not in _IGNORED_PREFIXES
        and path[:2] not in _IGNORED_PREFIXES
    }


def _flatten(value: Json, schema: Node | None, *, granular_maps: bool) -> dict[Path, Json]:
    """Every path of ``value`` that a field set can hold, mapped to its leaf value or ``_NODE``.

    As structured-merge-diff's ``ToFieldSet``: leaves, list elements, map entries that are not
    declared struct fields, and empty or null fields. ``granular_maps`` also lists each non-empty
    string-keyed map itself (``labels``), which an ``Update`` owns when it creates the map.
    """
    out: dict[Path, Json] = {}
    _walk(value, schema, (), out, granular_maps)
    return out


def _walk(value: Json, schema: Node | None, path: Path, out: dict, granular: bool) -> None:
    # Containers are first recorded as _NODE; a leaf overwrites that with its own value.
    if isinstance(value, dict) and value and not merge_schema.is_atomic_map(schema):
        struct = merge_schema.is_struct(schema)
        if path and granular and not struct:
            out[path] = _NODE
        declared = (schema or {}).get("properties") or {}
        for key, child in value.items():
            child_path = (*path, ("f", key))
            if child is None or child == {} or not (struct and key in declared):
                out[child_path] = _NODE
            _walk(child, merge_schema.field(schema, key), child_path, out, granular)
    elif isinstance(value, list) and value and merge_schema.list_type(schema)[0] != "atomic":
        item_schema = merge_schema.items(schema)
        for index, item in enumerate(value):
            item_path = (*path, _list_element(item, index, schema))
            out[item_path] = _NODE
            _walk(item, item_schema, item_path, out, granular)
    elif path:
        out[path] = copy.deepcopy(value)


def _list_element(item: Json, index: int, schema: Node | None) -> PathElement:
    kind, keys = merge_schema.list_type(schema)
    if kind == "set" and not isinstance(item, dict | list):
        return "v", _compact(item)
    if kind == "map" and isinstance(item, dict):
        present = {k: item[k] for k in sorted(keys) if k in item}
        if present:
            return "k", _compact(present)
    return "i", str(index)


def _changed(old: dict, new: dict, schema: Node | None) -> FieldSet:
    """Paths of ``new`` that are added, or leaves whose value differs from ``old``."""
    before = _tracked(_flatten(old, schema, granular_maps=True))
    after = _tracked(_flatten(new, schema, granular_maps=True))
    return {
        path
        for path, value in after.items()
        if path not in before or (value is not _NODE and before[path] != value)
    }


def _removed(old: dict, new: dict, schema: Node | None) -> FieldSet:
    before = _tracked(_flatten(old, schema, granular_maps=True))
    after = _tracked(_flatten(new, schema, granular_maps=True))
    return set(before) - set(after)


# --- merging and pruning --------------------------------------------------------------------


def _merge(live: Json, applied: Json, schema: Node | None) -> Json:
    """Merge an applied configuration into a live value (structured-merge-diff's ``Merge``)."""
    if isinstance(applied, dict) and not merge_schema.is_atomic_map(schema):
        result = copy.deepcopy(live) if isinstance(live, dict) else {}
        for key, value in applied.items():
            if value is None:
                result.pop(key, None)
            else:
                child = _merge(result.get(key, _MISSING), value, merge_schema.field(schema, key))
                result[key] = child
        return result
    if isinstance(applied, list):
        kind, _ = merge_schema.list_type(schema)
        current = live if isinstance(live, list) else []
        if kind == "set":
            return copy.deepcopy(current) + [v for v in applied if v not in current]
        if kind == "map":
            return _merge_map_list(current, applied, schema)
    return copy.deepcopy(applied)


def _merge_map_list(live: list, applied: list, schema: Node | None) -> list:
    """Live elements keep their place (merged when applied too); new ones are appended."""
    item_schema = merge_schema.items(schema)
    result = copy.deepcopy(live)
    positions = {_list_element(item, i, schema): i for i, item in enumerate(result)}
    for index, item in enumerate(applied):
        element = _list_element(item, index, schema)
        if element[0] != "i" and element in positions:
            result[positions[element]] = _merge(result[positions[element]], item, item_schema)
        else:
            positions[element] = len(result)
            result.append(_merge(_MISSING, item, item_schema))
    return result


def _prune(
    obj: dict, dropped: frozenset[Path], others: list[_Entry], kept: frozenset[Path]
) -> None:
    """Remove fields the applier dropped from its configuration that nobody else owns."""
    owned = set(kept).union(*(e.fields for e in others))
    still_needed = {path[:i] for path in owned for i in range(1, len(path) + 1)}
    for path in sorted(dropped, key=len):
        if path not in still_needed:
            _remove(obj, path, still_needed)


def _remove(node: Json, path: Path, still_needed: set[Path], depth: int = 0) -> bool:
    """Delete ``path`` below ``node``; report whether ``node`` is left empty and unowned."""
    index = _find(node, path[depth])
    if index is _MISSING:
        return False
    if depth == len(path) - 1 or _remove(node[index], path, still_needed, depth + 1):
        del node[index]
    return not node and depth > 0 and path[:depth] not in still_needed


def _find(node: Json, element: PathElement) -> Json:
    """The dict key or list index of ``element`` in ``node``, or ``_MISSING``."""
    kind, text = element
    if kind == "f":
        return text if isinstance(node, dict) and text in node else _MISSING
    if not isinstance(node, list):
        return _MISSING
    if kind == "i":
        return int(text) if int(text) < len(node) else _MISSING
    wanted = json.loads(text)
    for i, item in enumerate(node):
        if kind == "v" and item == wanted:
            return i
        if (
            kind == "k"
            and isinstance(item, dict)
            and all(item.get(k) == v for k, v in wanted.items())
        ):
            return i
    return _MISSING
