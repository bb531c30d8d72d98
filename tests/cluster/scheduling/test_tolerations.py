"""Toleration matching (ToleratesTaint) and the taint-eviction delay."""

from __future__ import annotations

import pytest

from cluster.scheduling.tolerations import eviction_delay, tolerates, untolerated
from cluster.scheduling.types import Taint, Toleration, taint_from_dict, toleration_from_dict

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"

TOLERATES = [
    ("equal key value effect", Toleration("k", "Equal", "v", "NoSchedule"), Taint("k", "v"), True),
    ("value differs", Toleration("k", "Equal", "v", "NoSchedule"), Taint("k", "w"), False),
    ("key differs", Toleration("k", "Equal", "v", "NoSchedule"), Taint("x", "v"), False),
    (
        "effect differs",
        Toleration("k", "Exists", effect="NoSchedule"),
        Taint("k", "v", "NoExecute"),
        False,
    ),
    ("empty effect matches all", Toleration("k", "Exists"), Taint("k", "v", "NoExecute"), True),
    (
        "exists ignores value",
        Toleration("k", "Exists", effect="NoSchedule"),
        Taint("k", "anything"),
        True,
    ),
    ("empty operator is Equal", Toleration("k", "", "v"), Taint("k", "v"), True),
    ("empty operator needs value", Toleration("k", "", "v"), Taint("k", "w"), False),
    ("equal empty values", Toleration("k"), Taint("k"), True),
    (
        "empty key exists matches all",
        Toleration("", "Exists"),
        Taint(UNREACHABLE, "", "NoExecute"),
        True,
    ),
    (
        "empty key exists effect-bound",
        Toleration("", "Exists", effect="NoSchedule"),
        Taint("k", "", "NoExecute"),
        False,
    ),
    (
        "empty key Equal matches any key with that value",
        Toleration("", "Equal", "v"),
        Taint("k", "v"),
        True,
    ),
    ("unknown operator", Toleration("k", "Lt", "5"), Taint("k", "5"), False),
    (
        "prefer effect",
        Toleration("k", "Exists", effect="PreferNoSchedule"),
        Taint("k", "", "PreferNoSchedule"),
        True,
    ),
]


@pytest.mark.parametrize(
    ("toleration", "taint", "expected"),
    [case[1:] for case in TOLERATES],
    ids=[case[0] for case in TOLERATES],
)
def test_tolerates(toleration: Toleration, taint: Taint, expected: bool) -> None:
    """ToleratesTaint: effect (empty = all), key (empty = all), then Exists or Equal value."""
    assert tolerates(toleration, taint) is expected


def test_untolerated_keeps_node_order_and_filters_effects() -> None:
    """Only taints with the asked effects and no matching toleration are returned, in order."""
    taints = (
        Taint("a", "1", "PreferNoSchedule"),
        Taint("b", "", "NoExecute"),
        Taint("c", "x", "NoSchedule"),
        Taint("d", "", "NoSchedule"),
    )
    tolerations = (Toleration("d", "Exists"),)
    assert untolerated(taints, tolerations) == [taints[1], taints[2]]
    assert untolerated(taints, tolerations, effects={"PreferNoSchedule"}) == [taints[0]]
    assert untolerated(taints, (Toleration(operator="Exists"),)) == []


DEFAULT_TOLERATIONS = (
    Toleration(NOT_READY, "Exists", effect="NoExecute", toleration_seconds=300),
    Toleration(UNREACHABLE, "Exists", effect="NoExecute", toleration_seconds=300),
)
UNREACHABLE_TAINTS = [
    Taint(UNREACHABLE, effect="NoSchedule"),
    Taint(UNREACHABLE, effect="NoExecute"),
]

EVICTION = [
    ("no taints", [], DEFAULT_TOLERATIONS, None),
    ("only NoSchedule taints", [Taint(UNREACHABLE)], (), None),
    ("default 300 s tolerations", UNREACHABLE_TAINTS, DEFAULT_TOLERATIONS, 300.0),
    ("not tolerated: at once", UNREACHABLE_TAINTS, (), 0.0),
    (
        "one of two not tolerated",
        [Taint(UNREACHABLE, effect="NoExecute"), Taint("x", effect="NoExecute")],
        DEFAULT_TOLERATIONS,
        0.0,
    ),
    ("tolerated forever", UNREACHABLE_TAINTS, (Toleration(UNREACHABLE, "Exists"),), None),
    (
        "minimum over taints",
        [Taint(UNREACHABLE, effect="NoExecute"), Taint(NOT_READY, effect="NoExecute")],
        (
            Toleration(NOT_READY, "Exists", toleration_seconds=60),
            Toleration(UNREACHABLE, "Exists", toleration_seconds=300),
        ),
        60.0,
    ),
    (
        "zero means now",
        UNREACHABLE_TAINTS,
        (Toleration(UNREACHABLE, "Exists", toleration_seconds=0),),
        0.0,
    ),
    (
        "negative means now",
        UNREACHABLE_TAINTS,
        (Toleration(UNREACHABLE, "Exists", toleration_seconds=-5),),
        0.0,
    ),
    (
        "first matching toleration wins (forever)",
        UNREACHABLE_TAINTS,
        (Toleration(operator="Exists"), Toleration(UNREACHABLE, "Exists", toleration_seconds=30)),
        None,
    ),
    (
        "first matching toleration wins (bounded)",
        UNREACHABLE_TAINTS,
        (Toleration(UNREACHABLE, "Exists", toleration_seconds=30), Toleration(operator="Exists")),
        30.0,
    ),
    (
        "forever and bounded mixed",
        [Taint(UNREACHABLE, effect="NoExecute"), Taint("gpu", effect="NoExecute")],
        (Toleration("gpu", "Exists"), Toleration(UNREACHABLE, "Exists", toleration_seconds=120)),
        120.0,
    ),
]


@pytest.mark.parametrize(
    ("taints", "tolerations", "delay"),
    [case[1:] for case in EVICTION],
    ids=[case[0] for case in EVICTION],
)
def test_eviction_delay(
    taints: list[Taint], tolerations: tuple[Toleration, ...], delay: float | None
) -> None:
    """As the taint-eviction controller: 0 when a NoExecute taint is untolerated, None when all
    are tolerated forever, else the least tolerationSeconds of the first matching tolerations."""
    assert eviction_delay(taints, tolerations) == delay


def test_builders_from_kubernetes_json() -> None:
    """Taints and tolerations are read from API JSON, timeAdded as epoch seconds."""
    taint = taint_from_dict(
        {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": "2024-01-01T00:00:10Z"}
    )
    assert taint == Taint(UNREACHABLE, "", "NoExecute", 1704067210.0)
    toleration = toleration_from_dict(
        {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
    )
    assert toleration == Toleration(UNREACHABLE, "Exists", "", "NoExecute", 300)
    assert toleration_from_dict({"key": "k", "value": "v"}) == Toleration("k", "Equal", "v")
    assert toleration_from_dict({"operator": "Exists"}) == Toleration(operator="Exists")
