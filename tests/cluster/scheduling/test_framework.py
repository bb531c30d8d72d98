"""One scheduling cycle: filtering, FitError messages, scoring, tie-breaking, node sampling."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from cluster.scheduling.framework import (
    FILTERS,
    fit_error_message,
    num_feasible_nodes_to_find,
    schedule_one,
    select_host,
)
from cluster.scheduling.types import NodeInfo, PodInfo, Resources, Taint, Toleration

GI = 2**30
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
#: What the DefaultTolerationSeconds admission plugin gives every pod.
DEFAULT_TOLERATIONS = (
    Toleration(NOT_READY, "Exists", effect="NoExecute", toleration_seconds=300),
    Toleration(UNREACHABLE, "Exists", effect="NoExecute", toleration_seconds=300),
)
UNREACHABLE_TAINTS = (
    Taint(UNREACHABLE, effect="NoSchedule"),
    Taint(UNREACHABLE, effect="NoExecute", time_added=0.0),
)


def node(name: str, **kw: Any) -> NodeInfo:
    kw.setdefault("allocatable", Resources(2000, 4 * GI, 110))
    return NodeInfo(name=name, **kw)


def pod(cpu: int = 0, memory: int = 0, **kw: Any) -> PodInfo:
    real = Resources(cpu, memory, 1)
    kw.setdefault("nonzero_requests", Resources(cpu or 100, memory or 200 * 2**20, 1))
    kw.setdefault("tolerations", DEFAULT_TOLERATIONS)
    return PodInfo("default", "web", requests=real, **kw)


def test_filters_follow_the_default_profile_order() -> None:
    """Filters run in the default profile's order."""
    assert [f.name for f in FILTERS] == [
        "NodeUnschedulable",
        "NodeName",
        "TaintToleration",
        "NodeAffinity",
        "NodeResourcesFit",
    ]


def test_unreachable_node_is_skipped_and_pod_lands_on_another() -> None:
    """With one of three nodes tainted unreachable, the pod goes to one of the other two and the
    tainted node's reason is recorded."""
    nodes = [node("node-1", taints=UNREACHABLE_TAINTS), node("node-2"), node("node-3")]
    result = schedule_one(pod(500, GI), nodes, random.Random(1))
    assert result.node_name in {"node-2", "node-3"}
    assert result.feasible == ("node-2", "node-3")
    assert result.reasons == {
        "node-1": ["node(s) had untolerated taint {node.kubernetes.io/unreachable: }"]
    }
    assert set(result.scores) == {"node-2", "node-3"}
    assert result.message == ""


def test_failed_scheduling_message_for_mixed_reasons() -> None:
    """No node fits: the FitError text, histogram sorted, preemption verdicts per node."""
    full = Resources(1800, 0, 5)
    nodes = [
        node("node-1", taints=UNREACHABLE_TAINTS),
        node("node-2", requested=full),
        node("node-3", requested=full),
    ]
    result = schedule_one(pod(500), nodes, random.Random(1))
    assert result.node_name is None
    assert result.feasible == ()
    assert result.message == (
        "0/3 nodes are available: 1 node(s) had untolerated taint "
        "{node.kubernetes.io/unreachable: }, 2 Insufficient cpu. "
        "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod.."
    )
    assert result.reasons == {
        "node-1": ["node(s) had untolerated taint {node.kubernetes.io/unreachable: }"],
        "node-2": ["Insufficient cpu"],
        "node-3": ["Insufficient cpu"],
    }


FIT_ERRORS = [
    (
        "all short of cpu",
        3,
        {"a": ["Insufficient cpu"], "b": ["Insufficient cpu"], "c": ["Insufficient cpu"]},
        "0/3 nodes are available: 3 Insufficient cpu. "
        "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod..",
    ),
    (
        "control-plane taint",
        1,
        {"cp": ["node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"]},
        "0/1 nodes are available: 1 node(s) had untolerated taint "
        "{node-role.kubernetes.io/control-plane: }. "
        "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling..",
    ),
    (
        "every short resource counts once per node",
        2,
        {"a": ["Insufficient cpu", "Insufficient memory"], "b": ["Insufficient memory"]},
        "0/2 nodes are available: 1 Insufficient cpu, 2 Insufficient memory. "
        "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod..",
    ),
    (
        "whole entries sort as strings, count first",
        12,
        {
            **{f"n{i}": ["Insufficient cpu"] for i in range(10)},
            "c1": ["node(s) were unschedulable"],
            "c2": ["node(s) were unschedulable"],
        },
        "0/12 nodes are available: 10 Insufficient cpu, 2 node(s) were unschedulable. "
        "preemption: 0/12 nodes are available: 10 No preemption victims found for incoming pod, "
        "2 Preemption is not helpful for scheduling..",
    ),
    (
        "too many pods can be preempted for",
        1,
        {"a": ["Too many pods"]},
        "0/1 nodes are available: 1 Too many pods. "
        "preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..",
    ),
    (
        "selector, name and unschedulable",
        3,
        {
            "a": ["node(s) didn't match Pod's node affinity/selector"],
            "b": ["node(s) didn't match the requested node name"],
            "c": ["node(s) were unschedulable"],
        },
        "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) didn't match the requested node name, 1 node(s) were unschedulable. "
        "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling..",
    ),
    (
        "unchecked nodes are not helpful",
        2,
        {"a": ["Insufficient cpu"]},
        "0/2 nodes are available: 1 Insufficient cpu. preemption: 0/2 nodes are available: "
        "1 No preemption victims found for incoming pod, "
        "1 Preemption is not helpful for scheduling..",
    ),
    ("no nodes", 0, {}, "no nodes available to schedule pods"),
]


@pytest.mark.parametrize(
    ("num_nodes", "reasons", "message"), [c[1:] for c in FIT_ERRORS], ids=[c[0] for c in FIT_ERRORS]
)
def test_fit_error_message(num_nodes: int, reasons: dict[str, list[str]], message: str) -> None:
    """FitError.Error(): "count reason" entries sorted as strings and joined by ", ", then the
    preemption post-filter's own FitError text (hence the closing "..")."""
    assert fit_error_message(num_nodes, reasons) == message


def test_no_nodes() -> None:
    """An empty cluster gives ErrNoNodesAvailable's text."""
    result = schedule_one(pod(), [], random.Random(0))
    assert result.node_name is None
    assert result.message == "no nodes available to schedule pods"


def test_only_the_first_failing_plugin_is_recorded() -> None:
    """A cordoned, full node reports only NodeUnschedulable, which runs before the fit check."""
    n = node("node-1", unschedulable=True, requested=Resources(2000, 4 * GI, 110))
    result = schedule_one(pod(500, GI), [n], random.Random(0))
    assert result.reasons == {"node-1": ["node(s) were unschedulable"]}


def test_node_name_pins_the_pod() -> None:
    """A pod with spec.nodeName only fits that node."""
    nodes = [node("node-1"), node("node-2"), node("node-3")]
    result = schedule_one(pod(node_name="node-3"), nodes, random.Random(0))
    assert result.node_name == "node-3"
    assert result.reasons == {
        "node-1": ["node(s) didn't match the requested node name"],
        "node-2": ["node(s) didn't match the requested node name"],
    }


@pytest.mark.parametrize(
    ("cpu", "memory"), [(500, GI), (0, 0)], ids=["with requests", "request-less pods"]
)
def test_equal_pods_spread_evenly(cpu: int, memory: int) -> None:
    """Six equal pods scheduled one by one onto three equal empty nodes land 2/2/2:
    LeastAllocated prefers the emptiest node (non-zero requests spread request-less pods too)."""
    nodes = {name: node(name) for name in ("node-1", "node-2", "node-3")}
    rng = random.Random(7)
    placed: Counter[str] = Counter()
    for _ in range(6):
        p = pod(cpu, memory)
        result = schedule_one(p, list(nodes.values()), rng)
        assert result.node_name is not None
        placed[result.node_name] += 1
        nodes[result.node_name] = nodes[result.node_name].with_pod(p)
    assert placed == {"node-1": 2, "node-2": 2, "node-3": 2}


def test_prefer_no_schedule_taint_steers_away() -> None:
    """A PreferNoSchedule taint costs 3 x 100 points: an equal untainted node always wins."""
    nodes = [node("spot", taints=(Taint("spot", "", "PreferNoSchedule"),)), node("stable")]
    chosen = {
        schedule_one(pod(500, GI), nodes, random.Random(seed)).node_name for seed in range(20)
    }
    assert chosen == {"stable"}


def test_tie_break_is_deterministic_for_a_seed_and_uniform() -> None:
    """Equal scores are broken with the passed rng: the same seed picks the same node, and over
    many seeds every tied node is picked about equally often."""
    nodes = [node("node-1"), node("node-2"), node("node-3")]
    first = [schedule_one(pod(), nodes, random.Random(seed)).node_name for seed in range(300)]
    again = [schedule_one(pod(), nodes, random.Random(seed)).node_name for seed in range(300)]
    assert first == again
    counts = Counter(first)
    assert set(counts) == {"node-1", "node-2", "node-3"}
    assert min(counts.values()) >= 70  # 100 expected each


class FixedDraw(random.Random):
    """An rng whose randrange always answers the same way: pick the newest tie, or keep."""

    def __init__(self, replace: bool) -> None:
        super().__init__(0)
        self.replace = replace
        self.calls: list[int] = []

    def randrange(self, *args: Any, **kwargs: Any) -> int:
        self.calls.append(args[0])
        return 0 if self.replace else args[0] - 1


@pytest.mark.parametrize(
    ("replace", "winner"), [(True, "c"), (False, "a")], ids=["always replace", "never replace"]
)
def test_select_host_reservoir_sampling(replace: bool, winner: str) -> None:
    """selectHost keeps the k-th tied node with probability 1/k, one draw per extra tie;
    a lower score never takes part."""
    rng = FixedDraw(replace)
    assert select_host({"a": 90, "low": 10, "b": 90, "c": 90}, rng) == winner
    assert rng.calls == [2, 3]


def test_select_host_highest_score_wins_without_drawing() -> None:
    """A single best node wins and no random number is drawn."""
    rng = FixedDraw(True)
    assert select_host({"a": 10, "b": 300, "c": 200}, rng) == "b"
    assert rng.calls == []


FEASIBLE_TO_FIND = [
    (50, 0, 50),
    (99, 0, 99),
    (100, 0, 100),
    (200, 0, 100),  # 49 % of 200 is 98: never below 100
    (1000, 0, 420),  # 50 - 1000/125 = 42 %
    (5000, 0, 500),  # 50 - 40 = 10 %
    (10000, 0, 500),  # the percentage bottoms out at 5 %
    (5000, 30, 1500),
    (5000, 100, 5000),
]


@pytest.mark.parametrize(
    ("nodes", "percentage", "expected"),
    FEASIBLE_TO_FIND,
    ids=[f"{n} nodes, {p}%" for n, p, _ in FEASIBLE_TO_FIND],
)
def test_num_feasible_nodes_to_find(nodes: int, percentage: int, expected: int) -> None:
    """numFeasibleNodesToFind: all nodes below 100, else max(5, 50 - n/125) %, at least 100."""
    assert num_feasible_nodes_to_find(nodes, percentage) == expected


def test_large_cluster_stops_after_enough_feasible_nodes() -> None:
    """With 200 nodes the search stops at 100 feasible ones, starting where the last cycle
    stopped and wrapping around."""
    nodes = [node(f"node-{i}") for i in range(200)]
    result = schedule_one(pod(), nodes, random.Random(0))
    assert result.feasible == tuple(f"node-{i}" for i in range(100))
    assert result.next_start_index == 100
    result = schedule_one(pod(), nodes, random.Random(0), start_index=150)
    assert result.feasible == tuple(f"node-{i}" for i in (*range(150, 200), *range(50)))
    assert result.next_start_index == 50
