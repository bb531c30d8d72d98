"""The three PATCH bodies of the Kubernetes API, as pure functions over JSON-like dicts.

* ``merge_patch``: ``application/merge-patch+json``, RFC 7386 (``kubectl label``, ``annotate``,
  ``scale``, ``patch --type=merge``).
* ``json_patch``: ``application/json-patch+json``, RFC 6902 (``kubectl rollout undo``,
  ``patch --type=json``), through the ``jsonpatch`` library.
* ``strategic_merge_patch``: ``application/strategic-merge-patch+json`` (client-side
  ``kubectl apply``, ``set image``, ``rollout restart``, ``cordon``, ``taint``): RFC 7386 plus the
  schema's merge keys and the ``$patch`` / ``$setElementOrder`` / ``$deleteFromPrimitiveList`` /
  ``$retainKeys`` directives, modelled on apimachinery ``pkg/util/strategicpatch`` and its design
  notes (``strategic-merge-patch.md``, ``preserve-order-in-strategic-merge-patch.md``).

Server-side apply lives in :mod:`cluster.api.apply`. None of these functions mutates its inputs.
A malformed patch raises :class:`PatchError`; the API edge answers it with a Status.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer

from cluster.api import merge_schema
from cluster.api.merge_schema import Node

Json = Any

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER_PREFIX = "$setElementOrder/"
DELETE_PRIMITIVES_PREFIX = "$deleteFromPrimitiveList/"

# apimachinery's wording (pkg/util/mergepatch/errors.go, strategicpatch/patch.go) where it has one.
NOT_AN_OBJECT = "patch body must be a JSON object, got {type}"
NOT_A_LIST = "json patch must be a JSON array of operations, got {type}"
RESULT_NOT_AN_OBJECT = "the patched document is {type}, not a JSON object"
BAD_DIRECTIVE = "invalid value for the {directive} directive: {value!r}"
NO_MERGE_KEY = "map: {item} does not contain declared merge key: {key}"
NO_MERGE_KEY_FOR_LIST = "cannot merge lists without merge key for {field}"
LIST_MERGE_DIRECTIVE = "merging lists cannot yet be specified in the patch"
BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
BAD_SET_ORDER = "invalid patch format of setElementOrder list"
SET_ORDER_MISMATCH = "the order in patch list {patch} doesn't match $setElementOrder list {order}"
BAD_DELETE_LIST = "invalid patch format of primitive list"


class PatchError(ValueError):
    """A patch that cannot be applied: wrong shape, bad pointer, failed ``test``, bad directive."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Deleted:
    """What a map carrying ``$patch: delete`` merges into: its parent drops the key."""


_DELETED = _Deleted()
_MISSING = object()


def _require_object(value: Json, message: str = NOT_AN_OBJECT) -> dict:
    if not isinstance(value, dict):
        raise PatchError(message.format(type=type(value).__name__))
    return value


# --- RFC 7386 -------------------------------------------------------------------------------


def merge_patch(target: dict, patch: dict) -> dict:
    """RFC 7386 JSON merge patch: ``null`` deletes a key, lists and scalars replace."""
    _require_object(patch)
    return _merge_json(copy.deepcopy(target), patch)


def _merge_json(target: Json, patch: Json) -> Json:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = target if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_json(result.get(key), value)
    return result


# --- RFC 6902 -------------------------------------------------------------------------------


def json_patch(target: dict, ops: list) -> dict:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test) on a copy of ``target``."""
    if not isinstance(ops, list):
        raise PatchError(NOT_A_LIST.format(type=type(ops).__name__))
    try:
        result = jsonpatch.JsonPatch(ops).apply(copy.deepcopy(target))
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as error:
        # jsonpatch quotes the whole document in some messages; keep the first clause.
        raise PatchError(str(error).split(" in {", 1)[0]) from error
    except (TypeError, KeyError, AttributeError, IndexError, ValueError) as error:
        # jsonpatch lets these through for operations missing "path"/"value" or of the wrong type.
        raise PatchError(f"invalid json patch: {error}") from error
    return _require_object(result, RESULT_NOT_AN_OBJECT)


# --- strategic merge patch ------------------------------------------------------------------


def strategic_merge_patch(target: dict, patch: dict, *, gvk: tuple[str, str, str]) -> dict:
    """Kubernetes strategic merge patch of an object of kind ``gvk`` (``("apps", "v1", ...)``).

    Maps merge recursively (``null`` deletes); lists whose schema says ``patchStrategy: merge``
    merge element-wise by their merge key (objects) or as a set (primitives); other lists
    replace. Where the schema does not describe a field (unknown kinds, free-form fields) the
    subtree gets RFC 7386 semantics. No ``$`` directive survives into the result.
    """
    _require_object(patch)
    merged = _merge_map(copy.deepcopy(target), copy.deepcopy(patch), merge_schema.root(gvk))
    return {} if merged is _DELETED else merged


def _merge_map(original: dict, patch: dict, schema: Node | None) -> dict | _Deleted:
    directive = patch.pop(DIRECTIVE, None)
    if directive == "replace":
        return _fresh_map(patch, schema)
    if directive == "delete":
        return _DELETED
    if directive not in (None, "merge"):
        raise PatchError(BAD_DIRECTIVE.format(directive=DIRECTIVE, value=directive))
    _apply_retain_keys(original, patch)
    for key in [k for k in patch if k.startswith(SET_ORDER_PREFIX)]:
        _apply_set_order(original, patch, key[len(SET_ORDER_PREFIX) :], schema)
    deletions = {k: patch.pop(k) for k in list(patch) if k.startswith(DELETE_PRIMITIVES_PREFIX)}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            original.pop(key, None)
            continue
        merged = _merge_value(original.get(key, _MISSING), value, merge_schema.field(schema, key))
        if merged is _DELETED:
            original.pop(key, None)
        else:
            original[key] = merged
    for key, values in deletions.items():
        _delete_primitives(original, key[len(DELETE_PRIMITIVES_PREFIX) :], values)
    return original


def _fresh_map(patch: dict, schema: Node | None) -> dict:
    merged = _merge_map({}, patch, schema)
    return {} if merged is _DELETED else merged


def _merge_value(original: Json, patch: Json, schema: Node | None) -> Json:
    """Merge one field's patch value into its current value (``_MISSING`` when absent)."""
    strategies = merge_schema.patch_strategies(schema)
    if isinstance(patch, dict):
        if isinstance(original, dict) and "replace" not in strategies:
            return _merge_map(original, patch, schema)
        if "replace" in strategies:
            patch.pop(DIRECTIVE, None)
        return _merge_map({}, patch, schema)
    if isinstance(patch, list):
        if "merge" in strategies:
            return _merge_list(original if isinstance(original, list) else [], patch, schema)
        return _replace_list(patch, schema)
    return patch


def _replace_list(patch: list, schema: Node | None) -> list:
    item_schema = merge_schema.items(schema)
    return [
        _merge_value(_MISSING, item, item_schema)
        for item in patch
        if not (isinstance(item, dict) and DIRECTIVE in item)
    ]


def _apply_retain_keys(original: dict, patch: dict) -> None:
    """``$retainKeys``: clear the fields of ``original`` it does not list (strategy, Volume)."""
    if RETAIN_KEYS not in patch:
        return
    retained = patch.pop(RETAIN_KEYS)
    if not isinstance(retained, list):
        raise PatchError(BAD_RETAIN_KEYS)
    for key, value in patch.items():
        if value is not None and not key.startswith("$") and key not in retained:
            raise PatchError(BAD_RETAIN_KEYS)
    for key in [k for k in original if k not in retained]:
        del original[key]


def _delete_primitives(original: dict, key: str, values: Json) -> None:
    """``$deleteFromPrimitiveList/<key>``: drop these values from a list of primitives."""
    if not isinstance(values, list):
        raise PatchError(BAD_DELETE_LIST)
    if isinstance(original.get(key), list):
        original[key] = [v for v in original[key] if v not in values]


def _apply_set_order(original: dict, patch: dict, key: str, schema: Node | None) -> None:
    """Merge ``patch[key]`` into ``original[key]``, then order it by ``$setElementOrder/<key>``."""
    order = patch.pop(SET_ORDER_PREFIX + key)
    if not isinstance(order, list):
        raise PatchError(BAD_SET_ORDER)
    list_schema = merge_schema.field(schema, key)
    patch_list = patch.pop(key, _MISSING)
    if patch_list is None:
        original.pop(key, None)
        return
    if patch_list is not _MISSING and not isinstance(patch_list, list):
        raise PatchError(BAD_SET_ORDER)
    if "merge" not in merge_schema.patch_strategies(list_schema):
        if patch_list is not _MISSING:
            original[key] = _replace_list(patch_list, list_schema)
        return
    current = original.get(key)
    if current is None and patch_list is _MISSING:
        return
    current = current if isinstance(current, list) else []
    patch_list = [] if patch_list is _MISSING else patch_list
    _check_order(patch_list, order, merge_schema.merge_key(list_schema))
    original[key] = _merge_list(current, patch_list, list_schema, order=order)


def _check_order(patch_list: list, order: list, key: str | None) -> None:
    """The patch list must name a subsequence of the order list (deletions aside)."""
    wanted = iter(_identity(item, key) for item in order)
    for item in patch_list:
        if isinstance(item, dict) and DIRECTIVE in item:
            continue
        if _identity(item, key) not in wanted:  # consumes the iterator up to the match
            raise PatchError(SET_ORDER_MISMATCH.format(patch=patch_list, order=order))


def _identity(item: Json, key: str | None) -> Json:
    if key is None or not isinstance(item, dict):
        return item
    if key not in item:
        raise PatchError(NO_MERGE_KEY.format(item=item, key=key))
    return item[key]


def _merge_list(
    original: list, patch: list, schema: Node | None, *, order: list | None = None
) -> list:
    """Merge a ``patchStrategy: merge`` list, then order it as apimachinery does."""
    key = merge_schema.merge_key(schema)
    if any(isinstance(item, dict) for item in (*original, *patch)):
        if key is None:
            raise PatchError(NO_MERGE_KEY_FOR_LIST.format(field=schema and schema.get("type")))
        original, patch, replaced = _special_elements(original, patch, key)
        if replaced:
            return _replace_list(patch, schema)
        merged = _merge_by_key(original, patch, key, merge_schema.items(schema))
    else:
        key = None
        merged = list(original)
        merged += [item for i, item in enumerate(patch) if item not in merged + patch[:i]]
    return _order(merged, order if order is not None else patch, original, key)


def _special_elements(original: list, patch: list, key: str) -> tuple[list, list, bool]:
    """Apply ``{"$patch": "delete", key: ...}`` elements; report ``{"$patch": "replace"}``."""
    plain, replaced = [], False
    for item in patch:
        if not isinstance(item, dict) or DIRECTIVE not in item:
            plain.append(item)
        elif item[DIRECTIVE] == "delete":
            value = _identity(item, key)
            original = [o for o in original if not (isinstance(o, dict) and o.get(key) == value)]
        elif item[DIRECTIVE] == "replace":
            replaced = True
        elif item[DIRECTIVE] == "merge":
            raise PatchError(LIST_MERGE_DIRECTIVE)
        else:
            raise PatchError(BAD_DIRECTIVE.format(directive=DIRECTIVE, value=item[DIRECTIVE]))
    return original, plain, replaced


def _merge_by_key(original: list, patch: list, key: str, item_schema: Node | None) -> list:
    merged = list(original)
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(NO_MERGE_KEY.format(item=item, key=key))
        value = _identity(item, key)
        index = _index(merged, value, key)
        if index < 0:
            merged.append(_fresh_map(item, item_schema))
        else:
            merged[index] = _merge_map(merged[index], item, item_schema)
    return merged


def _index(items: list, identity: Json, key: str | None) -> int:
    for i, item in enumerate(items):
        if (item.get(key, _MISSING) if key and isinstance(item, dict) else item) == identity:
            return i
    return -1


def _order(merged: list, order: list, server: list, key: str | None) -> list:
    """apimachinery's ``normalizeElementOrder``: interleave patch items and server-only items.

    Items named by ``order`` (the ``$setElementOrder`` list, else the patch list) come in that
    order; the others keep their live order. The two runs are then merged: a server-only item
    goes first while it stood before the next named item in the live list; a named item that is
    new always wins, so additions land before the server-only items that follow them.
    """
    named_ids = [_identity(item, key) for item in order if not _is_directive(item)]
    named = [item for item in merged if _identity(item, key) in named_ids]
    others = [item for item in merged if _identity(item, key) not in named_ids]
    named.sort(key=lambda item: named_ids.index(_identity(item, key)))
    others.sort(key=lambda item: _index(server, _identity(item, key), key))
    result: list = []
    while named and others:
        live_other = _index(server, _identity(others[0], key), key)
        live_named = _index(server, _identity(named[0], key), key)
        take_other = live_other >= 0 and live_named >= 0 and live_other < live_named
        result.append(others.pop(0) if take_other else named.pop(0))
    return result + named + others


def _is_directive(item: Json) -> bool:
    return isinstance(item, dict) and DIRECTIVE in item
