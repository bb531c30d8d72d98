"""The OpenAPI endpoints: ``/openapi/v2`` (empty), ``/openapi/v3`` (the index) and one v3
document per served group-version. Readable with any valid token of the cluster."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from cluster.api import openapi, status
from cluster.api.views import api_view
from cluster.models import Cluster

# An empty body is a valid, empty protobuf ``openapi_v2.Document``: kubectl 1.27/1.28 (which
# need v2) and 1.20 then skip client-side validation instead of failing (kubectl-api.md §1.5).
# kube-openapi answers the "...spec.v2.v1.0+protobuf" spelling even when the client asks for
# the deprecated "...spec.v2@v1.0+protobuf": Go's mime.ParseMediaType rejects the "@", and
# client-go then fails with "mime: unexpected content after media subtype" (observed, 1.28).
OPENAPI_V2_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


@api_view()
def openapi_v2(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    return HttpResponse(b"", content_type=OPENAPI_V2_CONTENT_TYPE)


@api_view()
def openapi_v3_index(request: HttpRequest, cluster: Cluster) -> HttpResponse:
    return JsonResponse(openapi.index())


@api_view()
def openapi_v3_document(
    request: HttpRequest, cluster: Cluster, *, group: str, version: str
) -> HttpResponse:
    body = openapi.document_bytes(group, version)
    if body is None:
        return status.no_such_path()
    return HttpResponse(body, content_type="application/json")
