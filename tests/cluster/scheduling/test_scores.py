"""Score plugins: LeastAllocated, BalancedAllocation, TaintToleration and their weighting."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.scheduling.scores import (
    WEIGHTS,
    balanced_allocation,
    default_normalize_score,
    least_allocated,
    plugin_scores,
    score_nodes,
    taint_toleration_raw,
)
from cluster.scheduling.types import NodeInfo, PodInfo, Resources, Taint, Toleration

MI = 2**20
GI = 2**30
NZ = Resources(100, 200 * MI, 1)  # what a request-less pod counts as when scoring


def node(**kw: Any) -> NodeInfo:
    kw.setdefault("allocatable", Resources(2000, 4 * GI, 110))
    return NodeInfo(name=kw.pop("name", "node-1"), **kw)


def pod(cpu: int = 0, memory: int = 0, **kw: Any) -> PodInfo:
    """A pod whose non-zero requests equal its real ones unless given."""
    real = Resources(cpu, memory, 1)
    kw.setdefault("nonzero_requests", real)
    return PodInfo("default", "web", requests=real, **kw)


LEAST = [
    ("quarter of each", node(), pod(500, GI), 75),
    ("cpu 50 memory 75 floors to 62", node(), pod(1000, GI), 62),
    ("request-less pod counts 100m/200Mi", node(), PodInfo("default", "web"), 95),
    (
        "existing non-zero usage counts",
        node(nonzero_requested=Resources(1000, 2 * GI, 3)),
        pod(500, GI),
        25,
    ),
    ("real usage is not what counts", node(requested=Resources(2000, 4 * GI, 3)), pod(500, GI), 75),
    (
        "cpu over capacity scores 0 for cpu",
        node(nonzero_requested=Resources(1900, 0, 1)),
        pod(500, 0),
        50,
    ),
    ("full node", node(nonzero_requested=Resources(1500, 3 * GI, 1)), pod(500, GI), 0),
    (
        "no memory allocatable: cpu only",
        node(allocatable=Resources(2000, 0, 110)),
        pod(500, GI),
        75,
    ),
    ("nothing allocatable", node(allocatable=Resources(0, 0, 110)), pod(500, GI), 0),
    ("integer arithmetic", node(allocatable=Resources(3000, 3 * GI, 110)), pod(1000, GI), 66),
]


@pytest.mark.parametrize(("n", "p", "score"), [c[1:] for c in LEAST], ids=[c[0] for c in LEAST])
def test_least_allocated(n: NodeInfo, p: PodInfo, score: int) -> None:
    """(allocatable - requested) * 100 // allocatable per resource over non-zero requests incl.
    the pod, averaged with integer division; resources with nothing allocatable are skipped."""
    assert least_allocated(p, n) == score


BALANCED = [
    ("equal fractions", node(), pod(500, GI), 100),
    ("cpu half, memory quarter", node(), pod(1000, GI), 87),
    ("cpu only request", node(), pod(1000, 0), 75),
    ("best-effort pod is skipped", node(), PodInfo("default", "web"), 0),
    (
        "uses real, not non-zero, node usage",
        node(requested=Resources(1000, 0, 1), nonzero_requested=NZ),
        pod(0, GI),
        87,
    ),
    ("fractions are capped at 1", node(requested=Resources(4000, 0, 1)), pod(100, 2 * GI), 75),
    ("memory-free node", node(allocatable=Resources(2000, 0, 110)), pod(1000, GI), 100),
    ("float truncation", node(allocatable=Resources(3000, 3 * GI, 110)), pod(1000, 0), 83),
]


@pytest.mark.parametrize(
    ("n", "p", "score"), [c[1:] for c in BALANCED], ids=[c[0] for c in BALANCED]
)
def test_balanced_allocation(n: NodeInfo, p: PodInfo, score: int) -> None:
    """int((1 - |cpu fraction - memory fraction| / 2) * 100) over real requests incl. the pod."""
    assert balanced_allocation(p, n) == score


PREFER = "PreferNoSchedule"
RAW = [
    ("no taints", (), (), 0),
    ("one prefer taint", (Taint("a", "", PREFER),), (), 1),
    ("hard taints do not count", (Taint("a"), Taint("b", "", "NoExecute")), (), 0),
    (
        "tolerated prefer taint",
        (Taint("a", "1", PREFER), Taint("b", "", PREFER)),
        (Toleration("a", "Equal", "1"),),
        1,
    ),
    (
        "toleration for another effect",
        (Taint("a", "", PREFER),),
        (Toleration("a", "Exists", effect="NoSchedule"),),
        1,
    ),
]


@pytest.mark.parametrize(
    ("taints", "tolerations", "count"), [c[1:] for c in RAW], ids=[c[0] for c in RAW]
)
def test_taint_toleration_raw(
    taints: tuple[Taint, ...], tolerations: tuple[Toleration, ...], count: int
) -> None:
    """The raw TaintToleration score counts PreferNoSchedule taints the pod does not tolerate."""
    assert taint_toleration_raw(pod(tolerations=tolerations), node(taints=taints)) == count


NORMALIZE = [
    ("all zero, reversed", {"a": 0, "b": 0}, True, {"a": 100, "b": 100}),
    ("all zero", {"a": 0, "b": 0}, False, {"a": 0, "b": 0}),
    ("fewest gets 100", {"a": 0, "b": 1, "c": 2}, True, {"a": 100, "b": 50, "c": 0}),
    ("integer scaling", {"a": 1, "b": 3}, True, {"a": 67, "b": 0}),
    ("not reversed", {"a": 1, "b": 3}, False, {"a": 33, "b": 100}),
]


@pytest.mark.parametrize(
    ("raw", "reverse", "normalized"), [c[1:] for c in NORMALIZE], ids=[c[0] for c in NORMALIZE]
)
def test_default_normalize_score(
    raw: dict[str, int], reverse: bool, normalized: dict[str, int]
) -> None:
    """DefaultNormalizeScore: scale the maximum to 100 (integer), reverse subtracts from 100."""
    assert default_normalize_score(raw, reverse=reverse) == normalized


def test_weights_are_the_default_profile() -> None:
    """TaintToleration weighs 3, NodeResourcesFit and BalancedAllocation 1 each."""
    assert WEIGHTS == {
        "TaintToleration": 3,
        "NodeResourcesFit": 1,
        "NodeResourcesBalancedAllocation": 1,
    }


def test_score_nodes_is_the_weighted_sum() -> None:
    """Total = 3 * normalised TaintToleration + LeastAllocated + BalancedAllocation."""
    clean = node(name="clean")
    tainted = node(name="tainted", taints=(Taint("spot", "", PREFER),))
    busy = node(
        name="busy",
        nonzero_requested=Resources(1000, 2 * GI, 2),
        requested=Resources(1000, 2 * GI, 2),
    )
    p = pod(500, GI)
    assert plugin_scores(p, [clean, tainted, busy]) == {
        "TaintToleration": {"clean": 100, "tainted": 0, "busy": 100},
        "NodeResourcesFit": {"clean": 75, "tainted": 75, "busy": 25},
        "NodeResourcesBalancedAllocation": {"clean": 100, "tainted": 100, "busy": 100},
    }
    assert score_nodes(p, [clean, tainted, busy]) == {"clean": 475, "tainted": 175, "busy": 425}
