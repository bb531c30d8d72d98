"""``kubectl apply -f -`` for the dashboard's YAML panel.

A pasted manifest is split into its ``---`` documents, and each one goes, in order, through
the API's own write path (:mod:`cluster.services.objects`, server-side field validation in
``Strict`` mode as kubectl asks for it, managedFields), so the panel validates, records and
broadcasts exactly as ``kubectl apply`` against the API does. Every document gets one line in
kubectl's words (``deployment.apps/web created``, ``... configured``, ``... unchanged``,
``... serverside-applied``, the ``Error from server (...)`` lines); a failing document does not
stop the ones after it, except a YAML syntax error, after which kubectl reads no further.

Two modes, as kubectl has them:

* **client-side apply** (the default, plain ``kubectl apply``): create the object if it is
  absent, else send the three-way strategic merge patch of :mod:`cluster.api.client_apply`
  (an empty patch is ``unchanged``), keeping the last-applied annotation up to date;
* **server-side apply** (``kubectl apply --server-side``, optionally ``--force-conflicts``):
  :func:`cluster.api.writes.apply_configuration` with the field manager ``k8sviz-dashboard``.

Where kubectl prints one error it words it through its ``StandardErrorMessage`` (``The
Deployment "x" is invalid: ...``, ``error: ...``); with several it prints each error's raw
text. The panel does the same, but shows each error in its document's place rather than all of
them at the end, and adds hints of its own as ``note`` lines (never mixed into kubectl's text).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import yaml

from cluster.api import client_apply, writes
from cluster.api.resources import RESOURCES, Resource
from cluster.models import Cluster, KubeObject
from cluster.services import errors, objects

MAX_BYTES = 512 * 1024
MAX_DOCUMENTS = 100
FIELD_MANAGER = "k8sviz-dashboard"
SOURCE = "STDIN"
PATCH_RETRIES = 5
DRY_RUN_SUFFIX = " (server dry run)"

# kubectl's own wording (kubectl 1.32 against this API, checked with the real binary).
NO_OBJECTS = "no objects passed to apply"
PARSE_ERROR = "error parsing {source}: error converting YAML to JSON: yaml: line {line}: {problem}"
NOT_VALID = (
    'error validating "{source}": error validating data: {detail}; if you choose to ignore '
    "these errors, turn validation off with --validate=false"
)
NO_MATCH = (
    'resource mapping not found for name: "{name}" namespace: "{namespace}" from "{source}": '
    'no matches for kind "{kind}" in version "{version}"\nensure CRDs are installed first'
)
NO_NAME = (
    "error when retrieving current configuration of:\n{target}\n"
    'from server for: "{source}": resource name may not be empty'
)
TARGET = (
    'Resource: "{gv}, Resource={plural}", GroupVersionKind: "{gv}, Kind={kind}"\n'
    'Name: "{name}", Namespace: "{namespace}"'
)
WHEN_CREATING = 'error when creating "{source}": {message}'
WHEN_PATCHING = (
    "error when applying patch:\n{patch}\nto:\n{target}\n"
    'for: "{source}": error when patching "{source}": {message}'
)
MISSING_LAST_APPLIED = (
    "Warning: resource {plural}/{name} is missing the "
    "kubectl.kubernetes.io/last-applied-configuration annotation which is required by kubectl "
    "apply. kubectl apply should only be used on resources created declaratively by either "
    "kubectl create --save-config or kubectl apply. The missing annotation will be patched "
    "automatically."
)

# The panel's own messages (not kubectl's).
TOO_LARGE = (
    "The manifest is {size:,} bytes: the YAML panel takes at most 512 KiB. "
    "Split it, or apply it with kubectl."
)
TOO_MANY = (
    "The manifest has {count} documents: the YAML panel takes at most {limit}. "
    "Split it, or apply it with kubectl."
)
PARSE_WHERE = "document {number}, line {line} of the editor; nothing after it was applied"
STALE_HINT = (
    "The object changed after the editor loaded it (its resourceVersion is in the text): "
    "press Reload, redo the edit, and Apply again."
)
CONFLICT_HINT = (
    'Tick "Force conflicts" to take these fields over (kubectl apply --server-side '
    "--force-conflicts), or drop them from the manifest."
)

_SEPARATOR = re.compile(r"^---\s*(#.*)?$")


@dataclass(frozen=True)
class Line:
    """One line of output; ``level`` is ``ok``, ``warning``, ``error`` or ``note``."""

    text: str
    level: str = "ok"


@dataclass
class ApplyReport:
    """What applying a manifest printed, and which objects it wrote (kind, namespace, name)."""

    lines: list[Line] = field(default_factory=list)
    applied: list[tuple[str, str, str]] = field(default_factory=list)
    failed: int = 0
    dry_run: bool = False


@dataclass(frozen=True)
class _Run:
    """One apply's settings, shared by its documents."""

    cluster: Cluster
    actor: str
    dry_run: bool
    server_side: bool
    force: bool


@dataclass(frozen=True)
class _Object:
    """The object a document names."""

    res: Resource
    name: str
    namespace: str  # "" for cluster-scoped kinds


@dataclass(frozen=True)
class _Failure:
    alone: str  # kubectl's text when it is the only error
    among: str  # and when it is one of several


class _Refused(Exception):
    def __init__(self, failure: _Failure, *notes: str, before: list[Line] | None = None) -> None:
        self.failure = failure
        self.notes = notes
        self.before = before or []  # what was printed first (kubectl's warnings)


# --- entry point -------------------------------------------------------------------------------


def manifest_apply(
    *,
    cluster: Cluster,
    text: str,
    actor: str,
    dry_run: bool = False,
    server_side: bool = False,
    force: bool = False,
) -> ApplyReport:
    """Apply every document of ``text`` in order; never raises for bad input."""
    report = ApplyReport(dry_run=dry_run)
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        report.lines.append(Line(TOO_LARGE.format(size=size), "error"))
        report.failed = 1
        return report
    chunks = list(_chunks(text))
    count = sum(1 for _, chunk in chunks if _has_content(chunk))
    if count > MAX_DOCUMENTS:
        report.lines.append(Line(TOO_MANY.format(count=count, limit=MAX_DOCUMENTS), "error"))
        report.failed = 1
        return report

    run = _Run(cluster, actor, dry_run, server_side, force)
    entries: list[Line | _Failure] = []
    seen = 0
    for number, (start, chunk) in enumerate(chunks, start=1):
        try:
            docs = _documents(chunk)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else 1
            problem = getattr(exc, "problem", None) or str(exc)
            entries.append(
                _client_failure(PARSE_ERROR.format(source=SOURCE, line=line, problem=problem))
            )
            entries.append(Line(PARSE_WHERE.format(number=number, line=start + line - 1), "note"))
            break
        for doc in docs:
            seen += 1
            try:
                entries += _apply_one(run, doc, report)
            except _Refused as refused:
                entries += [*refused.before, refused.failure]
                entries += [Line(note, "note") for note in refused.notes]
    if not seen and not any(isinstance(e, _Failure) for e in entries):
        entries.append(_client_failure(NO_OBJECTS))

    failures = [e for e in entries if isinstance(e, _Failure)]
    report.failed = len(failures)
    for entry in entries:
        if isinstance(entry, _Failure):
            text_ = entry.alone if len(failures) == 1 else entry.among
            report.lines.append(Line(text_, "error"))
        else:
            report.lines.append(entry)
    return report


# --- reading the manifest ------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML as Kubernetes reads it into JSON: timestamps stay strings."""


_Loader.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    """The documents' texts and the line (1-based) each starts on, split on ``---`` lines as
    apimachinery's YAMLReader does (a separator may carry a comment, nothing else)."""
    start, lines = 1, []
    for number, line in enumerate(text.splitlines(), start=1):
        if _SEPARATOR.match(line):
            yield start, "\n".join(lines)
            start, lines = number + 1, []
        else:
            lines.append(line)
    yield start, "\n".join(lines)


def _has_content(chunk: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in chunk.splitlines())


def _documents(chunk: str) -> list:
    """The objects of one document: none if it is empty, the items of a ``List``."""
    doc = yaml.load(chunk, Loader=_Loader)  # a SafeLoader subclass
    if doc is None:
        return []
    if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
        return list(doc["items"])
    return [doc]


# --- one object ------------------------------------------------------------------------------


def _apply_one(run: _Run, doc: object, report: ApplyReport) -> list[Line]:
    res = _resource(doc)
    assert isinstance(doc, dict)
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    name = str(meta.get("name") or "")
    namespace = (str(meta.get("namespace") or "") or "default") if res.namespaced else ""
    target = _Object(res, name, namespace)
    if not name:
        raise _Refused(_client_failure(NO_NAME.format(target=_target(target), source=SOURCE)))
    lines = _server_side(run, target, doc) if run.server_side else _client_side(run, target, doc)
    report.applied.append((res.kind, namespace, name))
    return lines


def _resource(doc: object) -> Resource:
    if not isinstance(doc, dict):
        raise _Refused(_validation_failure("invalid object to validate"))
    missing = [key for key in ("apiVersion", "kind") if not doc.get(key)]
    if missing:
        detail = (
            f"{missing[0]} not set" if len(missing) == 1 else "[apiVersion not set, kind not set]"
        )
        raise _Refused(_validation_failure(detail))
    kind, api_version = str(doc["kind"]), str(doc["apiVersion"])
    for res in RESOURCES:
        if (res.kind, res.group_version) == (kind, api_version):
            return res
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    message = NO_MATCH.format(
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        source=SOURCE,
        kind=kind,
        version=api_version,
    )
    raise _Refused(_client_failure(message))


def _client_side(run: _Run, obj: _Object, doc: dict) -> list[Line]:
    res = obj.res
    modified = client_apply.with_last_applied(doc)
    recorder = writes.update_recorder(run.cluster, res, manager=FIELD_MANAGER)
    live = _live(run.cluster, obj)
    if live is None:
        try:
            writes.validate_fields(res, modified)
            objects.object_create(
                cluster=run.cluster,
                body=modified,
                namespace=obj.namespace or None,
                actor=run.actor,
                dry_run=run.dry_run,
                managed_fields=recorder,
            )
        except errors.ServiceError as exc:
            raise _Refused(_server_failure(exc, res, WHEN_CREATING)) from None
        return [_done(obj, "created", run.dry_run)]

    lines = []
    if client_apply.last_applied(live.body) is None:
        lines.append(Line(MISSING_LAST_APPLIED.format(plural=res.name, name=obj.name), "warning"))
    gvk = (res.group, res.version, res.kind)
    for attempt in range(PATCH_RETRIES):
        original = client_apply.last_applied(live.body)
        patch = client_apply.three_way_patch(original, modified, live.body, gvk=gvk)
        if not patch:
            return [*lines, _done(obj, "unchanged", run.dry_run)]
        pinned = bool((patch.get("metadata") or {}).get("resourceVersion"))
        try:
            _patch(run, obj, live, patch, pinned=pinned, recorder=recorder)
            return [*lines, _done(obj, "configured", run.dry_run)]
        except errors.Conflict as exc:
            if pinned or attempt == PATCH_RETRIES - 1:
                notes = (STALE_HINT,) if pinned else ()
                raise _Refused(_patch_failure(exc, obj, patch), *notes, before=lines) from None
            live = _live(run.cluster, obj) or live
        except errors.ServiceError as exc:
            raise _Refused(_patch_failure(exc, obj, patch), before=lines) from None
    raise AssertionError("unreachable")


def _patch(
    run: _Run,
    obj: _Object,
    live: KubeObject,
    patch: dict,
    *,
    pinned: bool,
    recorder: objects.ManagedFields,
) -> KubeObject:
    """The patch written as the API's PATCH handler writes it (a PUT of the patched object,
    pinned to the resourceVersion it was computed from)."""
    from cluster.api import patch as engines  # noqa: PLC0415 - the schema loads on first use

    res = obj.res
    try:
        patched = engines.strategic_merge_patch(
            live.body, patch, gvk=(res.group, res.version, res.kind)
        )
    except engines.PatchError as exc:
        raise errors.Invalid(str(exc)) from None
    writes.validate_fields(res, patched)
    return writes.write_patched(
        live,
        patched,
        res=res,
        pinned=pinned,
        actor=run.actor,
        dry_run=run.dry_run,
        recorder=recorder,
    )


def _server_side(run: _Run, obj: _Object, doc: dict) -> list[Line]:
    from cluster.api import apply as ssa  # noqa: PLC0415 - the schema loads on first use
    from cluster.api import patch as engines  # noqa: PLC0415

    try:
        writes.validate_fields(obj.res, doc)
        writes.apply_configuration(
            cluster=run.cluster,
            res=obj.res,
            namespace=obj.namespace or None,
            name=obj.name,
            applied=doc,
            manager=FIELD_MANAGER,
            force=run.force,
            actor=run.actor,
            dry_run=run.dry_run,
        )
    except ssa.ApplyConflict as conflict:
        message = ssa.conflict_message(conflict.conflicts)
        raise _Refused(_client_failure(message), CONFLICT_HINT) from None
    except engines.PatchError as exc:
        raise _Refused(_server_failure(errors.Invalid(str(exc)), obj.res, "{message}")) from None
    except errors.ServiceError as exc:
        raise _Refused(_server_failure(exc, obj.res, "{message}")) from None
    return [_done(obj, "serverside-applied", run.dry_run)]


def _live(cluster: Cluster, obj: _Object) -> KubeObject | None:
    try:
        return objects.object_get(
            cluster=cluster, kind=obj.res.kind, namespace=obj.namespace, name=obj.name
        )
    except errors.NotFound:
        return None


# --- kubectl's words -------------------------------------------------------------------------


def resource_ref(res: Resource, name: str) -> str:
    """``deployment.apps/web``, ``namespace/team-a``: how kubectl names an object it applied."""
    qualified = f"{res.singular}.{res.group}" if res.group else res.singular
    return f"{qualified}/{name}"


def _done(obj: _Object, action: str, dry_run: bool) -> Line:
    return Line(f"{resource_ref(obj.res, obj.name)} {action}{DRY_RUN_SUFFIX if dry_run else ''}")


def _target(obj: _Object) -> str:
    res = obj.res
    gv = f"{res.group}/{res.version}"  # "/v1" for the core group, as apimachinery prints it
    return TARGET.format(
        gv=gv, plural=res.name, kind=res.kind, name=obj.name, namespace=obj.namespace
    )


def _client_failure(message: str) -> _Failure:
    return _Failure(alone=f"error: {message}", among=message)


def _validation_failure(detail: str) -> _Failure:
    return _client_failure(NOT_VALID.format(source=SOURCE, detail=detail))


def _server_failure(exc: errors.ServiceError, res: Resource, wrap: str, **extra: str) -> _Failure:
    """A Status error as kubectl prints it: ``The <Kind> "<name>" is invalid: <causes>`` for a
    lone Invalid with causes, else ``Error from server (<reason>): <message>`` with the
    message wrapped the way the write path wraps it (``error when creating "STDIN": ...``)."""
    message = wrap.format(source=SOURCE, message=exc.message, **extra)
    among = f"Error from server ({exc.reason}): {message}"
    if exc.reason != "Invalid":
        return _Failure(alone=among, among=among)
    if not exc.causes:
        return _Failure(alone=f"The request is invalid: {message}", among=among)
    causes = [f"{c.get('field', '')}: {c.get('message', '')}" for c in exc.causes]
    detail = causes[0] if len(causes) == 1 else "[" + ", ".join(causes) + "]"
    alone = f'The {exc.kind or res.kind} "{exc.name}" is invalid: {detail}'
    return _Failure(alone=alone, among=among)


def _patch_failure(exc: errors.ServiceError, obj: _Object, patch: dict) -> _Failure:
    return _server_failure(
        exc,
        obj.res,
        WHEN_PATCHING,
        patch=json.dumps(patch, sort_keys=True, separators=(",", ":")),
        target=_target(obj),
    )


def served_kind(kind: str) -> Resource | None:
    """The served resource of a kind named in a URL (``deployment``, ``Deployment``)."""
    return next((r for r in RESOURCES if r.kind.lower() == kind.lower()), None)
