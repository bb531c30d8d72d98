"""The Kubernetes v1.32 type definitions, and the server-side field validation done with them.

The definitions are the JSON-schema rendering of the API's OpenAPI that the
``kubernetes_validate`` package ships (``v1.32.0-local/_definitions.json``): every type with its
descriptions, ``x-kubernetes-group-version-kind`` and patch merge keys. :mod:`cluster.api.openapi`
serves them to kubectl; this module checks request bodies against them, as kube-apiserver's
decoder does for ``?fieldValidation=Strict|Warn|Ignore``:

* :func:`unknown_fields` lists the fields the types do not declare, as the apiserver's strict
  decoder names them (``spec.template.spec.containers[0].imagee``). With ``Strict`` the request
  fails with 400 BadRequest and :func:`strict_decoding_message`; with ``Warn`` each becomes a
  ``Warning`` header; with ``Ignore`` they are dropped silently.
* :func:`type_errors` lists values of the wrong JSON type (``replicas: "three"``). The apiserver
  refuses those whatever ``fieldValidation`` says (decoding into the Go struct fails), with the
  *first* error's message: :func:`cannot_handle_message`.

A hand walk of the definitions rather than jsonschema: it runs on every write and takes well
under a millisecond for a Deployment, and it yields the apiserver's paths and messages directly.
Duplicate keys are not detected: the body arrives here already parsed into a dict.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = "v1.32.0"
REF_PREFIX = "#/$defs/"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"

# apiserver's wording (apimachinery runtime/serializer/json, sigs.k8s.io/json, encoding/json).
CANNOT_HANDLE = '{kind} in version "{version}" cannot be handled as a {kind}: {detail}'
STRICT_DECODING = "strict decoding error: {fields}"
UNKNOWN_FIELD = 'unknown field "{path}"'
UNMARSHAL_TYPE = "json: cannot unmarshal {got} into Go struct field {struct}.{path} of type {want}"
QUANTITY_FORMAT = "quantities must match the regular expression '{regex}'"
TYPE_INVALID = "FieldValueTypeInvalid"

_QUANTITY_RE = r"^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
_QUANTITY = re.compile(_QUANTITY_RE)
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


@functools.cache
def definitions() -> dict[str, dict]:
    """All v1.32 definitions by name (``io.k8s.api.apps.v1.Deployment``), loaded once."""
    root = importlib.resources.files("kubernetes_validate") / "kubernetes-json-schema"
    text = (root / f"{SCHEMA_VERSION}-local" / "_definitions.json").read_text()
    return json.loads(text)["$defs"]


@functools.cache
def definition_name(*, group: str, version: str, kind: str) -> str | None:
    """The definition whose ``x-kubernetes-group-version-kind`` names this kind, if any."""
    wanted = {"group": group, "version": version, "kind": kind}
    for name, schema in definitions().items():
        if wanted in schema.get("x-kubernetes-group-version-kind", ()):
            return name
    return None


def ref_name(schema: dict) -> str | None:
    ref = schema.get("$ref")
    return ref.removeprefix(REF_PREFIX) if ref else None


def json_types(schema: dict) -> tuple[str, ...]:
    """The JSON types a schema allows, without ``null`` (which every field accepts: Go decodes
    it as the zero value)."""
    kind = schema.get("type")
    if kind is None:
        return ()
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    return tuple(k for k in kinds if k != "null")


# --- unknown fields ----------------------------------------------------------------------------


def unknown_fields(body: dict, *, group: str, version: str, kind: str) -> list[str]:
    """The paths of fields in ``body`` that the kind's type does not declare, in document order:
    ``["spec.replicass", "spec.template.spec.containers[0].imagee"]``. Map keys (labels,
    annotations, resource lists) are never unknown; neither is anything inside free-form types
    (``FieldsV1``, ``RawExtension``). An unknown kind yields no paths."""
    name = definition_name(group=group, version=version, kind=kind)
    if name is None:
        return []
    found: list[str] = []
    _walk_unknown(body, definitions()[name], "", found)
    return found


def _resolve(schema: dict) -> dict:
    name = ref_name(schema)
    return definitions()[name] if name else schema


def _walk_unknown(value: Any, schema: dict, path: str, found: list[str]) -> None:
    schema = _resolve(schema)
    if isinstance(value, dict):
        properties = schema.get("properties")
        if properties is not None:
            for key, child in value.items():
                sub = properties.get(key)
                child_path = f"{path}.{key}" if path else key
                if sub is None:
                    found.append(child_path)
                else:
                    _walk_unknown(child, sub, child_path, found)
        elif isinstance(schema.get("additionalProperties"), dict):
            values = schema["additionalProperties"]
            for key, child in value.items():
                _walk_unknown(child, values, f"{path}.{key}" if path else key, found)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, child in enumerate(value):
            _walk_unknown(child, schema["items"], f"{path}[{index}]", found)


def strict_decoding_message(*, kind: str, version: str, fields: list[str]) -> str:
    """The 400 BadRequest message for ``fieldValidation=Strict``:
    ``Deployment in version "v1" cannot be handled as a Deployment: strict decoding error:
    unknown field "spec.replicass"``."""
    detail = STRICT_DECODING.format(
        fields=", ".join(UNKNOWN_FIELD.format(path=path) for path in fields)
    )
    return cannot_handle_message(kind=kind, version=version, detail=detail)


def cannot_handle_message(*, kind: str, version: str, detail: str) -> str:
    return CANNOT_HANDLE.format(kind=kind, version=version, detail=detail)


def unknown_field_warnings(fields: list[str]) -> list[str]:
    """``fieldValidation=Warn``: one ``Warning: 299 - "<text>"`` header text per field."""
    return [UNKNOWN_FIELD.format(path=path) for path in fields]


# --- wrong types -------------------------------------------------------------------------------


def type_errors(body: dict, *, group: str, version: str, kind: str) -> list[dict]:
    """Values whose JSON type the kind's type cannot decode, as Status causes:
    ``{"reason": "FieldValueTypeInvalid", "field": "spec.replicas", "message": "json: cannot
    unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"}``.

    int-or-string fields take integers and strings, quantities numbers and strings matching
    the quantity syntax. The apiserver stops at the first of these (its decoder keeps the first
    error), so a view answers 400 BadRequest with ``causes[0]["message"]``."""
    name = definition_name(group=group, version=version, kind=kind)
    if name is None:
        return []
    walker = _TypeWalker()
    walker.walk(body, {"$ref": REF_PREFIX + name}, _At(kind, "", ""))
    return walker.found


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


# Which JSON value kinds (as _json_kind names them) each schema type accepts.
_ACCEPTS = {
    "object": "object",
    "array": "array",
    "string": "string",
    "boolean": "bool",
    "number": "number",
    "integer": "number",
}


def go_type(schema: dict) -> str:
    """How Go spells the field's type in encoding/json's messages: ``int32``, ``[]v1.Container``,
    ``map[string]string``, ``v1.PodSpec``, ``intstr.IntOrString``."""
    name = ref_name(schema)
    if name:
        package, _, type_name = name.rpartition(".")
        return f"{package.rpartition('.')[2]}.{type_name}"
    types = json_types(schema)
    kind = types[0] if types else ""
    if kind == "array":
        return "[]" + go_type(schema.get("items") or {})
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return "map[string]" + go_type(schema["additionalProperties"])
    if kind == "integer":
        return schema.get("format", "int")
    if kind == "number":
        return "float64"
    return {"string": "string", "boolean": "bool"}.get(kind, "interface {}")


@dataclass(frozen=True)
class _At:
    """Where a value sits: the innermost Go struct and the index-free JSON path, as
    encoding/json names them, and the Kubernetes field path with list indices."""

    struct: str
    path: str
    go_path: str

    def field(self, key: str, struct: str) -> _At:
        return _At(
            struct,
            f"{self.path}.{key}" if self.path else key,
            f"{self.go_path}.{key}" if self.go_path else key,
        )

    def map_value(self, key: str) -> _At:
        return _At(self.struct, f"{self.path}.{key}" if self.path else key, self.go_path)

    def item(self, index: int) -> _At:
        return _At(self.struct, f"{self.path}[{index}]", self.go_path)


@dataclass
class _TypeWalker:
    found: list[dict] = field(default_factory=list)

    def walk(self, value: Any, schema: dict, at: _At) -> None:
        if value is None:
            return
        name = ref_name(schema)
        if name == INT_OR_STRING or schema.get("format") == "int-or-string":
            self._int_or_string(value, schema, at)
            return
        if name == QUANTITY:
            self._quantity(value, schema, at)
            return
        resolved = definitions()[name] if name else schema
        types = json_types(resolved)
        got = _json_kind(value)
        if types and got not in {_ACCEPTS[t] for t in types}:
            self._error(got, schema, at)
        elif "integer" in types and got == "number":
            self._integer(value, resolved.get("format", "int64"), schema, at)
        elif got == "object":
            self._object(value, resolved, name.rpartition(".")[2] if name else at.struct, at)
        elif got == "array" and isinstance(resolved.get("items"), dict):
            for index, child in enumerate(value):
                self.walk(child, resolved["items"], at.item(index))

    def _object(self, value: dict, resolved: dict, struct: str, at: _At) -> None:
        properties = resolved.get("properties")
        values = resolved.get("additionalProperties")
        for key, child in value.items():
            if properties is not None:
                if key in properties:
                    self.walk(child, properties[key], at.field(key, struct))
            elif isinstance(values, dict):
                self.walk(child, values, at.map_value(key))

    def _error(self, got: str, schema: dict, at: _At) -> None:
        message = UNMARSHAL_TYPE.format(
            got=got, struct=at.struct, path=at.go_path, want=go_type(schema)
        )
        self.found.append({"reason": TYPE_INVALID, "message": message, "field": at.path})

    def _integer(self, value: float, go_format: str, schema: dict, at: _At) -> None:
        low, high = _INT_RANGES.get(go_format, _INT_RANGES["int64"])
        if not float(value).is_integer() or not low <= value <= high:
            self._error(f"number {value}", schema, at)

    def _int_or_string(self, value: Any, schema: dict, at: _At) -> None:
        got = _json_kind(value)
        if got == "number":
            self._integer(value, "int32", schema, at)
        elif got != "string":
            self._error(got, schema, at)

    def _quantity(self, value: Any, schema: dict, at: _At) -> None:
        got = _json_kind(value)
        if got == "string" and not _QUANTITY.match(value):
            message = QUANTITY_FORMAT.format(regex=_QUANTITY_RE)
            self.found.append({"reason": TYPE_INVALID, "message": message, "field": at.path})
        elif got not in ("string", "number"):
            self._error(got, schema, at)
