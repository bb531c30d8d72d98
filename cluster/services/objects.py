"""Kind-generic writes, as kube-apiserver's generic registry performs them (``registry/generic/
registry/store.go``) for the API's POST, PUT, PATCH and DELETE: the checks every kind shares
(names, namespaces, preconditions, immutable fields, finalizers) wrapped around the kind's own
admission (defaults and validation) from the kind services the dashboard uses too.

``dry_run`` runs the whole write inside a transaction that is rolled back, so a dry run
validates, defaults and answers exactly as the real write would, and leaves no trace (the change
log, the live broadcast and the controllers' wake-up are all on commit).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from django.db import transaction

from cluster import k8s, timings
from cluster.models import Cluster, KubeObject
from cluster.services import autoscaling, store
from cluster.services.errors import (
    CONFLICT,
    RESOURCE_NAMES,
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    LimitExceeded,
    not_found,
)
from cluster.services.ingress import (
    ingress_admit,
    ingress_admit_update,
    ingress_class_admit,
    ingress_class_admit_update,
)
from cluster.services.networking import service_admit, service_admit_update
from cluster.services.pods import (
    pod_apply_defaults,
    pod_create,
    pod_delete,
    pod_validate,
    template_validate,
)
from cluster.services.workloads import (
    check_pod_budget,
    deployment_apply_defaults,
    deployment_submit,
    deployment_validate,
    validate_replicas,
)

# Kinds whose status is written only through the ``/status`` subresource.
STATUS_SUBRESOURCE = {
    "Pod",
    "Deployment",
    "ReplicaSet",
    "Node",
    "Namespace",
    "Service",
    "Ingress",
    "HorizontalPodAutoscaler",
}
# Namespaces kube-apiserver's NamespaceLifecycle admission refuses to delete.
UNDELETABLE_NAMESPACES = {"default", "kube-system", "kube-public"}
SERVER_SET = ("uid", "creationTimestamp", "generation", "deletionTimestamp", "selfLink")
FOREGROUND = "foregroundDeletion"
UNCONDITIONAL_RETRIES = 5
ORPHAN = "orphan"


# Records a write's field ownership (``metadata.managedFields``): given the object before (None
# on create) and after, returns the after with its managedFields updated. The API passes one
# per request (its fieldManager); writes from the dashboard and controllers pass none.
ManagedFields = Callable[[dict | None, dict], dict]


class _DryRun(Exception):
    def __init__(self, result: Any) -> None:
        self.result = result


def _run(write: Callable[[], Any], *, dry_run: bool, conditional: bool) -> Any:
    """Run a write; one that named no resourceVersion (or precondition) is retried when a
    controller wrote the object in between, as the API server's GuaranteedUpdate retries: the
    request did not depend on that version. A conditional one gets its 409."""
    for attempt in range(UNCONDITIONAL_RETRIES):
        try:
            return dry_runnable(write, dry_run=dry_run)
        except Conflict:
            if conditional or attempt == UNCONDITIONAL_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def dry_runnable(write: Callable[[], Any], *, dry_run: bool) -> Any:
    """Run ``write``; in a dry run, roll everything it did back and return its result."""
    if not dry_run:
        return write()
    try:
        with transaction.atomic():
            raise _DryRun(write())
    except _DryRun as done:
        return done.result


def resource_label(kind: str) -> str:
    return RESOURCE_NAMES.get(kind, kind.lower() + "s")


def _invalid(kind: str, name: str, causes: list[dict]) -> Invalid:
    detail = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
    group = k8s.API_VERSIONS.get(kind, "v1").rpartition("/")[0]
    label = f"{kind}.{group}" if group else kind
    return Invalid(f'{label} "{name}" is invalid: {detail}', causes=causes, kind=kind, name=name)


def _check_metadata(kind: str, body: dict) -> None:
    meta = body.get("metadata")
    if not isinstance(meta, dict):
        raise BadRequest("Object 'metadata' is missing or not an object")
    name = meta.get("name") or ""
    causes = []
    if name:
        label = kind in {"Namespace"}
        causes += [
            {"field": "metadata.name", "message": f'Invalid value: "{name}": {m}'}
            for m in k8s.name_errors(name, label=label)
        ]
    for field in ("labels", "annotations"):
        value = meta.get(field)
        if value is not None and (
            not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values())
        ):
            causes.append({"field": f"metadata.{field}", "message": "must be a map of strings"})
    for key, value in (meta.get("labels") or {}).items():
        causes += [
            {"field": "metadata.labels", "message": f'Invalid value: "{key}": {m}'}
            for m in k8s.label_key_errors(key)
        ]
        causes += [
            {"field": "metadata.labels", "message": f'Invalid value: "{value}": {m}'}
            for m in k8s.label_value_errors(str(value))
        ]
    if causes:
        raise _invalid(kind, name or meta.get("generateName", ""), causes)


def _check_namespace(cluster: Cluster, kind: str, body: dict, namespace: str | None) -> None:
    """The URL's namespace wins; a different one in the body is a 400, as the API server's
    ``rest.BeforeCreate`` says. The namespace must exist (NamespaceLifecycle admission)."""
    meta = body["metadata"]
    if kind in k8s.CLUSTER_SCOPED:
        meta.pop("namespace", None)
        return
    given = meta.get("namespace")
    if given and namespace and given != namespace:
        raise BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    meta["namespace"] = namespace or given or "default"
    ns = KubeObject.objects.filter(cluster=cluster, kind="Namespace", name=meta["namespace"])
    ns_row = ns.values_list("deleting", flat=True).first()
    if ns_row is None:
        raise not_found("Namespace", meta["namespace"])
    if ns_row:
        raise Forbidden(
            f'{resource_label(kind)} "{meta.get("name", "")}" is forbidden: unable to create new '
            f"content in namespace {meta['namespace']} because it is being terminated"
        )


# --- create ----------------------------------------------------------------------------------


def _replicaset_admit(cluster: Cluster, body: dict) -> None:
    spec = body.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    validate_replicas(spec["replicas"])
    _check_selector(body)
    check_pod_budget(cluster, adding=int(spec["replicas"]))
    t = timings.resolve(cluster.profile, cluster.timings)
    pod_apply_defaults(
        spec["template"].setdefault("spec", {}),
        toleration_seconds=t["default_toleration_seconds"],
    )
    body["status"] = {"replicas": 0}


def _check_selector(body: dict) -> None:
    spec = body.get("spec") or {}
    selector = spec.get("selector")
    labels = (spec.get("template") or {}).get("metadata", {}).get("labels") or {}
    name = body["metadata"].get("name", "")
    if not selector:
        raise _invalid(
            body["kind"], name, [{"field": "spec.selector", "message": "Required value"}]
        )
    if not k8s.selector_matches(selector, labels):
        raise _invalid(
            body["kind"],
            name,
            [
                {
                    "field": "spec.template.metadata.labels",
                    "message": "Invalid value: `selector` does not match template `labels`",
                }
            ],
        )


def _namespace_admit(cluster: Cluster, body: dict) -> None:
    body.setdefault("spec", {})["finalizers"] = ["kubernetes"]
    body["status"] = {"phase": "Active"}
    body["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = body["metadata"][
        "name"
    ]


TOO_MANY_OBJECTS = (
    "this sandbox already holds {count} objects, the limit is {limit}: delete some first"
)


def _check_object_budget(cluster: Cluster) -> None:
    """A sandbox's limit on objects (what users create; Events and Leases are the system's)."""
    from cluster.services.clusters import cluster_limits  # noqa: PLC0415 - clusters imports us

    limit = int(cluster_limits(cluster)["objects"])
    if not limit:
        return
    count = (
        KubeObject.objects.filter(cluster=cluster).exclude(kind__in=("Event", "Lease")).count()
    )
    if count >= limit:
        raise LimitExceeded(TOO_MANY_OBJECTS.format(count=count, limit=limit))


def object_create(
    *,
    cluster: Cluster,
    body: dict,
    namespace: str | None,
    actor: str,
    dry_run: bool = False,
    managed_fields: ManagedFields | None = None,
) -> KubeObject:
    """POST: admit and store a new object of ``body["kind"]``."""
    body = copy.deepcopy(body)
    kind = body["kind"]
    _check_metadata(kind, body)
    meta = body["metadata"]
    if meta.get("resourceVersion"):
        raise BadRequest("resourceVersion should not be set on objects to be created")
    for key in SERVER_SET:
        meta.pop(key, None)
    _check_namespace(cluster, kind, body, namespace)
    _check_object_budget(cluster)
    if managed_fields is not None:
        body = managed_fields(None, body)

    def write() -> KubeObject:
        with transaction.atomic():
            if kind == "Pod":
                return pod_create(cluster=cluster, body=body, actor=actor)
            if kind in ("Deployment", "ReplicaSet"):
                template_validate(body)
            if kind == "Deployment":
                _check_selector_required(body)
                return deployment_submit(cluster=cluster, body=body, actor=actor)
            if kind == "ReplicaSet":
                _replicaset_admit(cluster, body)
            elif kind == "Namespace":
                _namespace_admit(cluster, body)
            elif kind == "Service":
                service_admit(cluster, body)
            elif kind == "Ingress":
                ingress_admit(cluster, body)
            elif kind == "IngressClass":
                ingress_class_admit(cluster, body)
            elif kind == "HorizontalPodAutoscaler":
                autoscaling.hpa_admit(body)
            return store.object_create(cluster=cluster, body=body, actor=actor)

    return dry_runnable(write, dry_run=dry_run)


def _check_selector_required(body: dict) -> None:
    if not (body.get("spec") or {}).get("selector"):
        name = body["metadata"].get("name", "")
        raise _invalid(
            "Deployment", name, [{"field": "spec.selector", "message": "Required value"}]
        )


# --- update ----------------------------------------------------------------------------------


object_get = store.object_get


# Pod fields a user may change after creation (ValidatePodUpdate).
_POD_MUTABLE = ("activeDeadlineSeconds", "terminationGracePeriodSeconds")


def _pod_update_errors(old: dict, new: dict) -> list[dict]:
    """ValidatePodUpdate: only container images, activeDeadlineSeconds, added tolerations and
    the grace period may change."""
    old_spec, new_spec = copy.deepcopy(old["spec"]), copy.deepcopy(new.get("spec") or {})
    for spec in (old_spec, new_spec):
        for key in _POD_MUTABLE:
            spec.pop(key, None)
        for container in spec.get("containers") or []:
            container.pop("image", None)
        spec.pop("tolerations", None)
    if old_spec == new_spec:
        return []
    return [
        {
            "field": "spec",
            "message": "Forbidden: pod updates may not change fields other than "
            "`spec.containers[*].image`,`spec.initContainers[*].image`,"
            "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing "
            "tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it "
            "was previously negative)",
        }
    ]


def _immutable_errors(kind: str, old: dict, new: dict) -> list[dict]:
    if kind == "Pod":
        return _pod_update_errors(old, new)
    if kind in {"Deployment", "ReplicaSet"}:
        before = (old.get("spec") or {}).get("selector")
        after = (new.get("spec") or {}).get("selector")
        if before != after:
            return [
                {
                    "field": "spec.selector",
                    "message": f"Invalid value: {k8s.compact_json(after)}: field is immutable",
                }
            ]
    return []


def _carry_server_fields(old: dict, new: dict, *, subresource: str | None) -> dict:
    """The stored object as the update leaves it: server-set metadata kept; for kinds with a
    status subresource the main resource keeps the stored status and ``/status`` keeps
    everything but the status (the registry strategies' PrepareForUpdate)."""
    if subresource == "status":
        merged = copy.deepcopy(old)
        merged["status"] = copy.deepcopy(new.get("status") or {})
        return merged
    merged = copy.deepcopy(new)
    meta = merged.setdefault("metadata", {})
    for key in SERVER_SET:
        if key in old["metadata"]:
            meta[key] = old["metadata"][key]
        else:
            meta.pop(key, None)
    if old["metadata"].get("deletionGracePeriodSeconds") is not None:
        meta["deletionGracePeriodSeconds"] = old["metadata"]["deletionGracePeriodSeconds"]
    meta["name"] = old["metadata"]["name"]
    if "namespace" in old["metadata"]:
        meta["namespace"] = old["metadata"]["namespace"]
    merged["kind"] = old["kind"]
    merged["apiVersion"] = old["apiVersion"]
    if old["kind"] in STATUS_SUBRESOURCE:
        merged["status"] = copy.deepcopy(old.get("status") or {})
    return merged


def _admit_update(cluster: Cluster, obj: KubeObject, merged: dict) -> None:
    kind = obj.kind
    if kind in ("Deployment", "ReplicaSet"):
        template_validate(merged)
    if kind == "Deployment":
        deployment_apply_defaults(merged)
        replicas = validate_replicas(merged["spec"]["replicas"])
        deployment_validate(merged)
        _check_selector(merged)
        check_pod_budget(cluster, adding=replicas - int(obj.spec.get("replicas", 1)))
    elif kind == "ReplicaSet":
        replicas = validate_replicas(merged.get("spec", {}).get("replicas", 1))
        _check_selector(merged)
        check_pod_budget(cluster, adding=replicas - int(obj.spec.get("replicas", 1)))
    elif kind == "Pod":
        pod_validate(merged)
    elif kind == "Service":
        service_admit_update(cluster, obj.body, merged)
    elif kind == "Ingress":
        ingress_admit_update(cluster, obj.body, merged)
    elif kind == "IngressClass":
        ingress_class_admit_update(cluster, obj.body, merged)
    elif kind == "HorizontalPodAutoscaler":
        autoscaling.hpa_admit(merged)


def object_replace(
    *,
    cluster: Cluster,
    kind: str,
    namespace: str,
    name: str,
    body: dict,
    actor: str,
    subresource: str | None = None,
    dry_run: bool = False,
    managed_fields: ManagedFields | None = None,
) -> KubeObject:
    """PUT (and the end of every PATCH): optimistic concurrency on ``metadata.resourceVersion``
    when the body carries one (unconditional otherwise, as Kubernetes allows for these kinds),
    immutable fields, the kind's validation; ``metadata.generation`` moves when the spec does.
    An object being deleted whose last finalizer this update removes is deleted."""
    _check_metadata(kind, body)
    given = body["metadata"].get("name")
    if given and given != name:
        raise BadRequest(
            f"the name of the object ({given}) does not match the name on the URL ({name})"
        )
    if body.get("kind") not in (None, kind):
        raise BadRequest(f"the kind of the object ({body.get('kind')}) does not match {kind}")

    def write() -> KubeObject:
        with transaction.atomic():
            obj = object_get(cluster=cluster, kind=kind, namespace=namespace, name=name)
            expected = body["metadata"].get("resourceVersion")
            if expected and str(expected) != str(obj.resource_version):
                raise Conflict(CONFLICT.format(resource=resource_label(kind), name=name))
            merged = _carry_server_fields(obj.body, body, subresource=subresource)
            if subresource != "status":
                causes = _immutable_errors(kind, obj.body, merged)
                if causes:
                    raise _invalid(kind, name, causes)
                _admit_update(cluster, obj, merged)
            if managed_fields is not None:
                merged = managed_fields(obj.body, merged)
            spec_changed = merged.get("spec") != obj.body.get("spec")
            if merged == obj.body:
                return obj
            obj.body = merged
            if (
                merged["metadata"].get("deletionTimestamp")
                and not merged["metadata"].get("finalizers")
                and kind != "Pod"
            ):
                store.object_remove(obj=obj, actor=actor)
                return obj
            return store.object_update(obj=obj, actor=actor, spec_changed=spec_changed)

    conditional = bool(body["metadata"].get("resourceVersion"))
    return _run(write, dry_run=dry_run, conditional=conditional)


# --- delete ----------------------------------------------------------------------------------


def object_delete(
    *,
    cluster: Cluster,
    kind: str,
    namespace: str,
    name: str,
    actor: str,
    propagation: str | None = None,
    grace_period: int | None = None,
    preconditions: dict | None = None,
    dry_run: bool = False,
) -> tuple[KubeObject, bool]:
    """DELETE with kube-apiserver's options. Returns the object and whether it is gone now
    (False: it stays, with a deletionTimestamp, until its finalizers or kubelet let it go).

    Propagation (the garbage collector does the cascading, see ``controllers/
    garbage_collector.py``): ``Background`` removes the object now and its dependents after;
    ``Foreground`` keeps it, with the ``foregroundDeletion`` finalizer, until its dependents
    are gone; ``Orphan`` keeps it, with the ``orphan`` finalizer, until its dependents have lost
    their ownerReferences. The default is Background, except for Pods (graceful deletion)."""
    if propagation not in (None, "Background", "Foreground", "Orphan"):
        raise BadRequest(
            f'DeleteOptions.propagationPolicy: Unsupported value: "{propagation}": supported '
            'values: "Foreground", "Background", "Orphan", "nil"'
        )
    if grace_period is not None and grace_period < 0:
        grace_period = 1 if kind == "Pod" else 0
    if kind == "Namespace" and name in UNDELETABLE_NAMESPACES:
        raise Forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted')

    def write() -> tuple[KubeObject, bool]:
        with transaction.atomic():
            obj = object_get(cluster=cluster, kind=kind, namespace=namespace, name=name)
            _check_preconditions(obj, preconditions or {})
            if kind == "Pod" and propagation in (None, "Background"):
                remaining = pod_delete(
                    cluster=cluster, pod=obj, actor=actor, grace_period=grace_period
                )
                return obj, remaining is None
            finalizer = {"Foreground": FOREGROUND, "Orphan": ORPHAN}.get(propagation or "")
            if kind == "Namespace":
                finalizer = None
            meta = obj.body["metadata"]
            finalizers = list(meta.get("finalizers") or [])
            if finalizer and finalizer not in finalizers:
                finalizers.append(finalizer)
            if kind == "Namespace":
                obj.status["phase"] = "Terminating"
                finalizers = finalizers or []
            if not finalizers and kind != "Namespace":
                store.object_remove(obj=obj, actor=actor)
                return obj, True
            if meta.get("deletionTimestamp") and meta.get("finalizers") == finalizers:
                return obj, False
            meta["finalizers"] = finalizers
            meta.setdefault("deletionTimestamp", k8s.rfc3339(cluster.sim_now))
            meta.setdefault("deletionGracePeriodSeconds", 0)
            store.object_update(obj=obj, actor=actor)
            return obj, False

    return _run(write, dry_run=dry_run, conditional=bool(preconditions))


def _check_preconditions(obj: KubeObject, preconditions: dict) -> None:
    uid = preconditions.get("uid")
    rv = preconditions.get("resourceVersion")
    label = resource_label(obj.kind)
    if uid and uid != str(obj.uid):
        raise Conflict(
            f'Operation cannot be fulfilled on {label} "{obj.name}": Precondition failed: '
            f"UID in precondition: {uid}, UID in object meta: {obj.uid}"
        )
    if rv and str(rv) != str(obj.resource_version):
        raise Conflict(
            f'Operation cannot be fulfilled on {label} "{obj.name}": Precondition failed: '
            f"ResourceVersion in precondition: {rv}, ResourceVersion in object meta: "
            f"{obj.resource_version}"
        )


def object_scale(
    *,
    cluster: Cluster,
    kind: str,
    namespace: str,
    name: str,
    replicas: object,
    actor: str,
    expected_rv: str | None = None,
    dry_run: bool = False,
    managed_fields: ManagedFields | None = None,
) -> KubeObject:
    """The ``scale`` subresource of a Deployment or ReplicaSet: only ``spec.replicas`` changes
    (the pod-count limit applies), with the Scale's resourceVersion as a precondition."""

    def write() -> KubeObject:
        with transaction.atomic():
            obj = object_get(cluster=cluster, kind=kind, namespace=namespace, name=name)
            if expected_rv and str(expected_rv) != str(obj.resource_version):
                raise Conflict(CONFLICT.format(resource=resource_label(kind), name=name))
            count = validate_replicas(replicas if replicas is not None else -1)
            current = int(obj.spec.get("replicas", 1))
            if count == current:
                return obj
            check_pod_budget(cluster, adding=count - current)
            before = copy.deepcopy(obj.body)
            obj.body["spec"]["replicas"] = count
            if managed_fields is not None:
                obj.body = managed_fields(before, obj.body)
            return store.object_update(obj=obj, actor=actor, spec_changed=True)

    return _run(write, dry_run=dry_run, conditional=bool(expected_rv))
