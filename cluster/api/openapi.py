"""OpenAPI v3 documents for the served group-versions, built from the v1.32 definitions.

kubectl reads them for two things (kubectl-api.md §1.5):

* ``create -f`` / ``apply -f`` look for a PATCH operation of the object's kind with a
  ``fieldValidation`` query parameter; finding it, kubectl trusts the server to validate and
  sends ``?fieldValidation=Strict`` instead of validating client-side (or failing with "failed
  to download openapi").
* ``kubectl explain`` walks ``components.schemas`` from the kind's schema and prints the
  descriptions.

Each document has the shape kube-apiserver publishes at ``/openapi/v3/apis/<group>/<version>``:
the schemas of the served kinds, their lists and everything they reference, with ``$ref``
rewritten to ``#/components/schemas/...`` (wrapped in ``allOf`` where the reference carries a
description, since OpenAPI 3.0 ignores siblings of ``$ref``), and one path per collection and
item URL. The index at ``/openapi/v3`` names each document with a content hash, which keys
kubectl's HTTP cache. Everything here is pure and cached for the life of the process.
"""

from __future__ import annotations

import functools
import hashlib
import json

from cluster.api import resources, schema

COMPONENTS = "#/components/schemas/"
PATCH_CONTENT_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
RESPONSE_CONTENT_TYPES = ("application/json", "application/yaml")
DELETE_OPTIONS = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
PATCH = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
STATUS = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
# The JSON-schema rendering lost these two: OpenAPI spells them as strings with a format.
SCALARS = {
    schema.INT_OR_STRING: {
        "description": "IntOrString is a type that can hold an int32 or a string.  When used in "
        "JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.",
        "format": "int-or-string",
        "type": "string",
    },
    schema.QUANTITY: {
        "description": "Quantity is a fixed-point representation of a number, written as a "
        'string ("500m", "1Gi", "2") or a number.',
        "type": "string",
    },
}

FIELD_VALIDATION = (
    "fieldValidation instructs the server on how to handle objects in the request "
    "(POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: Ignore, Warn "
    "(the default), Strict."
)
QUERY_PARAMETERS = {
    "dryRun": ("string", "When present, indicates that modifications should not be persisted."),
    "fieldManager": ("string", "A name associated with the actor making these changes."),
    "fieldValidation": ("string", FIELD_VALIDATION),
    "force": ("boolean", 'Force is going to "force" Apply requests.'),
    "labelSelector": ("string", "A selector to restrict the list of returned objects by labels."),
    "fieldSelector": ("string", "A selector to restrict the list of returned objects by fields."),
    "limit": ("integer", "limit is a maximum number of responses to return for a list call."),
    "resourceVersion": ("string", "Which version of the resource to read."),
    "watch": ("boolean", "Watch for changes to the described resources."),
}


# --- schemas -----------------------------------------------------------------------------------


def convert(node: object) -> object:
    """One JSON-schema node as OpenAPI 3.0: ``$ref`` into components (in ``allOf`` when it has
    siblings), nullable type lists reduced to the type, the ``apiVersion``/``kind`` enums that
    the JSON-schema rendering added dropped. Extensions and descriptions are kept."""
    if isinstance(node, list):
        return [convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict = {}
    for key, value in node.items():
        if key == "$ref":
            continue
        if key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            if types:
                out["type"] = types[0]
        elif key == "properties":
            out[key] = {name: _property(name, sub) for name, sub in value.items()}
        else:
            out[key] = convert(value)
    name = schema.ref_name(node)
    if name:
        ref = {"$ref": COMPONENTS + name}
        if not out:
            return ref
        out["allOf"] = [ref]
    return out


def _property(name: str, node: dict) -> object:
    converted = convert(node)
    if name in ("apiVersion", "kind") and isinstance(converted, dict):
        converted.pop("enum", None)
    return converted


def _refs(node: object) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            name = schema.ref_name(item)
            if name:
                found.add(name)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def reachable(roots: set[str]) -> list[str]:
    """The definitions named by ``roots`` and every definition they reference, sorted."""
    defs = schema.definitions()
    seen: set[str] = set()
    todo = [r for r in roots if r in defs]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(r for r in _refs(defs[name]) if r not in seen and r in defs)
    return sorted(seen)


def component_schemas(roots: set[str]) -> dict:
    defs = schema.definitions()
    return {name: SCALARS.get(name) or convert(defs[name]) for name in reachable(roots)}


# --- paths -------------------------------------------------------------------------------------


def _gvk(res: resources.Resource) -> dict:
    return {"group": res.group, "kind": res.kind, "version": res.version}


def _query(*names: str) -> list[dict]:
    return [
        {
            "description": QUERY_PARAMETERS[n][1],
            "in": "query",
            "name": n,
            "schema": {"type": QUERY_PARAMETERS[n][0], "uniqueItems": True},
        }
        for n in names
    ]


def _responses(ref: str, *codes: str) -> dict:
    content = {ct: {"schema": {"$ref": COMPONENTS + ref}} for ct in RESPONSE_CONTENT_TYPES}
    text = {"200": "OK", "201": "Created", "202": "Accepted"}
    out = {code: {"content": content, "description": text[code]} for code in codes}
    out["401"] = {"description": "Unauthorized"}
    return out


def _operation(
    res: resources.Resource,
    *,
    action: str,
    description: str,
    operation_id: str,
    parameters: list[dict],
    responses: dict,
    body: dict | None = None,
) -> dict:
    operation = {
        "description": description,
        "operationId": operation_id,
        "parameters": parameters,
        "responses": responses,
        "tags": [f"{res.group.split('.')[0]}_{res.version}" if res.group else "core_v1"],
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(res),
    }
    if body is not None:
        operation["requestBody"] = {"content": body, "required": True}
    return operation


def _path_parameters(res: resources.Resource, *, item: bool) -> list[dict]:
    params = []
    if item:
        params.append(_path_param("name", f"name of the {res.kind}"))
    if res.namespaced:
        params.append(_path_param("namespace", "object name and auth scope, such as for teams"))
    return params


def _path_param(name: str, description: str) -> dict:
    return {
        "description": description,
        "in": "path",
        "name": name,
        "required": True,
        "schema": {"type": "string", "uniqueItems": True},
    }


def _op_id(verb: str, res: resources.Resource, *, suffix: str = "") -> str:
    group = "".join(p.capitalize() for p in res.group.split(".")[:1]) if res.group else "Core"
    scope = "Namespaced" if res.namespaced else ""
    return f"{verb}{group}{res.version.capitalize()}{scope}{res.kind}{suffix}"


def resource_paths(res: resources.Resource) -> dict:
    """The collection and item paths of one resource, with kube-apiserver's operations:
    list/create/deletecollection on the collection, get/put/patch/delete on the item, and a
    cluster-wide list for namespaced kinds."""
    root = f"/apis/{res.group}/{res.version}" if res.group else f"/api/{res.version}"
    scoped = f"{root}/{res.name}"
    if res.namespaced:
        scoped = f"{root}/namespaces/{{namespace}}/{res.name}"
    definition = schema.definition_name(group=res.group, version=res.version, kind=res.kind)
    list_definition = schema.definition_name(
        group=res.group, version=res.version, kind=res.kind + "List"
    )
    assert definition and list_definition, res
    json_body = {"*/*": {"schema": {"$ref": COMPONENTS + definition}}}
    patch_body = {ct: {"schema": {"$ref": COMPONENTS + PATCH}} for ct in PATCH_CONTENT_TYPES}
    write = _query("dryRun", "fieldManager", "fieldValidation")
    listing = _query("fieldSelector", "labelSelector", "limit", "resourceVersion", "watch")
    name = res.kind
    paths = {
        scoped: {
            "get": _operation(
                res,
                action="list",
                description=f"list or watch objects of kind {name}",
                operation_id=_op_id("list", res),
                parameters=listing,
                responses=_responses(list_definition, "200"),
            ),
            "post": _operation(
                res,
                action="post",
                description=f"create a {name}",
                operation_id=_op_id("create", res),
                parameters=write,
                responses=_responses(definition, "200", "201", "202"),
                body=json_body,
            ),
            "delete": _operation(
                res,
                action="deletecollection",
                description=f"delete collection of {name}",
                operation_id=_op_id("delete", res, suffix="Collection"),
                parameters=_query("dryRun", "fieldSelector", "labelSelector"),
                responses=_responses(STATUS, "200"),
                body={"*/*": {"schema": {"$ref": COMPONENTS + DELETE_OPTIONS}}},
            ),
            "parameters": _path_parameters(res, item=False),
        },
        f"{scoped}/{{name}}": {
            "get": _operation(
                res,
                action="get",
                description=f"read the specified {name}",
                operation_id=_op_id("read", res),
                parameters=[],
                responses=_responses(definition, "200"),
            ),
            "put": _operation(
                res,
                action="put",
                description=f"replace the specified {name}",
                operation_id=_op_id("replace", res),
                parameters=write,
                responses=_responses(definition, "200", "201"),
                body=json_body,
            ),
            "patch": _operation(
                res,
                action="patch",
                description=f"partially update the specified {name}",
                operation_id=_op_id("patch", res),
                parameters=[*write, *_query("force")],
                responses=_responses(definition, "200", "201"),
                body=patch_body,
            ),
            "delete": _operation(
                res,
                action="delete",
                description=f"delete a {name}",
                operation_id=_op_id("delete", res),
                parameters=_query("dryRun"),
                responses=_responses(STATUS, "200", "202"),
                body={"*/*": {"schema": {"$ref": COMPONENTS + DELETE_OPTIONS}}},
            ),
            "parameters": _path_parameters(res, item=True),
        },
    }
    if res.namespaced:
        paths[f"{root}/{res.name}"] = {
            "get": _operation(
                res,
                action="list",
                description=f"list or watch objects of kind {name} in all namespaces",
                operation_id=_op_id("list", res, suffix="ForAllNamespaces").replace(
                    "Namespaced", ""
                ),
                parameters=listing,
                responses=_responses(list_definition, "200"),
            )
        }
    return paths


# --- documents ---------------------------------------------------------------------------------


def group_versions() -> list[tuple[str, str]]:
    """Every served (group, version), the core group ("", "v1") first."""
    seen = [("", "v1")] if any(not r.group for r in resources.RESOURCES) else []
    for pair in [*resources.GROUPS, *((r.group, r.version) for r in resources.RESOURCES)]:
        # metrics.k8s.io is metrics-server's aggregated API: kube-apiserver's own documents
        # (the 1.32 schemas this module serves) do not describe it.
        if pair not in seen and pair[0] != "metrics.k8s.io":
            seen.append(pair)
    return seen


def document_key(group: str, version: str) -> str:
    """The index key and URL tail: ``api/v1``, ``apis/apps/v1``."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


@functools.cache
def document(group: str, version: str) -> dict | None:
    """The OpenAPI v3 document of one served group-version, or None if it is not served."""
    served = [
        r for r in resources.RESOURCES if (r.group, r.version) == (group, version) and not r.metrics
    ]
    if not served:
        return None
    roots = {PATCH, STATUS, DELETE_OPTIONS}
    paths: dict = {}
    for res in served:
        for kind in (res.kind, res.kind + "List"):
            name = schema.definition_name(group=group, version=version, kind=kind)
            if name:
                roots.add(name)
        paths.update(resource_paths(res))
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": resources.version_info()["gitVersion"]},
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": component_schemas(roots)},
    }


@functools.cache
def document_bytes(group: str, version: str) -> bytes | None:
    doc = document(group, version)
    return None if doc is None else json.dumps(doc, separators=(",", ":")).encode()


def document_hash(group: str, version: str) -> str:
    """A content hash of the document (kube-apiserver uses SHA-512 too, in upper-case hex)."""
    return hashlib.sha512(document_bytes(group, version) or b"").hexdigest().upper()


@functools.cache
def index() -> dict:
    """``/openapi/v3``: each served group-version with its hashed ``serverRelativeURL``."""
    return {
        "paths": {
            document_key(g, v): {
                "serverRelativeURL": f"/openapi/v3/{document_key(g, v)}?hash={document_hash(g, v)}"
            }
            for g, v in group_versions()
        }
    }
