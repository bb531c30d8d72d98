"""The dashboard's pages and htmx endpoints (the WebSocket routes are in ``routing.py``)."""

from __future__ import annotations

from django.urls import path

from cluster import (
    classroom_views,
    hpa_views,
    lesson_views,
    replay_views,
    request_path_views,
    rollout_views,
    traffic_views,
    views,
)

app_name = "cluster"

urlpatterns = [
    path("", views.index, name="index"),
    path("join/", classroom_views.join, name="join"),
    path("leave/", classroom_views.leave, name="leave"),
    path("projector/<str:token>/", classroom_views.projector, name="projector"),
    path("classes/", classroom_views.classes, name="classes"),
    path("classes/<int:pk>/", classroom_views.classroom, name="classroom"),
    path("classes/<int:pk>/sandboxes/", classroom_views.sandboxes, name="sandboxes"),
    path("clusters/", views.demo_create, name="demo-create"),
    path("clusters/import/", replay_views.history_import, name="history-import"),
    path("lessons/upload/", lesson_views.lesson_upload, name="lesson-upload"),
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
    path("clusters/<slug:name>/settle/", views.settle, name="settle"),
    path("clusters/<slug:name>/kubeconfig/", views.kubeconfig_download, name="kubeconfig"),
    path("clusters/<slug:name>/replay/", replay_views.replay, name="replay"),
    path("clusters/<slug:name>/replay/at/", replay_views.replay_at, name="replay-at"),
    path("clusters/<slug:name>/history/", replay_views.history_export, name="history-export"),
    path("clusters/<slug:name>/lesson/", lesson_views.lesson_panel, name="lesson"),
    path("clusters/<slug:name>/lesson/next/", lesson_views.lesson_next, name="lesson-next"),
    path("clusters/<slug:name>/lesson/answer/", lesson_views.lesson_answer, name="lesson-answer"),
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
    path("clusters/<slug:name>/autoscaling/", hpa_views.hpa_panel, name="hpa"),
    path(
        "clusters/<slug:name>/autoscaling/<str:namespace>/<str:deployment>/",
        hpa_views.hpa_panel,
        name="hpa-panel",
    ),
    path(
        "clusters/<slug:name>/deployments/<str:namespace>/<str:deployment>/hpa/",
        hpa_views.hpa_save,
        name="hpa-save",
    ),
    path(
        "clusters/<slug:name>/deployments/<str:namespace>/<str:deployment>/hpa/delete/",
        hpa_views.hpa_delete,
        name="hpa-delete",
    ),
    path(
        "clusters/<slug:name>/deployments/<str:namespace>/<str:deployment>/cpu-burn/",
        hpa_views.cpu_burn,
        name="cpu-burn",
    ),
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
    path("clusters/<slug:name>/request/", request_path_views.request_panel, name="request"),
    path(
        "clusters/<slug:name>/request/send/", request_path_views.request_send, name="request-send"
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
    path("clusters/<slug:name>/services/", traffic_views.services_panel, name="services"),
    path(
        "clusters/<slug:name>/services/expose/",
        traffic_views.service_expose,
        name="service-expose",
    ),
    path("clusters/<slug:name>/proxy-mode/", traffic_views.proxy_mode, name="proxy-mode"),
    path(
        "clusters/<slug:name>/services/<str:namespace>/<str:service>/delete/",
        traffic_views.service_delete,
        name="service-delete",
    ),
    path(
        "clusters/<slug:name>/services/<str:namespace>/<str:service>/traffic/",
        traffic_views.service_traffic,
        name="service-traffic",
    ),
    # Development only (404 unless DEBUG): the dashboard drawn from tests/fixtures/<fixture>.json.
    path("dev/fixtures/<slug:fixture>/", views.fixture_dashboard, name="fixture-dashboard"),
]
