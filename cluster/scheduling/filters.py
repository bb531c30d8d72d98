"""Filter plugins of the default profile that the simulator models, one pure function each.

Owns the feasibility rules and their exact failure reasons, the strings Kubernetes puts in
``FailedScheduling`` events (k8s-reference §4.3). Each filter takes ``(pod, node)`` and returns
``None`` when the node passes, or the reason it fails:

- ``node_unschedulable`` (``nodeunschedulable``), ``node_name`` (``nodename``),
  ``taint_toleration`` (``tainttoleration``) and ``node_affinity`` (``nodeaffinity``, only
  ``spec.nodeSelector`` here) return one reason string. Kubernetes marks these
  ``UnschedulableAndUnresolvable``: evicting pods would not help.
- ``node_resources_fit`` (``noderesources/fit.go`` ``fitsRequest``) returns a *tuple* of reasons,
  empty when the pod fits, because Kubernetes reports every resource the node is short of
  ("Too many pods", "Insufficient cpu", "Insufficient memory", in that order), and the FitError
  histogram counts each of them once for the node. Its status is ``Unschedulable``: preemption
  could free the room.

Filtering uses real requests; the 100m / 200Mi non-zero defaults are for scoring only.
"""

from __future__ import annotations

from cluster.scheduling.tolerations import NO_SCHEDULE, tolerated_by_any, untolerated
from cluster.scheduling.types import NodeInfo, PodInfo, Taint

ERR_UNSCHEDULABLE = "node(s) were unschedulable"
ERR_NODE_NAME = "node(s) didn't match the requested node name"
ERR_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
ERR_TOO_MANY_PODS = "Too many pods"
ERR_INSUFFICIENT_CPU = "Insufficient cpu"
ERR_INSUFFICIENT_MEMORY = "Insufficient memory"
#: The node lifecycle controller's taint for cordoned nodes (``TaintNodeUnschedulable``).
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"

_UNSCHEDULABLE_TAINT = Taint(key=TAINT_UNSCHEDULABLE, effect=NO_SCHEDULE)


def untolerated_taint_reason(taint: Taint) -> str:
    """``node(s) had untolerated taint {key: value}``; an empty value leaves ``{key: }``."""
    return f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}"


def node_unschedulable(pod: PodInfo, node: NodeInfo) -> str | None:
    """A cordoned node (``spec.unschedulable``) takes only pods that tolerate the
    ``node.kubernetes.io/unschedulable:NoSchedule`` taint (DaemonSet pods do)."""
    if node.unschedulable and not tolerated_by_any(_UNSCHEDULABLE_TAINT, pod.tolerations):
        return ERR_UNSCHEDULABLE
    return None


def node_name(pod: PodInfo, node: NodeInfo) -> str | None:
    """A pod naming a node in ``spec.nodeName`` fits only that node."""
    if pod.node_name and pod.node_name != node.name:
        return ERR_NODE_NAME
    return None


def taint_toleration(pod: PodInfo, node: NodeInfo) -> str | None:
    """The node's first NoSchedule or NoExecute taint the pod does not tolerate, if any.
    PreferNoSchedule taints only lower the score."""
    bad = untolerated(node.taints, pod.tolerations)
    return untolerated_taint_reason(bad[0]) if bad else None


def node_affinity(pod: PodInfo, node: NodeInfo) -> str | None:
    """Every ``nodeSelector`` label must be on the node with the same value."""
    for key, value in pod.node_selector.items():
        if node.labels.get(key) != value:
            return ERR_NODE_AFFINITY
    return None


def node_resources_fit(pod: PodInfo, node: NodeInfo) -> tuple[str, ...]:
    """All the resources the node lacks for the pod; empty when it fits.

    A pod slot is always needed. CPU and memory are checked only when the pod requests them
    (a request-less pod fits any node with a free pod slot), against allocatable minus the
    real requests of the pods already there.
    """
    reasons: list[str] = []
    if node.requested.pods + 1 > node.allocatable.pods:
        reasons.append(ERR_TOO_MANY_PODS)
    if pod.requests.cpu > 0 and pod.requests.cpu > node.allocatable.cpu - node.requested.cpu:
        reasons.append(ERR_INSUFFICIENT_CPU)
    free_memory = node.allocatable.memory - node.requested.memory
    if pod.requests.memory > 0 and pod.requests.memory > free_memory:
        reasons.append(ERR_INSUFFICIENT_MEMORY)
    return tuple(reasons)


def is_resource_reason(reason: str) -> bool:
    """Whether a reason comes from NodeResourcesFit, the one modelled filter whose failures
    preemption could resolve."""
    return reason == ERR_TOO_MANY_PODS or reason.startswith("Insufficient ")
