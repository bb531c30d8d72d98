"""The core's writes. Every edge (views, the API, tasks, management commands) changes the
cluster only through these functions; each is atomic and logs to the change log."""

from __future__ import annotations

from cluster.services.clusters import (
    cluster_clock_update,
    cluster_create,
    cluster_settle,
    cluster_step,
    demo_cluster_create,
    demo_cluster_ensure,
)
from cluster.services.components import component_start, component_stop
from cluster.services.errors import (
    AlreadyExists,
    Conflict,
    Invalid,
    LimitExceeded,
    NotFound,
    ServiceError,
    Unavailable,
)
from cluster.services.k8s_events import event_record
from cluster.services.networking import (
    kubernetes_service_ensure,
    service_create,
    service_delete,
    service_expose_deployment,
)
from cluster.services.traffic import (
    cluster_proxy_mode_set,
    node_kube_proxy_start,
    node_kube_proxy_stop,
    service_traffic_set,
)
from cluster.services.nodes import (
    node_add,
    node_cordon,
    node_drain,
    node_heal,
    node_kubelet_start,
    node_kubelet_stop,
    node_partition,
    node_power_off,
    node_power_on,
    node_pressure_set,
    node_remove,
    node_uncordon,
)
from cluster.services.pods import (
    deployment_behavior_set,
    pod_behavior_set,
    pod_bind,
    pod_create,
    pod_delete,
    pod_evict,
)
from cluster.services.tokens import api_token_issue, kubeconfig_issue
from cluster.services.workloads import (
    deployment_create,
    deployment_delete,
    deployment_scale,
    deployment_submit,
)
from cluster.timings import TIMING_PROFILES

__all__ = [
    "TIMING_PROFILES",
    "AlreadyExists",
    "Conflict",
    "Invalid",
    "LimitExceeded",
    "NotFound",
    "ServiceError",
    "Unavailable",
    "api_token_issue",
    "kubeconfig_issue",
    "cluster_clock_update",
    "cluster_settle",
    "cluster_create",
    "cluster_proxy_mode_set",
    "cluster_step",
    "component_start",
    "component_stop",
    "demo_cluster_create",
    "demo_cluster_ensure",
    "deployment_behavior_set",
    "deployment_create",
    "deployment_delete",
    "deployment_scale",
    "deployment_submit",
    "event_record",
    "kubernetes_service_ensure",
    "node_add",
    "node_cordon",
    "node_drain",
    "node_heal",
    "node_kubelet_start",
    "node_kubelet_stop",
    "node_kube_proxy_start",
    "node_kube_proxy_stop",
    "node_partition",
    "node_power_off",
    "node_power_on",
    "node_pressure_set",
    "node_remove",
    "node_uncordon",
    "pod_behavior_set",
    "pod_bind",
    "pod_create",
    "pod_delete",
    "pod_evict",
    "service_create",
    "service_delete",
    "service_expose_deployment",
    "service_traffic_set",
]
