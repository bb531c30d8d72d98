"""The dashboard's pages and htmx endpoints (the WebSocket routes are in ``routing.py``)."""

from __future__ import annotations

from django.urls import path

from cluster import rollout_views, views

app_name = "cluster"

urlpatterns = [
    path("", views.index, name="index"),
    path("clusters/", views.demo_create, name="demo-create"),
    path("clusters/<slug:name>/", views.dashboard, name="dashboard"),
    path("clusters/<slug:name>/events/", views.events, name="events"),
    path(
        "clusters/<slug:name>/describe/<str:kind>/<str:namespace>/<str:obj_name>/",
        views.describe,
        name="describe",
    ),
    path("clusters/<slug:name>/yaml/", views.yaml_panel, name="yaml-new"),
    path("clusters/<slug:name>/yaml/apply/", views.yaml_apply, name="yaml-apply"),
    path(
        "clusters/<slug:name>/yaml/<str:kind>/<str:namespace>/<str:obj_name>/",
        views.yaml_panel,
        name="yaml-object",
    ),
    path("clusters/<slug:name>/clock/", views.clock, name="clock"),
    path("clusters/<slug:name>/timings/", views.timings_panel, name="timings"),
    path("clusters/<slug:name>/timings/update/", views.timings_update, name="timings-update"),
    path("clusters/<slug:name>/deployments/", views.deployment_create, name="deployment-create"),
    path(
        "clusters/<slug:name>/deployments/<str:namespace>/<str:deployment>/scale/",
        views.deployment_scale,
        name="deployment-scale",
    ),
    path(
        "clusters/<slug:name>/deployments/<str:namespace>/<str:deployment>/delete/",
        views.deployment_delete,
        name="deployment-delete",
    ),
    path("clusters/<slug:name>/rollout/", rollout_views.rollout_panel, name="rollout"),
    path(
        "clusters/<slug:name>/rollout/<str:namespace>/<str:deployment>/",
        rollout_views.rollout_panel,
        name="rollout-panel",
    ),
    path(
        "clusters/<slug:name>/deployments/<str:namespace>/<str:deployment>/edit/",
        rollout_views.deployment_edit,
        name="deployment-edit",
    ),
    path(
        "clusters/<slug:name>/deployments/<str:namespace>/<str:deployment>/rollout/<slug:action>/",
        rollout_views.deployment_rollout_action,
        name="deployment-rollout",
    ),
    path("clusters/<slug:name>/nodes/", views.node_add, name="node-add"),
    path(
        "clusters/<slug:name>/nodes/<str:node>/<slug:action>/",
        views.node_action,
        name="node-action",
    ),
    path(
        "clusters/<slug:name>/pods/<str:namespace>/<str:pod>/delete/",
        views.pod_delete,
        name="pod-delete",
    ),
    path(
        "clusters/<slug:name>/components/<slug:component>/<slug:action>/",
        views.component_action,
        name="component-action",
    ),
    path(
        "clusters/<slug:name>/pods/<str:namespace>/<str:pod>/behavior/",
        views.pod_behavior,
        name="pod-behavior",
    ),
    # Development only (404 unless DEBUG): the dashboard drawn from tests/fixtures/<fixture>.json.
    path("dev/fixtures/<slug:fixture>/", views.fixture_dashboard, name="fixture-dashboard"),
]
