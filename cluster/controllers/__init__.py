"""The simulated controllers, in the order the runner gives each its pass at an instant."""

from __future__ import annotations

from cluster.controllers.base import Controller
from cluster.controllers.deployment import DeploymentController
from cluster.controllers.garbage_collector import GarbageCollector
from cluster.controllers.kubelet import Kubelet
from cluster.controllers.node_lifecycle import NodeLifecycleController
from cluster.controllers.replicaset import ReplicaSetController
from cluster.controllers.scheduler import Scheduler
from cluster.controllers.taint_eviction import TaintEvictionController

CONTROLLERS: list[Controller] = [
    Kubelet(),
    NodeLifecycleController(),
    TaintEvictionController(),
    GarbageCollector(),
    DeploymentController(),
    ReplicaSetController(),
    Scheduler(),
]
