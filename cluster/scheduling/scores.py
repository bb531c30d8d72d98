"""Score plugins of the default profile that the simulator models, as pure functions.

Owns the score arithmetic, integer for integer as the plugins compute it (``MaxNodeScore`` 100):

- ``NodeResourcesFit`` with its default ``LeastAllocated`` strategy, cpu and memory weight 1
  (``noderesources/least_allocated.go``): uses the *non-zero* requests, the node's plus the
  pod's, so request-less pods still spread.
- ``NodeResourcesBalancedAllocation`` (``balanced_allocation.go``): uses the *real* requests
  (``useRequested: true``); the plugin skips best-effort pods (no cpu and no memory request),
  which here is a score of 0 on every node, so it cannot change the choice.
- ``TaintToleration`` (``tainttoleration``): counts PreferNoSchedule taints the pod does not
  tolerate, then ``DefaultNormalizeScore(reverse=true)`` turns fewest into 100.

Final score = sum of weight * plugin score, weights from the default profile (k8s-reference §4.1).
Plugins left out, and why it is safe for this simulator:

- NodeAffinity (weight 2) and InterPodAffinity (2) score only preferred affinity terms, which
  the simulator's pods never have, so every node would get the same score;
- PodTopologySpread (2) with its system-default constraints, and ImageLocality (1), do differ
  between nodes in real clusters, but are not modelled: spreading comes from LeastAllocated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cluster.scheduling.tolerations import PREFER_NO_SCHEDULE, tolerated_by_any
from cluster.scheduling.types import NodeInfo, PodInfo

MAX_NODE_SCORE = 100
WEIGHTS: dict[str, int] = {
    "TaintToleration": 3,
    "NodeResourcesFit": 1,
    "NodeResourcesBalancedAllocation": 1,
}
#: Resource weights of LeastAllocated and BalancedAllocation (both cpu:1, memory:1).
RESOURCE_WEIGHTS: dict[str, int] = {"cpu": 1, "memory": 1}


def _least_requested(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def least_allocated(pod: PodInfo, node: NodeInfo) -> int:
    """Free share after placing the pod, 0-100, averaged over cpu and memory with integer
    division; a resource the node has none of is left out of the average."""
    requested = {
        "cpu": node.nonzero_requested.cpu + pod.nonzero_requests.cpu,
        "memory": node.nonzero_requested.memory + pod.nonzero_requests.memory,
    }
    allocatable = {"cpu": node.allocatable.cpu, "memory": node.allocatable.memory}
    total = weight_sum = 0
    for resource, weight in RESOURCE_WEIGHTS.items():
        if allocatable[resource] == 0:
            continue
        total += _least_requested(requested[resource], allocatable[resource]) * weight
        weight_sum += weight
    return total // weight_sum if weight_sum else 0


def balanced_allocation(pod: PodInfo, node: NodeInfo) -> int:
    """``int((1 - std) * 100)`` of the cpu and memory request fractions after placing the pod,
    each capped at 1; with two resources the standard deviation is half their difference.
    A best-effort pod gets 0 everywhere (the plugin is skipped for it)."""
    if pod.requests.cpu == 0 and pod.requests.memory == 0:
        return 0
    pairs = (
        (node.requested.cpu + pod.requests.cpu, node.allocatable.cpu),
        (node.requested.memory + pod.requests.memory, node.allocatable.memory),
    )
    fractions = [min(req / alloc, 1.0) for req, alloc in pairs if alloc != 0]
    std = 0.0
    if len(fractions) == 2:
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:  # kept general, as upstream, for more resources
        mean = sum(fractions) / len(fractions)
        std = (sum((f - mean) ** 2 for f in fractions) / len(fractions)) ** 0.5
    return int((1 - std) * MAX_NODE_SCORE)


def taint_toleration_raw(pod: PodInfo, node: NodeInfo) -> int:
    """How many PreferNoSchedule taints of the node the pod does not tolerate."""
    return sum(
        1
        for taint in node.taints
        if taint.effect == PREFER_NO_SCHEDULE and not tolerated_by_any(taint, pod.tolerations)
    )


def default_normalize_score(raw: Mapping[str, int], *, reverse: bool) -> dict[str, int]:
    """``helper.DefaultNormalizeScore``: scale so the highest raw score is 100 (integer
    division); with ``reverse`` subtract from 100. All zero: 100 each if reversed, else 0."""
    top = max(raw.values(), default=0)
    if top == 0:
        return {name: MAX_NODE_SCORE if reverse else 0 for name in raw}
    scaled = {name: MAX_NODE_SCORE * value // top for name, value in raw.items()}
    if reverse:
        return {name: MAX_NODE_SCORE - value for name, value in scaled.items()}
    return scaled


def plugin_scores(pod: PodInfo, nodes: Sequence[NodeInfo]) -> dict[str, dict[str, int]]:
    """Each modelled plugin's normalised (unweighted) score: plugin → node → 0-100."""
    return {
        "TaintToleration": default_normalize_score(
            {n.name: taint_toleration_raw(pod, n) for n in nodes}, reverse=True
        ),
        "NodeResourcesFit": {n.name: least_allocated(pod, n) for n in nodes},
        "NodeResourcesBalancedAllocation": {n.name: balanced_allocation(pod, n) for n in nodes},
    }


def score_nodes(pod: PodInfo, nodes: Sequence[NodeInfo]) -> dict[str, int]:
    """Total weighted score of each node (``prioritizeNodes``)."""
    per_plugin = plugin_scores(pod, nodes)
    return {
        n.name: sum(WEIGHTS[plugin] * scores[n.name] for plugin, scores in per_plugin.items())
        for n in nodes
    }
