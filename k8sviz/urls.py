"""Root URLconf: the admin, each cluster's Kubernetes-style API under ``/clusters/<name>/``
(``/api``, ``/apis``, ``/version``), and the dashboard at the site root."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    # Sign-in for teachers and admins (templates/registration/login.html).
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("cluster.api.urls")),
    path("", include("cluster.urls")),
]
