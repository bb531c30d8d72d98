"""One scheduling cycle for one pod: filter, score, select, or explain why nothing fits.

Owns the scheduling framework's control flow over the plugins in ``filters`` and ``scores``,
mirroring ``pkg/scheduler/schedule_one.go`` (k8s-reference §4):

- no nodes at all: ``"no nodes available to schedule pods"`` (``ErrNoNodesAvailable``);
- filters run per node in the default profile's order and stop at the node's first failing
  plugin, whose reason(s) are recorded for that node;
- nodes are visited round-robin from ``start_index`` and the search stops once
  ``num_feasible_nodes_to_find`` feasible nodes are found (all of them below 100 nodes);
- the feasible nodes are scored (weighted sum) and the best one wins, ties broken uniformly at
  random by reservoir sampling, with the ``rng`` passed in;
- if no node is feasible, the message is ``FitError.Error()`` including the DefaultPreemption
  post-filter's verdict (see :func:`fit_error_message`).

Kubernetes skips scoring when exactly one node is feasible; we still score it, for display:
the choice is the same and no random number is drawn either way.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from cluster.scheduling import filters
from cluster.scheduling.scores import score_nodes
from cluster.scheduling.types import NodeInfo, PodInfo

ERR_NO_NODES_AVAILABLE = "no nodes available to schedule pods"
#: DefaultPreemption's per-node verdicts. Every pod in this simulator has the same priority, so
#: a node short of resources never has a lower-priority victim to evict.
PREEMPTION_NO_VICTIMS = "No preemption victims found for incoming pod"
PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling"

#: ``minFeasibleNodesToFind``: below this many nodes every node is checked.
MIN_FEASIBLE_NODES_TO_FIND = 100
#: ``minFeasibleNodesPercentageToFind``: the adaptive percentage never drops below this.
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5


@dataclass(frozen=True)
class FilterPlugin:
    name: str
    #: (pod, node) → the failure reasons, empty when the node passes.
    check: Callable[[PodInfo, NodeInfo], tuple[str, ...]]


def _single(
    check: Callable[[PodInfo, NodeInfo], str | None],
) -> Callable[[PodInfo, NodeInfo], tuple[str, ...]]:
    def run(pod: PodInfo, node: NodeInfo) -> tuple[str, ...]:
        reason = check(pod, node)
        return (reason,) if reason else ()

    return run


#: The modelled filter plugins in the default profile's order (k8s-reference §4.1).
FILTERS: tuple[FilterPlugin, ...] = (
    FilterPlugin("NodeUnschedulable", _single(filters.node_unschedulable)),
    FilterPlugin("NodeName", _single(filters.node_name)),
    FilterPlugin("TaintToleration", _single(filters.taint_toleration)),
    FilterPlugin("NodeAffinity", _single(filters.node_affinity)),
    FilterPlugin("NodeResourcesFit", filters.node_resources_fit),
)


@dataclass(frozen=True)
class ScheduleResult:
    #: The chosen node, or None when the pod is unschedulable.
    node_name: str | None
    #: Feasible nodes in the order they were found.
    feasible: tuple[str, ...] = ()
    #: Weighted total score of each feasible node.
    scores: dict[str, int] = field(default_factory=dict)
    #: Failure reasons of each infeasible node that was checked.
    reasons: dict[str, list[str]] = field(default_factory=dict)
    #: The FailedScheduling text when no node fits, else "".
    message: str = ""
    #: Where the next cycle starts its round-robin walk over the nodes.
    next_start_index: int = 0


def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int = 0) -> int:
    """``numFeasibleNodesToFind``: how many feasible nodes to find before scoring.

    Below 100 nodes, or with ``percentage`` >= 100, every node. With the default 0 the
    percentage is adaptive, ``max(5, 50 - nodes/125)``; the result is never below 100.
    5000 nodes → 10 % → 500.
    """
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND or percentage >= 100:
        return num_all_nodes
    if percentage <= 0:
        percentage = max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND, 50 - num_all_nodes // 125)
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


def run_filters(pod: PodInfo, node: NodeInfo) -> tuple[str, tuple[str, ...]] | None:
    """``RunFilterPlugins``: (plugin, reasons) of the first plugin that rejects the node, or
    None when every plugin passes it."""
    for plugin in FILTERS:
        reasons = plugin.check(pod, node)
        if reasons:
            return plugin.name, reasons
    return None


def _histogram(reasons: Iterable[str]) -> str:
    # "<count> <reason>" entries sorted as whole strings, as FitError.Error() does: the count
    # comes first, so "1 node(s)…" sorts before "2 Insufficient cpu".
    return ", ".join(sorted(f"{count} {reason}" for reason, count in Counter(reasons).items()))


def _nodes_unavailable(num_nodes: int, histogram: str, post_filter: str = "") -> str:
    message = f"0/{num_nodes} nodes are available:"
    if histogram:
        message += f" {histogram}."
    if post_filter:
        message += f" {post_filter}."
    return message


def fit_error_message(num_nodes: int, reasons_by_node: Mapping[str, Sequence[str]]) -> str:
    """``FitError.Error()`` after DefaultPreemption ran, for a cycle where no node fits.

    First the histogram of filter reasons (a node failing with several resource reasons counts
    once under each). Then the post-filter message ``preemption: 0/N nodes are available: …``:
    a node that failed only on resources gets "No preemption victims found for incoming pod"
    (equal priorities: nothing to evict), any other node, or one never checked, "Preemption is
    not helpful for scheduling".

    The preemption message carries its own trailing period and ``FitError.Error()`` appends
    another, so the text ends in ``..`` exactly as real clusters show it (the PodScheduled
    condition and the FailedScheduling event).
    """
    if num_nodes == 0:
        return ERR_NO_NODES_AVAILABLE
    filter_histogram = _histogram(r for reasons in reasons_by_node.values() for r in reasons)
    verdicts = [
        PREEMPTION_NO_VICTIMS
        if reasons and all(filters.is_resource_reason(r) for r in reasons)
        else PREEMPTION_NOT_HELPFUL
        for reasons in reasons_by_node.values()
    ]
    # SetAbsentNodesStatus: nodes without a filter status are "not helpful" for preemption.
    verdicts += [PREEMPTION_NOT_HELPFUL] * max(0, num_nodes - len(reasons_by_node))
    preemption = "preemption: " + _nodes_unavailable(num_nodes, _histogram(verdicts))
    return _nodes_unavailable(num_nodes, filter_histogram, preemption)


def select_host(scores: Mapping[str, int], rng: random.Random) -> str:
    """``selectHost``: the highest score; among equal highest, each with the same chance
    (reservoir sampling in the mapping's order, one ``rng`` draw per tie after the first)."""
    best = ""
    best_score = 0
    ties = 0
    for name, score in scores.items():
        if ties == 0 or score > best_score:
            best, best_score, ties = name, score, 1
        elif score == best_score:
            ties += 1
            if rng.randrange(ties) == 0:
                best = name
    if ties == 0:
        raise ValueError("select_host needs at least one scored node")
    return best


def schedule_one(
    pod: PodInfo,
    nodes: Sequence[NodeInfo],
    rng: random.Random,
    *,
    percentage_of_nodes_to_score: int = 0,
    start_index: int = 0,
) -> ScheduleResult:
    """Schedule ``pod`` onto one of ``nodes`` (``schedulePod``); see the module docstring."""
    if not nodes:
        return ScheduleResult(node_name=None, message=ERR_NO_NODES_AVAILABLE)
    wanted = num_feasible_nodes_to_find(len(nodes), percentage_of_nodes_to_score)
    feasible: list[NodeInfo] = []
    reasons: dict[str, list[str]] = {}
    processed = 0
    for offset in range(len(nodes)):
        node = nodes[(start_index + offset) % len(nodes)]
        processed += 1
        failure = run_filters(pod, node)
        if failure is None:
            feasible.append(node)
            if len(feasible) >= wanted:
                break
        else:
            reasons[node.name] = list(failure[1])
    next_start_index = (start_index + processed) % len(nodes)
    if not feasible:
        return ScheduleResult(
            node_name=None,
            reasons=reasons,
            message=fit_error_message(len(nodes), reasons),
            next_start_index=next_start_index,
        )
    scores = score_nodes(pod, feasible)
    return ScheduleResult(
        node_name=select_host(scores, rng),
        feasible=tuple(n.name for n in feasible),
        scores=scores,
        reasons=reasons,
        next_start_index=next_start_index,
    )
