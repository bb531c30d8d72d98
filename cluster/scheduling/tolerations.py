"""Taints and tolerations: which toleration matches which taint, and when a NoExecute taint
evicts a pod.

Owns the matching rule every taint-aware part of the simulator shares (the scheduler's
TaintToleration and NodeUnschedulable plugins, the taint-eviction controller), so they cannot
disagree. Mirrors ``k8s.io/api/core/v1`` ``Toleration.ToleratesTaint``,
``component-helpers/scheduling/corev1`` ``FindMatchingUntoleratedTaint``, and
``pkg/controller/tainteviction`` ``GetMatchingTolerations`` / ``getMinTolerationTime``
(k8s-reference §1.3).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from cluster.scheduling.types import Taint, Toleration

NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"
#: The effects that keep a pod off a node (``DoNotScheduleTaintsFilterFunc``).
DO_NOT_SCHEDULE_EFFECTS = frozenset({NO_SCHEDULE, NO_EXECUTE})


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    """``Toleration.ToleratesTaint``, check for check.

    - An empty effect matches every effect; otherwise the effects must be equal.
    - An empty key matches every key; otherwise the keys must be equal. (API validation only
      lets an empty key through with ``Exists``, so in practice "empty key + Exists tolerates
      everything".)
    - ``Exists`` then matches any value; ``Equal`` (or an empty operator) needs equal values;
      any other operator matches nothing.
    """
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator == "Exists":
        return True
    if toleration.operator in ("", "Equal"):
        return toleration.value == taint.value
    return False


def tolerated_by_any(taint: Taint, tolerations: Iterable[Toleration]) -> bool:
    """``TolerationsTolerateTaint``: some toleration of the pod matches the taint."""
    return any(tolerates(toleration, taint) for toleration in tolerations)


def untolerated(
    taints: Iterable[Taint],
    tolerations: Sequence[Toleration],
    effects: Collection[str] = DO_NOT_SCHEDULE_EFFECTS,
) -> list[Taint]:
    """The taints with one of ``effects`` that no toleration matches, in the node's order
    (the scheduler reports the first one)."""
    return [t for t in taints if t.effect in effects and not tolerated_by_any(t, tolerations)]


def eviction_delay(taints: Iterable[Taint], tolerations: Sequence[Toleration]) -> float | None:
    """Seconds the taint-eviction controller waits before deleting a pod from a node with these
    taints. Only NoExecute taints count; others are ignored.

    - ``None``: nothing to evict for, either no NoExecute taint or every one is tolerated
      forever.
    - ``0.0``: some NoExecute taint is not tolerated, so the pod goes at once; a matching
      ``tolerationSeconds`` <= 0 means at once too.
    - otherwise the smallest ``tolerationSeconds`` among the tolerations used.

    As in ``GetMatchingTolerations``, each taint is matched by the *first* toleration that
    tolerates it; a later, stricter toleration for the same taint plays no part.
    """
    used: list[Toleration] = []
    for taint in taints:
        if taint.effect != NO_EXECUTE:
            continue
        match = next((tol for tol in tolerations if tolerates(tol, taint)), None)
        if match is None:
            return 0.0
        used.append(match)
    bounded = [tol.toleration_seconds for tol in used if tol.toleration_seconds is not None]
    if not bounded:
        return None
    return float(max(0, min(bounded)))
