"""The API's writes: POST, PUT, PATCH and DELETE on objects and their ``scale``, ``status``,
``binding`` and ``eviction`` subresources, as kube-apiserver's REST handlers answer them
(``endpoints/handlers/{create,update,patch,delete}.go``).

The handlers only parse: the body (JSON, YAML, or one of the four patch types), the options in
the query string or body (``dryRun``, ``fieldManager``, ``force``, ``propagationPolicy``,
``gracePeriodSeconds``, ``preconditions``); the writes are :mod:`cluster.services.objects`,
the same services the dashboard uses, with the same events and change log. The actor recorded
for the change (and drawn on the diagram) is ``kubectl`` when kubectl sent the request.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import yaml
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

from cluster import k8s, selectors
from cluster.api import protobuf, status
from cluster.api.resources import Resource
from cluster.models import Cluster, KubeObject
from cluster.services import errors, objects, pods

JSON = "application/json"
YAML = "application/yaml"
STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
PATCH_TYPES = (STRATEGIC, MERGE, JSON_PATCH, APPLY)
PATCH_RETRIES = 5


class BodyError(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def actor_of(request: HttpRequest) -> str:
    """Who the change log names: ``kubectl`` for kubectl, else the client's field manager or
    ``api-client`` (the official Python client sends no field manager by default)."""
    agent = request.headers.get("User-Agent", "")
    if agent.startswith("kubectl"):
        return "kubectl"
    manager = request.GET.get("fieldManager", "")
    return f"api-client/{manager}" if manager else "api-client"


def field_manager(request: HttpRequest) -> str:
    """The request's field manager: ``fieldManager``, else what the API server derives from
    the User-Agent (its first part: ``kubectl``, ``OpenAPI-Generator``)."""
    manager = request.GET.get("fieldManager")
    if manager:
        return manager[:128]
    agent = request.headers.get("User-Agent", "unknown")
    return agent.split("/", 1)[0][:128] or "unknown"


def managed_fields(request: HttpRequest, cluster: Cluster, res: Resource):
    """The managedFields recorder for this request's writes (an Update operation)."""
    return update_recorder(cluster, res, manager=field_manager(request))


def update_recorder(cluster: Cluster, res: Resource, *, manager: str):
    """The managedFields recorder of an Update operation by ``manager`` (any edge's writes)."""
    from cluster.api import apply as ssa  # noqa: PLC0415 - the schema loads on first use

    now = k8s.rfc3339(cluster.sim_now)

    def record(old: dict | None, new: dict) -> dict:
        return ssa.record_update(old, new, manager=manager, now=now, api_version=res.group_version)

    return record


def media_type(request: HttpRequest) -> str:
    return (request.headers.get("Content-Type") or JSON).split(";")[0].strip().lower()


def read_body(request: HttpRequest, *, allowed: tuple[str, ...]) -> Any:
    """The decoded body, or :class:`BodyError` carrying the Status to answer. Where JSON is
    allowed, so is protobuf (kubectl 1.32's typed shortcuts) for the kinds
    :mod:`cluster.api.protobuf` knows; it decodes to the JSON the client would have sent."""
    kind = media_type(request)
    decode_protobuf = kind == protobuf.MEDIA_TYPE and JSON in allowed
    if kind not in allowed and not decode_protobuf:
        raise BodyError(status.unsupported_media_type(kind))
    try:
        raw = request.body
    except RequestDataTooBig:
        raise BodyError(
            status.status_response(
                code=413, reason="RequestEntityTooLarge", message="Request entity too large"
            )
        ) from None
    if decode_protobuf:
        try:
            return protobuf.decode(raw)
        except protobuf.UnsupportedKind:
            raise BodyError(status.unsupported_media_type(kind)) from None
        except protobuf.ProtobufError as exc:
            raise BodyError(status.bad_request(f"error decoding request body: {exc}")) from None
    try:
        text = raw.decode("utf-8")
        if kind in (YAML, APPLY):
            return yaml.safe_load(text)
        return json.loads(text) if text.strip() else {}
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else "malformed body"
        raise BodyError(status.bad_request(f"error decoding request body: {message}")) from None


FIELD_VALIDATION = ("Strict", "Warn", "Ignore")


def check_fields(request: HttpRequest, res: Resource, body: Any) -> None:
    """Server-side field validation (``fieldValidation``, default Warn as kube-apiserver's):
    a value of the wrong JSON type is always a 400; unknown fields are a 400 under Strict, a
    ``Warning`` header under Warn, nothing under Ignore. Warnings are left on the request for
    :func:`cluster.api.views.api_view` to send."""
    mode = request.GET.get("fieldValidation") or "Warn"
    if mode not in FIELD_VALIDATION:
        raise BodyError(
            status.bad_request(
                f'fieldValidation: Unsupported value: "{mode}": supported values: '
                '"Ignore", "Strict", "Warn"'
            )
        )
    if not isinstance(body, dict):
        return
    try:
        found = validate_fields(res, body, mode=mode)
    except errors.BadRequest as exc:
        raise BodyError(status.bad_request(exc.message)) from None
    if found:
        warnings = getattr(request, "k8s_warnings", [])
        warnings.extend(found)
        request.k8s_warnings = warnings  # type: ignore[attr-defined]


def validate_fields(res: Resource, body: dict, *, mode: str = "Strict") -> list[str]:
    """Server-side field validation of ``body`` without a request: raises
    :class:`~cluster.services.errors.BadRequest` with kube-apiserver's message for a value of
    the wrong type (any mode) or an unknown field (Strict); returns the Warn mode's warnings."""
    from cluster.api import schema  # noqa: PLC0415 - the schema loads on first use

    gvk = {"group": res.group, "version": res.version, "kind": res.kind}
    wrong = schema.type_errors(body, **gvk)
    if wrong:
        detail = wrong[0]["message"]
        raise errors.BadRequest(
            schema.cannot_handle_message(kind=res.kind, version=res.version, detail=detail)
        )
    if mode == "Ignore":
        return []
    unknown = schema.unknown_fields(body, **gvk)
    if unknown and mode == "Strict":
        raise errors.BadRequest(
            schema.strict_decoding_message(kind=res.kind, version=res.version, fields=unknown)
        )
    return schema.unknown_field_warnings(unknown)


def is_dry_run(request: HttpRequest) -> bool | HttpResponse:
    values = request.GET.getlist("dryRun")
    if any(v != "All" for v in values):
        bad = next(v for v in values if v != "All")
        return status.bad_request(f'dryRun: Unsupported value: "{bad}": supported values: "All"')
    return bool(values)


def _object_body(request: HttpRequest, res: Resource) -> dict:
    body = read_body(request, allowed=(JSON, YAML))
    if not isinstance(body, dict):
        raise BodyError(status.bad_request("the request body must be a JSON object"))
    kind = body.get("kind")
    if kind is not None and kind != res.kind:
        raise BodyError(
            status.bad_request(f"the kind of the object ({kind}) does not match {res.kind}")
        )
    api_version = body.get("apiVersion")
    if api_version is not None and api_version != res.group_version:
        raise BodyError(
            status.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({res.group_version})"
            )
        )
    body["kind"], body["apiVersion"] = res.kind, res.group_version
    body.setdefault("metadata", {})
    return body


def _error(error: errors.ServiceError, res: Resource, name: str) -> JsonResponse:
    return status.from_error(error, resource=res.name, group=res.group, name=name)


def _reply(obj: KubeObject | dict, code: int = 200) -> JsonResponse:
    body = obj.body if isinstance(obj, KubeObject) else obj
    return JsonResponse(body, status=code)


# --- create, replace, delete -------------------------------------------------------------------


def create(
    request: HttpRequest,
    cluster: Cluster,
    res: Resource,
    namespace: str | None,
    *,
    to_storage: Callable[[dict], dict] | None = None,
    from_storage: Callable[[dict], dict] | None = None,
):
    """POST. ``to_storage``/``from_storage`` convert a version other than the stored one (the
    body is validated against the version it was sent in)."""
    dry_run = is_dry_run(request)
    if isinstance(dry_run, HttpResponse):
        return dry_run
    try:
        body = _object_body(request, res)
        check_fields(request, res, body)
        if to_storage is not None:
            body = to_storage(body)
        obj = objects.object_create(
            cluster=cluster,
            body=body,
            namespace=namespace,
            actor=actor_of(request),
            dry_run=dry_run,
            managed_fields=managed_fields(request, cluster, res),
        )
    except BodyError as exc:
        return exc.response
    except errors.ServiceError as exc:
        return _error(exc, res, _name_in(request))
    if from_storage is not None:
        return _reply(from_storage(obj.body), 201)
    return _reply(obj, 201)


def _name_in(request: HttpRequest) -> str:
    try:
        return str(json.loads(request.body or b"{}").get("metadata", {}).get("name", ""))
    except (ValueError, AttributeError):
        return ""


def replace(
    request: HttpRequest,
    cluster: Cluster,
    res: Resource,
    namespace: str | None,
    name: str,
    subresource: str | None = None,
):
    dry_run = is_dry_run(request)
    if isinstance(dry_run, HttpResponse):
        return dry_run
    try:
        if subresource == "scale":
            body = read_body(request, allowed=(JSON, YAML))
            return _write_scale(request, cluster, res, namespace or "", name, body, dry_run)
        body = _object_body(request, res)
        check_fields(request, res, body)
        obj = objects.object_replace(
            cluster=cluster,
            kind=res.kind,
            namespace=namespace or "",
            name=name,
            body=body,
            actor=actor_of(request),
            subresource=subresource,
            dry_run=dry_run,
            managed_fields=managed_fields(request, cluster, res),
        )
    except BodyError as exc:
        return exc.response
    except errors.ServiceError as exc:
        return _error(exc, res, name)
    return _reply(obj)


def _delete_options(request: HttpRequest) -> dict:
    """DeleteOptions from the body (kubectl) or the query string (the Python client)."""
    options: dict = {}
    if request.body:
        body = read_body(request, allowed=(JSON, YAML))
        if isinstance(body, dict):
            options = body
    query = request.GET
    if "propagationPolicy" in query:
        options["propagationPolicy"] = query["propagationPolicy"]
    if "gracePeriodSeconds" in query:
        options["gracePeriodSeconds"] = query["gracePeriodSeconds"]
    if options.get("orphanDependents") is not None and "propagationPolicy" not in options:
        options["propagationPolicy"] = "Orphan" if options["orphanDependents"] else "Background"
    grace = options.get("gracePeriodSeconds")
    if grace is not None:
        try:
            options["gracePeriodSeconds"] = int(grace)
        except (TypeError, ValueError):
            raise BodyError(
                status.bad_request(f'gracePeriodSeconds: Invalid value: "{grace}"')
            ) from None
    return options


def delete(request: HttpRequest, cluster: Cluster, res: Resource, namespace: str | None, name: str):
    dry_run = is_dry_run(request)
    if isinstance(dry_run, HttpResponse):
        return dry_run
    try:
        options = _delete_options(request)
        dry_run = dry_run or options.get("dryRun") == ["All"]
        obj, gone = objects.object_delete(
            cluster=cluster,
            kind=res.kind,
            namespace=namespace or "",
            name=name,
            actor=actor_of(request),
            propagation=options.get("propagationPolicy"),
            grace_period=options.get("gracePeriodSeconds"),
            preconditions=options.get("preconditions"),
            dry_run=dry_run,
        )
    except BodyError as exc:
        return exc.response
    except errors.ServiceError as exc:
        return _error(exc, res, name)
    if not gone:
        return _reply(obj, 202)
    return JsonResponse(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "group": res.group, "kind": res.name, "uid": str(obj.uid)},
        }
    )


# --- patch -------------------------------------------------------------------------------------


def _patched(kind: str, live: dict, patch_body: Any, patch_type: str, gvk: tuple) -> dict:
    from cluster.api import patch as engines  # noqa: PLC0415 - the schema loads on first use

    if patch_type == JSON_PATCH:
        if not isinstance(patch_body, list):
            raise engines.PatchError("a JSON patch must be a list of operations")
        return engines.json_patch(live, patch_body)
    if not isinstance(patch_body, dict):
        raise engines.PatchError("the patch must be a JSON object")
    if patch_type == MERGE:
        return engines.merge_patch(live, patch_body)
    return engines.strategic_merge_patch(live, patch_body, gvk=gvk)


def patch(
    request: HttpRequest,
    cluster: Cluster,
    res: Resource,
    namespace: str | None,
    name: str,
    subresource: str | None = None,
):
    """PATCH: the patch is applied to the object as stored, then written like a PUT. A patch
    that names no resourceVersion is retried on a conflict (the API server's GuaranteedUpdate),
    one that does gets the 409."""
    from cluster.api import patch as engines  # noqa: PLC0415

    dry_run = is_dry_run(request)
    if isinstance(dry_run, HttpResponse):
        return dry_run
    patch_type = media_type(request)
    gvk = (res.group, res.version, res.kind)
    try:
        patch_body = read_body(request, allowed=PATCH_TYPES)
        if patch_type == APPLY:
            return _apply(request, cluster, res, namespace, name, patch_body, dry_run)
        for attempt in range(PATCH_RETRIES):
            live = objects.object_get(
                cluster=cluster, kind=res.kind, namespace=namespace or "", name=name
            )
            if subresource == "scale":
                patched = _patched("Scale", scale_of(live.body), patch_body, patch_type, ())
                return _write_scale(request, cluster, res, namespace or "", name, patched, dry_run)
            patched = _patched(res.kind, live.body, patch_body, patch_type, gvk)
            if attempt == 0:
                check_fields(request, res, patched)
            pinned = _patch_names_rv(patch_body)
            try:
                obj = write_patched(
                    live,
                    patched,
                    res=res,
                    pinned=pinned,
                    actor=actor_of(request),
                    subresource=subresource,
                    dry_run=dry_run,
                    recorder=managed_fields(request, cluster, res),
                )
                return _reply(obj)
            except errors.Conflict:
                if pinned or attempt == PATCH_RETRIES - 1:
                    raise
    except BodyError as exc:
        return exc.response
    except engines.PatchError as exc:
        return status.status_response(code=422, reason="Invalid", message=str(exc))
    except errors.ServiceError as exc:
        return _error(exc, res, name)
    raise AssertionError("unreachable")


def write_patched(
    live: KubeObject,
    patched: dict,
    *,
    res: Resource,
    pinned: bool,
    actor: str,
    dry_run: bool,
    recorder: objects.ManagedFields,
    subresource: str | None = None,
) -> KubeObject:
    """Write an object patched from ``live`` as a PUT would. Unless the patch itself named a
    resourceVersion (``pinned``), the write is pinned to the version the patch was computed
    from, so a writer in between makes it a Conflict the caller recomputes on."""
    if not pinned:
        patched.setdefault("metadata", {})["resourceVersion"] = str(live.resource_version)
    return objects.object_replace(
        cluster=live.cluster,
        kind=res.kind,
        namespace=live.namespace,
        name=live.name,
        body=patched,
        actor=actor,
        subresource=subresource,
        dry_run=dry_run,
        managed_fields=recorder,
    )


def _patch_names_rv(patch_body: Any) -> bool:
    if isinstance(patch_body, dict):
        return bool((patch_body.get("metadata") or {}).get("resourceVersion"))
    return any(
        isinstance(op, dict) and op.get("path") == "/metadata/resourceVersion"
        for op in patch_body or []
    )


def _apply(request, cluster, res, namespace, name, applied, dry_run):
    """Server-side apply (``PATCH`` with ``application/apply-patch+yaml``): the query's
    ``fieldManager`` (required) and ``force`` around :func:`apply_configuration`."""
    from cluster.api import apply as ssa  # noqa: PLC0415
    from cluster.api import patch as engines  # noqa: PLC0415

    manager = request.GET.get("fieldManager")
    if not manager:
        return status.bad_request(
            "PATCH with apply patch type requires a fieldManager: fieldManager: Required value"
        )
    if not isinstance(applied, dict):
        return status.bad_request("the applied configuration must be an object")
    check_fields(request, res, applied)
    try:
        obj, created = apply_configuration(
            cluster=cluster,
            res=res,
            namespace=namespace,
            name=name,
            applied=applied,
            manager=manager,
            force=request.GET.get("force") in ("true", "1"),
            actor=actor_of(request),
            dry_run=dry_run,
        )
    except engines.PatchError as exc:
        return status.status_response(code=422, reason="Invalid", message=str(exc))
    except ssa.ApplyConflict as conflict:
        return status.status_response(
            code=409,
            reason="Conflict",
            message=ssa.conflict_message(conflict.conflicts),
            details={"causes": conflict.causes()},
        )
    return _reply(obj, 201 if created else 200)


def apply_configuration(
    *,
    cluster: Cluster,
    res: Resource,
    namespace: str | None,
    name: str,
    applied: dict,
    manager: str,
    force: bool,
    actor: str,
    dry_run: bool = False,
) -> tuple[KubeObject, bool]:
    """Server-side apply of ``applied`` by ``manager``: create the object if it does not exist,
    else merge the applied configuration into it, field ownership decided by
    :mod:`cluster.api.apply`. Returns the object and whether it was created. Raises
    ``apply.ApplyConflict`` (fields other managers own, without ``force``), ``patch.PatchError``
    and the services' errors. Field validation is the caller's (it knows the mode).

    The merge is written pinned to the resourceVersion it was computed from; when another
    writer (a controller updating status) got in between, it is recomputed on the new object,
    as the API server's GuaranteedUpdate does, unless the configuration names a version (then
    that version must be the stored one)."""
    from cluster.api import apply as ssa  # noqa: PLC0415

    gvk = (res.group, res.version, res.kind)
    now = k8s.rfc3339(cluster.sim_now)
    expected = (applied.get("metadata") or {}).get("resourceVersion")
    pinned = bool(expected)
    for attempt in range(PATCH_RETRIES):
        live = selectors.api_object_body(
            cluster=cluster, kind=res.kind, namespace=namespace or "", name=name
        )
        merged = ssa.server_side_apply(
            live, applied, manager=manager, force=force, gvk=gvk, now=now
        )
        merged["kind"], merged["apiVersion"] = res.kind, res.group_version
        merged.setdefault("metadata", {})["name"] = name
        if live is None:
            try:
                obj = objects.object_create(
                    cluster=cluster, body=merged, namespace=namespace, actor=actor, dry_run=dry_run
                )
            except errors.AlreadyExists:  # created in between: apply to it instead
                if attempt == PATCH_RETRIES - 1:
                    raise
                continue
            return obj, True
        # A version in the configuration is a precondition, as for any other write.
        merged["metadata"]["resourceVersion"] = (
            str(expected) if pinned else live["metadata"]["resourceVersion"]
        )
        try:
            obj = objects.object_replace(
                cluster=cluster,
                kind=res.kind,
                namespace=namespace or "",
                name=name,
                body=merged,
                actor=actor,
                dry_run=dry_run,
            )
        except errors.Conflict:
            if pinned or attempt == PATCH_RETRIES - 1:
                raise
            continue
        return obj, False
    raise AssertionError("unreachable")


# --- scale ----------------------------------------------------------------------------------


def scale_of(body: dict) -> dict:
    """The ``autoscaling/v1`` Scale of a Deployment or ReplicaSet (kubectl refuses anything
    else from ``/scale``)."""
    meta = body["metadata"]
    from cluster.api.tables import format_label_selector  # noqa: PLC0415

    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: meta[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in meta
        },
        "spec": {"replicas": int((body.get("spec") or {}).get("replicas", 1))},
        "status": {
            "replicas": int((body.get("status") or {}).get("replicas", 0)),
            "selector": format_label_selector((body.get("spec") or {}).get("selector")),
        },
    }


def get_scale(cluster: Cluster, res: Resource, namespace: str, name: str) -> JsonResponse:
    try:
        obj = objects.object_get(cluster=cluster, kind=res.kind, namespace=namespace, name=name)
    except errors.ServiceError as exc:
        return _error(exc, res, name)
    return JsonResponse(scale_of(obj.body))


def _write_scale(request, cluster, res, namespace, name, scale, dry_run) -> JsonResponse:
    if not isinstance(scale, dict):
        raise BodyError(status.bad_request("the request body must be a Scale object"))
    replicas = (scale.get("spec") or {}).get("replicas")
    expected = (scale.get("metadata") or {}).get("resourceVersion")
    obj = objects.object_scale(
        cluster=cluster,
        kind=res.kind,
        namespace=namespace,
        name=name,
        replicas=replicas,
        actor=actor_of(request),
        expected_rv=expected,
        dry_run=dry_run,
        managed_fields=managed_fields(request, cluster, res),
    )
    return JsonResponse(scale_of(obj.body))


# --- pods: binding and eviction ----------------------------------------------------------------


def bind(request: HttpRequest, cluster: Cluster, res: Resource, namespace: str, name: str):
    """``pods/binding``: what a scheduler posts. A pod already bound is a 409."""
    try:
        body = read_body(request, allowed=(JSON, YAML)) or {}
        target = (body.get("target") or {}).get("name") if isinstance(body, dict) else None
        if not target:
            return status.status_response(
                code=422,
                reason="Invalid",
                message=f'Binding "{name}" is invalid: target.name: Required value',
            )
        pod = objects.object_get(cluster=cluster, kind="Pod", namespace=namespace, name=name)
        pods.pod_bind(pod=pod, node_name=target, actor=actor_of(request))
    except BodyError as exc:
        return exc.response
    except errors.ServiceError as exc:
        return _error(exc, res, name)
    return JsonResponse(_success(201), status=201)


def evict(request: HttpRequest, cluster: Cluster, res: Resource, namespace: str, name: str):
    """``pods/eviction`` (policy/v1 Eviction, what kubectl drain posts): the pod is deleted
    gracefully with the eviction's DeleteOptions. PodDisruptionBudgets are not simulated, so
    no eviction is refused with 429."""
    dry_run = is_dry_run(request)
    if isinstance(dry_run, HttpResponse):
        return dry_run
    try:
        body = read_body(request, allowed=(JSON, YAML)) or {}
        options = copy.deepcopy((body.get("deleteOptions") or {}) if isinstance(body, dict) else {})
        pods.pod_evict(
            cluster=cluster,
            namespace=namespace,
            name=name,
            actor=actor_of(request),
            grace_period=options.get("gracePeriodSeconds"),
            preconditions=options.get("preconditions"),
            dry_run=dry_run or options.get("dryRun") == ["All"],
        )
    except BodyError as exc:
        return exc.response
    except errors.ServiceError as exc:
        return _error(exc, res, name)
    return JsonResponse(_success(201), status=201)


def _success(code: int) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code}


def delete_collection(
    request: HttpRequest, cluster: Cluster, res: Resource, items: list[dict]
) -> HttpResponse:
    """DELETE on a collection (``deletecollection``): each selected object deleted with the
    same options; the answer lists them as the API server does."""
    dry_run = is_dry_run(request)
    if isinstance(dry_run, HttpResponse):
        return dry_run
    deleted = []
    try:
        options = _delete_options(request)
        for body in items:
            meta = body["metadata"]
            try:
                obj, _ = objects.object_delete(
                    cluster=cluster,
                    kind=res.kind,
                    namespace=meta.get("namespace", ""),
                    name=meta["name"],
                    actor=actor_of(request),
                    propagation=options.get("propagationPolicy"),
                    grace_period=options.get("gracePeriodSeconds"),
                    dry_run=dry_run,
                )
            except errors.NotFound:
                continue  # deleted meanwhile
            deleted.append(obj.body)
    except BodyError as exc:
        return exc.response
    except errors.ServiceError as exc:
        return _error(exc, res, "")
    return JsonResponse(
        {
            "kind": f"{res.kind}List",
            "apiVersion": res.group_version,
            "metadata": {"resourceVersion": str(cluster.resource_version)},
            "items": deleted,
        }
    )
