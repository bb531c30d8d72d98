"""The API's HTTP edges: authenticate, parse the Kubernetes query parameters, read through
:mod:`cluster.selectors`, render JSON (an object, a ``<Kind>List`` or a Table).

Authentication is kube-apiserver's bearer-token scheme: ``Authorization: Bearer <token>``.
No token, or a token no cluster issued → 401 Unauthorized; a token of another cluster → 403
Forbidden. ``/version`` is readable without a token, as the ``system:public-info-viewer``
role allows anonymous users; a wrong token is still refused there, as authentication runs
first in the real server.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from cluster import selectors
from cluster.api import resources, selection, status, tables
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


def api_view(*, anonymous: bool = False) -> Callable[[View], View]:
    """GET only, authenticated against the cluster in the URL, errors as Status objects.

    The view receives the :class:`Cluster` instead of its name."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, name: str, **kwargs: Any) -> HttpResponse:
            cluster = authenticate(request, name, anonymous=anonymous)
            if isinstance(cluster, HttpResponse):
                return cluster
            if request.method not in ("GET", "HEAD"):
                return status.method_not_allowed()
            try:
                return view(request, cluster, **kwargs)
            except selection.SelectorError as error:
                return status.bad_request(str(error))
            except Exception:  # the API never answers with Django's HTML error page
                logger.exception("API request %s failed", request.get_full_path())
                return status.status_response(
                    code=500, reason="InternalError", message="Internal error occurred"
                )

        return wrapper

    return decorate


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


@api_view()
def collection(
    request: HttpRequest,
    cluster: Cluster,
    *,
    group: str,
    version: str,
    plural: str,
    namespace: str | None = None,
) -> HttpResponse:
    """List (``GET .../pods``, ``.../namespaces/<ns>/pods``) with label and field selectors.
    ``limit`` is accepted and ignored: the whole list comes in one page, ``continue`` empty."""
    res = resources.resource_for(group=group, version=version, plural=plural)
    if res is None or (namespace is not None and not res.namespaced):
        return status.no_such_path()
    if parse_bool(request.GET.get("watch")):
        return status.watch_unsupported()
    labels = selection.parse_label_selector(request.GET.get("labelSelector"))
    fields = selection.parse_field_selector(request.GET.get("fieldSelector"), kind=res.kind)
    rv, bodies = selectors.api_objects(cluster=cluster, kind=res.kind, namespace=namespace)
    items = [b for b in bodies if labels(b["metadata"].get("labels") or {}) and fields(b)]
    if wants_table(request):
        return _table(request, cluster, res, items, str(rv))
    return _json(
        {
            "kind": f"{res.kind}List",
            "apiVersion": res.group_version,
            "metadata": {"resourceVersion": str(rv)},
            "items": items,
        }
    )


@api_view()
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
    _, bodies = selectors.api_objects(
        cluster=cluster, kind=res.kind, namespace=namespace or "", name=obj_name
    )
    if not bodies:
        return status.not_found(resource=res.name, group=res.group, name=obj_name)
    body = bodies[0]
    if wants_table(request):
        return _table(request, cluster, res, [body], body["metadata"].get("resourceVersion", ""))
    return _json(body)


def _table(
    request: HttpRequest, cluster: Cluster, res: resources.Resource, items: list[dict], rv: str
) -> HttpResponse:
    include = request.GET.get("includeObject") or "Metadata"
    body = tables.table(
        kind=res.kind, bodies=items, now=cluster.sim_now, resource_version=rv, include=include
    )
    return _json(body, content_type=TABLE_CONTENT_TYPE)


@csrf_exempt
def unknown_path(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """Any other path under ``/api`` or ``/apis``: a 404 Status, never Django's HTML page."""
    return status.no_such_path()
