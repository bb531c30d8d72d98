"""The simulated controllers, in the order the runner gives each its pass at an instant."""

from __future__ import annotations

from cluster.controllers.apiserver_bootstrap import KubernetesServiceController
from cluster.controllers.base import Controller
from cluster.controllers.deployment import DeploymentController
from cluster.controllers.endpointslice import EndpointSliceController
from cluster.controllers.garbage_collector import GarbageCollector
from cluster.controllers.horizontal_pod_autoscaler import HorizontalPodAutoscalerController
from cluster.controllers.ingress_nginx import IngressNginxController
from cluster.controllers.kubelet import Kubelet
from cluster.controllers.node_ipam import NodeIpamController
from cluster.controllers.node_lifecycle import NodeLifecycleController
from cluster.controllers.replicaset import ReplicaSetController
from cluster.controllers.scheduler import Scheduler
from cluster.controllers.service_lb import ServiceLoadBalancerController
from cluster.controllers.taint_eviction import TaintEvictionController
from cluster.controllers.traffic import TrafficGenerator

CONTROLLERS: list[Controller] = [
    Kubelet(),
    NodeLifecycleController(),
    NodeIpamController(),
    TaintEvictionController(),
    GarbageCollector(),
    DeploymentController(),
    ReplicaSetController(),
    HorizontalPodAutoscalerController(),
    EndpointSliceController(),
    Scheduler(),
    KubernetesServiceController(),
    ServiceLoadBalancerController(),
    IngressNginxController(),
    TrafficGenerator(),
]
