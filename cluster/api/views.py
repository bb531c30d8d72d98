"""The API's HTTP edges: authenticate, parse the Kubernetes query parameters, read through
:mod:`cluster.selectors`, render JSON (an object, a ``<Kind>List`` or a Table).

Authentication is kube-apiserver's bearer-token scheme: ``Authorization: Bearer <token>``.
No token, or a token no cluster issued → 401 Unauthorized; a token of another cluster → 403
Forbidden. ``/version`` is readable without a token, as the ``system:public-info-viewer``
role allows anonymous users; a wrong token is still refused there, as authentication runs
first in the real server.

While the cluster's kube-apiserver is stopped every request (after authentication, which
the simulator still does so as not to tell strangers about the cluster) is answered with a 503
Status saying so: a real stopped apiserver would refuse the TCP connection. While etcd is
stopped, reads are still served (as from the apiserver's watch cache) and writes fail in the
store with a 500 ``etcdserver: request timed out``; see docs/controlplane.md.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from cluster import selectors
from cluster.api import (
    hpa_versions,
    logs,
    metrics_api,
    paging,
    resources,
    selection,
    status,
    tables,
    watch,
    writes,
)
from cluster.models import Cluster

logger = logging.getLogger(__name__)

TABLE_CONTENT_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"
View = Callable[..., HttpResponse]


def _bearer(request: HttpRequest) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def authenticate(request: HttpRequest, name: str, *, anonymous: bool) -> Cluster | HttpResponse:
    """The cluster named in the URL, or the Status refusing the request."""
    token = _bearer(request)
    found = selectors.api_token_find(token=token) if token else None
    if (token and found is None) or (not token and not anonymous):
        return status.unauthorized()
    if found is not None and found.cluster.name != name:
        return status.forbidden(user=found.user, cluster=name)
    cluster = found.cluster if found else selectors.cluster_find(name=name)
    return status.no_such_path() if cluster is None else cluster


READ = ("GET", "HEAD")


def api_view(*, anonymous: bool = False, methods: tuple[str, ...] = READ) -> Callable[[View], View]:
    """Authenticated against the cluster in the URL, only ``methods`` (405 otherwise), errors
    as Status objects.

    The view receives the :class:`Cluster` instead of its name."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, name: str, **kwargs: Any) -> HttpResponse:
            cluster = authenticate(request, name, anonymous=anonymous)
            if isinstance(cluster, HttpResponse):
                return cluster
            if not cluster.components.get("kube-apiserver", True):
                return status.apiserver_stopped()
            if request.method not in methods:
                return status.method_not_allowed()
            try:
                response = view(request, cluster, **kwargs)
                warnings = getattr(request, "k8s_warnings", None)
                if warnings:
                    response["Warning"] = ", ".join(_warning(text) for text in warnings)
                return response
            except selection.SelectorError as error:
                return status.bad_request(str(error))
            except Exception:  # the API never answers with Django's HTML error page
                logger.exception("API request %s failed", request.get_full_path())
                return status.status_response(
                    code=500, reason="InternalError", message="Internal error occurred"
                )

        return wrapper

    return decorate


def _warning(text: str) -> str:
    """An RFC 7234 Warning value as kube-apiserver sends it (code 299, agent "-")."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'


def _json(body: dict, *, content_type: str = "application/json") -> JsonResponse:
    return JsonResponse(body, content_type=content_type)


def parse_bool(value: str | None) -> bool:
    """Go's strconv.ParseBool truths, as the API server parses ``watch``."""
    return value in {"1", "t", "T", "TRUE", "true", "True"}


def wants_table(request: HttpRequest) -> bool:
    """kubectl get sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io, ...``."""
    accept = request.headers.get("Accept", "")
    return any(
        "as=Table" in part and "g=meta.k8s.io" in part and "v=v1" in part.replace("v=v1beta1", "")
        for part in accept.split(",")
    )


# --- discovery ---------------------------------------------------------------------------------


@api_view(anonymous=True)
def version(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    return _json(resources.version_info())


def wants_aggregated_discovery(request: HttpRequest) -> bool:
    """kubectl ≥1.26 asks ``/api`` and ``/apis`` for
    ``application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`` first (v2beta1 is
    not served); older clients and the Python client ask for plain JSON."""
    for part in request.headers.get("Accept", "").split(","):
        params = {p.strip() for p in part.split(";")[1:]}
        if {"g=apidiscovery.k8s.io", "v=v2", "as=APIGroupDiscoveryList"} <= params:
            return True
    return False


def _discovery(request: HttpRequest, *, core: bool, legacy: dict) -> HttpResponse:
    """Aggregated discovery when asked for it, legacy otherwise. client-go tells them apart by
    the response's Content-Type, and ``Vary: Accept`` keeps HTTP caches from mixing them."""
    if wants_aggregated_discovery(request):
        response = _json(
            resources.aggregated_discovery(core=core),
            content_type=resources.AGGREGATED_CONTENT_TYPE,
        )
    else:
        response = _json(legacy)
    response["Vary"] = "Accept"
    return response


@api_view()
def core_versions(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """``/api``: the core group as aggregated discovery, or legacy ``APIVersions``."""
    return _discovery(request, core=True, legacy=resources.api_versions(request.get_host()))


@api_view()
def group_list(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    """``/apis``: the named groups as aggregated discovery, or a legacy ``APIGroupList``."""
    return _discovery(request, core=False, legacy=resources.api_group_list())


@api_view()
def resource_list(
    request: HttpRequest, cluster: Cluster, *, group: str, version: str
) -> HttpResponse:
    if not resources.group_served(group, version):
        return status.no_such_path()
    return _json(resources.api_resource_list(group, version))


# --- get and list ------------------------------------------------------------------------------


@api_view(methods=(*READ, "POST", "DELETE"))
def collection(
    request: HttpRequest,
    cluster: Cluster,
    *,
    group: str,
    version: str,
    plural: str,
    namespace: str | None = None,
) -> HttpResponse:
    """List (``GET .../pods``, ``.../namespaces/<ns>/pods``) with label and field selectors, in
    pages of ``limit`` (see :mod:`cluster.api.paging`); POST creates, DELETE deletes the
    selected objects."""
    res = resources.resource_for(group=group, version=version, plural=plural)
    if res is None and namespace is not None and group == "":
        # /api/v1/namespaces/<name>/status: a subresource of a Namespace, not a collection.
        namespaces = resources.resource_for(group="", version="v1", plural="namespaces")
        if namespaces is not None and namespaces.subresource(plural):
            return _subresource(request, cluster, namespaces, None, namespace, plural)
    if res is None or (namespace is not None and not res.namespaced):
        return status.no_such_path()
    if res.metrics:
        return metrics_api.respond(request, cluster, res, namespace)
    v1 = hpa_versions.is_v1(res)
    if request.method == "POST" and v1:
        return writes.create(
            request,
            cluster,
            res,
            namespace,
            to_storage=hpa_versions.to_v2,
            from_storage=hpa_versions.to_v1,
        )
    if request.method == "POST":
        return writes.create(request, cluster, res, namespace)
    labels = selection.parse_label_selector(request.GET.get("labelSelector"))
    fields = selection.parse_field_selector(request.GET.get("fieldSelector"), kind=res.kind)
    if parse_bool(request.GET.get("watch")):
        return _watch(request, cluster, res, namespace=namespace, labels=labels, fields=fields)
    try:
        page = paging.parse(
            request.GET.get("limit"), request.GET.get("continue"), compacted=cluster.compacted_rv
        )
    except paging.PagingError as error:
        return status.status_response(code=error.code, reason=error.reason, message=str(error))
    selected = request.GET.get("labelSelector") or request.GET.get("fieldSelector")
    if request.method != "DELETE" and not selected and not v1:
        return _unselected_list(request, cluster, res, namespace, page)
    rv, bodies = selectors.api_objects(cluster=cluster, kind=res.kind, namespace=namespace)
    items = [b for b in bodies if labels(b["metadata"].get("labels") or {}) and fields(b)]
    if request.method == "DELETE":
        return writes.delete_collection(request, cluster, res, items)
    items, meta = paging.paginate(items, page, rv)
    if wants_table(request):
        return _table(request, cluster, res, items, meta)
    if v1:
        items = [hpa_versions.to_v1(item) for item in items]
    return _json(
        {
            "kind": f"{res.kind}List",
            "apiVersion": res.group_version,
            "metadata": meta,
            "items": items,
        }
    )


def _unselected_list(
    request: HttpRequest,
    cluster: Cluster,
    res: resources.Resource,
    namespace: str | None,
    page: paging.Page,
) -> HttpResponse:
    """A list without selectors, paged on the keys before any body is decoded: a Table decodes
    only its page; a ``<Kind>List`` is joined from the stored JSON texts, never decoded."""
    rv, rows = selectors.api_object_texts(cluster=cluster, kind=res.kind, namespace=namespace)
    keys, meta = paging.paginate_keys([(ns, name) for ns, name, _ in rows], page, rv)
    texts = [text for ns, name, text in rows if (ns, name) in keys]
    if wants_table(request):
        return _table(request, cluster, res, [json.loads(text) for text in texts], meta)
    head = json.dumps(
        {"kind": f"{res.kind}List", "apiVersion": res.group_version, "metadata": meta},
        separators=(",", ":"),
    )
    body = head[:-1] + ',"items":[' + ",".join(texts) + "]}"
    return HttpResponse(body, content_type="application/json")


@api_view(methods=(*READ, "PUT", "PATCH", "DELETE"))
def item(
    request: HttpRequest,
    cluster: Cluster,
    *,
    group: str,
    version: str,
    plural: str,
    obj_name: str,
    namespace: str | None = None,
) -> HttpResponse:
    """Get one object; a missing one is 404 NotFound ``pods "x" not found``."""
    res = resources.resource_for(group=group, version=version, plural=plural)
    if res is None or res.namespaced != (namespace is not None):
        return status.no_such_path()
    if res.metrics:
        return metrics_api.respond(request, cluster, res, namespace, obj_name)
    v1 = hpa_versions.is_v1(res)
    if v1 and request.method in ("PUT", "PATCH"):
        # autoscaling/v1 is served for kubectl autoscale's create; updates go through v2.
        return status.method_not_allowed()
    if request.method == "PUT":
        return writes.replace(request, cluster, res, namespace, obj_name)
    if request.method == "PATCH":
        return writes.patch(request, cluster, res, namespace, obj_name)
    if request.method == "DELETE":
        return writes.delete(request, cluster, res, namespace, obj_name)
    if parse_bool(request.GET.get("watch")):
        labels = selection.parse_label_selector(request.GET.get("labelSelector"))
        by_name = selection.parse_field_selector(f"metadata.name={obj_name}", kind=res.kind)
        return _watch(request, cluster, res, namespace=namespace, labels=labels, fields=by_name)
    _, bodies = selectors.api_objects(
        cluster=cluster, kind=res.kind, namespace=namespace or "", name=obj_name
    )
    if not bodies:
        return status.not_found(resource=res.name, group=res.group, name=obj_name)
    body = bodies[0]
    if wants_table(request):
        rv = body["metadata"].get("resourceVersion", "")
        return _table(request, cluster, res, [body], {"resourceVersion": rv})
    return _json(hpa_versions.to_v1(body) if v1 else body)


@api_view(methods=(*READ, "POST", "PUT", "PATCH"))
def subresource(
    request: HttpRequest,
    cluster: Cluster,
    *,
    group: str,
    version: str,
    plural: str,
    obj_name: str,
    sub: str,
    namespace: str | None = None,
) -> HttpResponse:
    res = resources.resource_for(group=group, version=version, plural=plural)
    if res is None or res.namespaced != (namespace is not None):
        return status.no_such_path()
    return _subresource(request, cluster, res, namespace, obj_name, sub)


def _subresource(
    request: HttpRequest,
    cluster: Cluster,
    res: resources.Resource,
    namespace: str | None,
    obj_name: str,
    sub: str,
) -> HttpResponse:
    """``scale`` (GET/PUT/PATCH, an autoscaling/v1 Scale), ``status`` (GET/PUT/PATCH, the whole
    object), ``binding`` and ``eviction`` (POST) and ``log`` (GET)."""
    spec = res.subresource(sub)
    if spec is None:
        return status.no_such_path()
    verb = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch"}
    if verb.get(request.method or "") not in spec.verbs:
        return status.method_not_allowed()
    ns = namespace or ""
    if sub == "binding":
        return writes.bind(request, cluster, res, ns, obj_name)
    if sub == "eviction":
        return writes.evict(request, cluster, res, ns, obj_name)
    if sub == "log":
        return logs.pod_log(request, cluster, ns, obj_name)
    if request.method == "PUT":
        return writes.replace(request, cluster, res, namespace, obj_name, subresource=sub)
    if request.method == "PATCH":
        return writes.patch(request, cluster, res, namespace, obj_name, subresource=sub)
    if sub == "scale":
        return writes.get_scale(cluster, res, ns, obj_name)
    _, bodies = selectors.api_objects(cluster=cluster, kind=res.kind, namespace=ns, name=obj_name)
    if not bodies:
        return status.not_found(resource=res.name, group=res.group, name=obj_name)
    return _json(bodies[0])


def _watch(
    request: HttpRequest,
    cluster: Cluster,
    res: resources.Resource,
    *,
    namespace: str | None,
    labels: Callable[[dict], bool],
    fields: Callable[[dict], bool],
) -> HttpResponse:
    """A streaming watch (see :mod:`cluster.api.watch`): parameters parsed here, so bad ones
    are refused with a Status before the stream starts."""
    since_text = request.GET.get("resourceVersion") or "0"
    try:
        since = int(since_text)
        timeout = float(request.GET.get("timeoutSeconds") or 0)
    except ValueError:
        return status.bad_request(f'invalid resource version "{since_text}"')
    if since < 0 or timeout < 0:
        return status.bad_request(f'invalid resource version "{since_text}"')
    req = watch.WatchRequest(
        cluster=cluster,
        kind=res.kind,
        api_version=res.group_version,
        namespace=namespace,
        labels=labels,
        fields=fields,
        since=since or None,
        bookmarks=parse_bool(request.GET.get("allowWatchBookmarks")),
        timeout=timeout or watch.default_timeout(),
        table_include=(request.GET.get("includeObject") or "Metadata")
        if wants_table(request)
        else None,
        bookmark_every=settings.K8SVIZ_WATCH_BOOKMARK_SECONDS,
    )
    response = StreamingHttpResponse(watch.stream(req), content_type="application/json")
    response["Cache-Control"] = "no-cache, private"
    return response


def _table(
    request: HttpRequest, cluster: Cluster, res: resources.Resource, items: list[dict], meta: dict
) -> HttpResponse:
    include = request.GET.get("includeObject") or "Metadata"
    body = tables.table(
        kind=res.kind,
        bodies=items,
        now=cluster.sim_now,
        resource_version=meta["resourceVersion"],
        include=include,
    )
    body["metadata"] = meta
    return _json(body, content_type=TABLE_CONTENT_TYPE)


@csrf_exempt
def unknown_path(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """Any other path under ``/api`` or ``/apis``: a 404 Status, never Django's HTML page."""
    return status.no_such_path()
