"""Root URLconf: the admin, each cluster's Kubernetes-style API under ``/clusters/<name>/``
(``/api``, ``/apis``, ``/version``), and the dashboard at the site root."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("cluster.api.urls")),
    path("", include("cluster.urls")),
]
