"""The API's routes under ``/clusters/<name>/``: kube-apiserver's paths, without trailing
slashes (kubectl appends the paths to the kubeconfig's ``server:`` URL, prefix included)."""

from __future__ import annotations

from django.urls import path, re_path

from cluster.api import openapi_views, views

app_name = "api"

CORE = {"group": "", "version": "v1"}
PREFIX = "clusters/<slug:name>/"
NAMED = PREFIX + "apis/<str:group>/<str:version>"

urlpatterns = [
    path(PREFIX + "version", views.version, name="version"),
    path(PREFIX + "api", views.core_versions, name="core-versions"),
    path(PREFIX + "apis", views.group_list, name="group-list"),
    path(PREFIX + "api/v1", views.resource_list, CORE, name="core-resources"),
    path(NAMED, views.resource_list, name="group-resources"),
    # Namespaced paths first: "namespaces/<ns>/pods" must not read as a subresource.
    path(PREFIX + "api/v1/namespaces/<str:namespace>/<str:plural>", views.collection, CORE),
    path(
        PREFIX + "api/v1/namespaces/<str:namespace>/<str:plural>/<str:obj_name>",
        views.item,
        CORE,
    ),
    path(
        PREFIX + "api/v1/namespaces/<str:namespace>/<str:plural>/<str:obj_name>/<str:sub>",
        views.subresource,
        CORE,
    ),
    path(PREFIX + "api/v1/<str:plural>", views.collection, CORE),
    path(PREFIX + "api/v1/<str:plural>/<str:obj_name>", views.item, CORE),
    path(PREFIX + "api/v1/<str:plural>/<str:obj_name>/<str:sub>", views.subresource, CORE),
    path(NAMED + "/namespaces/<str:namespace>/<str:plural>", views.collection),
    path(NAMED + "/namespaces/<str:namespace>/<str:plural>/<str:obj_name>", views.item),
    path(
        NAMED + "/namespaces/<str:namespace>/<str:plural>/<str:obj_name>/<str:sub>",
        views.subresource,
    ),
    path(NAMED + "/<str:plural>", views.collection),
    path(NAMED + "/<str:plural>/<str:obj_name>", views.item),
    path(NAMED + "/<str:plural>/<str:obj_name>/<str:sub>", views.subresource),
    path(PREFIX + "openapi/v2", openapi_views.openapi_v2, name="openapi-v2"),
    path(PREFIX + "openapi/v3", openapi_views.openapi_v3_index, name="openapi-v3"),
    path(PREFIX + "openapi/v3/api/v1", openapi_views.openapi_v3_document, CORE),
    path(PREFIX + "openapi/v3/apis/<str:group>/<str:version>", openapi_views.openapi_v3_document),
    re_path(
        r"^clusters/(?P<name>[-a-zA-Z0-9_]+)/(?:api|apis|openapi)(?:/.*)?$", views.unknown_path
    ),
]
