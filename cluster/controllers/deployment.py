"""Deployment controller: owns one ReplicaSet per pod template and sizes them.

Models ``pkg/controller/deployment`` (k8s-reference §3.3): ``deployment_controller.go``
(syncDeployment), ``sync.go``, ``rolling.go``, ``recreate.go``, ``progress.go``:

- the new ReplicaSet is ``<deployment>-<pod-template-hash>``; the hash (fnv-32a of the template,
  encoded with the safe alphabet) is added to its selector, template labels and pods;
- ``deployment.kubernetes.io/revision`` (max of old revisions + 1; a reused ReplicaSet, as after
  a rollback, is bumped to the newest revision and its old number goes to ``revision-history``),
  ``desired-replicas`` and ``max-replicas`` annotations on ReplicaSets; the Deployment's own
  annotations (``kubernetes.io/change-cause`` among them) are copied onto its new ReplicaSet;
- RollingUpdate (rolling.go): surge rounds up, unavailable rounds down, both zero means
  unavailable 1; first scale the new ReplicaSet up within ``replicas + maxSurge`` (counted on
  spec.replicas); otherwise scale old ones down: unhealthy old replicas first
  (``cleanupUnhealthyReplicas``, oldest ReplicaSet first), then available ones while
  ``replicas - maxUnavailable`` stay available; Recreate scales old ReplicaSets to zero and
  waits for their pods to go before creating or growing the new one;
- a *scaling event* (spec.replicas differs from an active ReplicaSet's ``desired-replicas``) and
  a paused Deployment go through ``sync``: proportional scaling spreads the added (or removed)
  replicas over the active ReplicaSets in proportion to their size (``getReplicaSetFraction``),
  leftovers to the largest; no new ReplicaSet is created while paused;
- ``spec.paused``: Progressing=Unknown/DeploymentPaused "Deployment is paused", on resume
  Progressing=Unknown/DeploymentResumed "Deployment is resumed" (checkPausedConditions);
- Progressing=True with NewReplicaSetCreated / FoundNewReplicaSet / ReplicaSetUpdated (its
  lastUpdateTime moves whenever progress is seen) / NewReplicaSetAvailable, and
  Progressing=False/ProgressDeadlineExceeded once ``progressDeadlineSeconds`` pass without
  progress (never while paused). The deadline is a wakeup at lastUpdateTime + deadline + 1 s
  (requeueStuckDeployment), not a poll;
- ``ScalingReplicaSet`` events in the v1.32+ wording ("Scaled up replica set X from 0 to 3");
- status counters (replicas, updated, ready, available, unavailable = spec total - available)
  and the Available condition, written only when changed;
- old ReplicaSets with zero replicas beyond ``revisionHistoryLimit`` are deleted (not while a
  rolling update is in flight, as cleanupDeployment runs only once the rollout completed or
  the Deployment is paused).

Rollback (``kubectl rollout undo``) is a write to the Deployment's template, done client-side by
kubectl or by ``cluster.services.rollouts.deployment_rollback``; this controller then finds the
old ReplicaSet as the new one and makes it the newest revision.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from cluster import k8s
from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change, KubeObject
from cluster.services import store
from cluster.services.k8s_events import event_record
from cluster.services.workloads import replicaset_scale

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
CHANGE_CAUSE = "kubernetes.io/change-cause"
# Annotations a Deployment does not copy onto its ReplicaSets (annotationsToSkip).
SKIPPED_ANNOTATIONS = {
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
}

# Progressing condition reasons (deployment_util.go).
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
REPLICA_SET_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
CONDITION_ORDER = {"Available": 0, "Progressing": 1, "ReplicaFailure": 2}


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def template_hash(template: dict, collision_count: int = 0) -> str:
    """ComputeHash: fnv-32a of the template (plus the collision count), its decimal digits
    mapped through the safe alphabet (rand.SafeEncodeString)."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    digits = str(fnv32a(data))
    return "".join(k8s.NAME_ALPHABET[ord(c) % len(k8s.NAME_ALPHABET)] for c in digits)


def scaled_value(value: int | str, total: int, *, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent."""
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.endswith("%"):
        pct = int(text[:-1])
        exact = pct * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


def resolve_fenceposts(
    max_surge: int | str, max_unavailable: int | str, replicas: int
) -> tuple[int, int]:
    """ResolveFenceposts: (surge, unavailable); both zero becomes unavailable 1."""
    surge = scaled_value(max_surge, replicas, round_up=True)
    unavailable = scaled_value(max_unavailable, replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def plan_new_rs_replicas(*, replicas: int, surge: int, current_total: int, new_rs: int) -> int:
    """NewRSNewReplicas for RollingUpdate: grow the new RS within replicas + maxSurge."""
    if new_rs >= replicas:
        return new_rs
    max_total = replicas + surge
    if current_total >= max_total:
        return new_rs
    return new_rs + min(max_total - current_total, replicas - new_rs)


def plan_old_scale_down(
    *,
    replicas: int,
    unavailable: int,
    all_pods: int,
    new_rs_replicas: int,
    new_rs_available: int,
    old_available: int,
) -> int:
    """How many old replicas may go now (reconcileOldReplicaSets): keep replicas - maxUnavailable
    available, counting new pods that are not yet available as unavailable."""
    min_available = replicas - unavailable
    max_scaled_down = all_pods - min_available - (new_rs_replicas - new_rs_available)
    total_available = old_available + new_rs_available
    return max(0, min(max_scaled_down, total_available - min_available))


# --- pure rollout arithmetic ----------------------------------------------------------------


@dataclass
class RSState:
    """What the rollout arithmetic reads of one ReplicaSet."""

    name: str
    replicas: int  # spec.replicas
    available: int = 0  # status.availableReplicas
    created: str = ""  # creationTimestamp (then name) orders "oldest first"
    max_replicas: int | None = None  # the max-replicas annotation


def strategy_fenceposts(strategy: dict, replicas: int) -> tuple[int, int]:
    """MaxSurge / MaxUnavailable of a Deployment: 0 / 0 for Recreate; maxUnavailable never
    above replicas."""
    if (strategy or {}).get("type") == "Recreate":
        return 0, 0
    ru = (strategy or {}).get("rollingUpdate") or {}
    surge, unavailable = resolve_fenceposts(
        ru.get("maxSurge", "25%"), ru.get("maxUnavailable", "25%"), replicas
    )
    if replicas == 0:
        unavailable = 0
    return surge, min(unavailable, replicas)


def plan_rolling_step(
    *, replicas: int, surge: int, unavailable: int, new: RSState, old: list[RSState]
) -> dict[str, int]:
    """One pass of rolloutRolling: the ReplicaSets to resize (name -> new spec.replicas).

    Scale the new ReplicaSet up within replicas + maxSurge (or down to replicas); if it did not
    move, scale old ones down: first their unavailable replicas (oldest ReplicaSet first), then
    available ones while replicas - maxUnavailable stay available."""
    if new.replicas > replicas:
        return {new.name: replicas}
    if new.replicas < replicas:
        total = new.replicas + sum(rs.replicas for rs in old)
        grown = plan_new_rs_replicas(
            replicas=replicas, surge=surge, current_total=total, new_rs=new.replicas
        )
        if grown != new.replicas:
            return {new.name: grown}
    if not sum(rs.replicas for rs in old):
        return {}
    all_pods = new.replicas + sum(rs.replicas for rs in old)
    min_available = replicas - unavailable
    max_scaled_down = all_pods - min_available - (new.replicas - new.available)
    if max_scaled_down <= 0:
        return {}
    oldest_first = sorted(old, key=lambda r: (r.created, r.name))
    sizes = {rs.name: rs.replicas for rs in oldest_first}
    cleaned = 0
    for rs in oldest_first:  # cleanupUnhealthyReplicas
        if cleaned >= max_scaled_down:
            break
        unhealthy = rs.replicas - rs.available
        if rs.replicas == 0 or unhealthy <= 0:
            continue
        cut = min(max_scaled_down - cleaned, unhealthy)
        sizes[rs.name] -= cut
        cleaned += cut
    available = new.available + sum(min(rs.available, sizes[rs.name]) for rs in old)
    budget = available - min_available
    for rs in oldest_first:  # scaleDownOldReplicaSetsForRollingUpdate
        if budget <= 0:
            break
        if sizes[rs.name] == 0:
            continue
        cut = min(sizes[rs.name], budget)
        sizes[rs.name] -= cut
        budget -= cut
    return {rs.name: sizes[rs.name] for rs in old if sizes[rs.name] != rs.replicas}


def _round_half_away(x: float) -> int:
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def plan_proportional_scale(
    *,
    replicas: int,
    surge: int,
    rolling: bool,
    new: RSState | None,
    old: list[RSState],
    status_replicas: int,
) -> dict[str, int]:
    """sync.go ``scale``: the sizes after a change of spec.replicas (name -> spec.replicas).

    One active ReplicaSet (or none: the newest) simply takes ``replicas``. Several (a scaling
    event mid-rollout): with RollingUpdate, ``replicas + maxSurge - current total`` is spread in
    proportion to each one's size against its max-replicas annotation, largest first (newer
    first when adding, older first when removing), and the rounding leftover goes to the
    first, the largest."""
    all_rs = ([new] if new else []) + old
    active = [rs for rs in all_rs if rs.replicas > 0]
    if len(active) <= 1:
        target = active[0] if active else (new or _newest(old))
        if target is None or target.replicas == replicas:
            return {}
        return {target.name: replicas}
    if new is not None and new.replicas == replicas and new.available == replicas:
        # IsSaturated: the new ReplicaSet is complete, the old ones go.
        return {rs.name: 0 for rs in old if rs.replicas}
    if not rolling:
        return {}
    current = sum(rs.replicas for rs in active)
    allowed = replicas + surge if replicas > 0 else 0
    to_add = allowed - current
    if to_add == 0:
        return {}
    if to_add > 0:  # ReplicaSetsBySizeNewer
        ordered = sorted(active, key=lambda r: (-r.replicas, _neg(r.created), r.name))
    else:  # ReplicaSetsBySizeOlder
        ordered = sorted(active, key=lambda r: (-r.replicas, r.created, r.name))
    sizes: dict[str, int] = {}
    added = 0
    for rs in ordered:
        part = _proportion(rs, replicas, surge, status_replicas, to_add, added)
        sizes[rs.name] = rs.replicas + part
        added += part
    first = ordered[0].name
    sizes[first] = max(0, sizes[first] + to_add - added)
    return {rs.name: sizes[rs.name] for rs in ordered if sizes[rs.name] != rs.replicas}


def _neg(created: str) -> tuple:
    # Newer first: sort on the negated characters of the timestamp.
    return tuple(-ord(c) for c in created)


def _newest(rss: list[RSState]) -> RSState | None:
    return max(rss, key=lambda r: (r.created, r.name), default=None)


def _proportion(
    rs: RSState, replicas: int, surge: int, status_replicas: int, to_add: int, added: int
) -> int:
    """GetProportion / getReplicaSetFraction."""
    if rs.replicas == 0 or to_add in (0, added):
        return 0
    if replicas == 0:
        fraction = -rs.replicas
    else:
        annotated = rs.max_replicas if rs.max_replicas else status_replicas
        if not annotated:
            return 0
        fraction = _round_half_away(rs.replicas * (replicas + surge) / annotated) - rs.replicas
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


# --- progress (progress.go) -----------------------------------------------------------------


def deployment_complete(replicas: int, generation: int, status: dict) -> bool:
    """DeploymentComplete: every replica updated and available, no old ones left."""
    return (
        int(status.get("updatedReplicas", 0)) == replicas
        and int(status.get("replicas", 0)) == replicas
        and int(status.get("availableReplicas", 0)) == replicas
        and int(status.get("observedGeneration", 0)) >= generation
    )


def deployment_progressing(old: dict, new: dict) -> bool:
    """DeploymentProgressing: more updated, ready or available replicas, or fewer old ones."""

    def olds(s: dict) -> int:
        return int(s.get("replicas", 0)) - int(s.get("updatedReplicas", 0))

    return (
        int(new.get("updatedReplicas", 0)) > int(old.get("updatedReplicas", 0))
        or olds(new) < olds(old)
        or int(new.get("readyReplicas", 0)) > int(old.get("readyReplicas", 0))
        or int(new.get("availableReplicas", 0)) > int(old.get("availableReplicas", 0))
    )


def progress_timed_out(cond: dict | None, deadline: int, now: float) -> bool:
    """DeploymentTimedOut, on the current Progressing condition."""
    if not cond:
        return False
    if cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = k8s.parse_time(cond.get("lastUpdateTime")) or now
    return since + deadline < now


def set_deployment_condition(
    status: dict, ctype: str, value: str, reason: str, message: str, now: float
) -> bool:
    """SetDeploymentCondition: nothing changes if status and reason are the same; the
    transition time stays when only the reason moves."""
    conds = status.setdefault("conditions", [])
    current = k8s.get_condition(status, ctype)
    if current and current.get("status") == value and current.get("reason") == reason:
        return False
    stamp = k8s.rfc3339(now)
    cond = {
        "type": ctype,
        "status": value,
        "lastUpdateTime": stamp,
        "lastTransitionTime": current["lastTransitionTime"]
        if current and current.get("status") == value and current.get("lastTransitionTime")
        else stamp,
        "reason": reason,
        "message": message,
    }
    status["conditions"] = [c for c in conds if c.get("type") != ctype] + [cond]
    return True


def _template_without_hash(template: dict) -> dict:
    t = k8s.json_copy(template)
    labels = (t.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return t


def _annotations(obj: KubeObject) -> dict:
    return obj.body["metadata"].get("annotations") or {}


def _revision(obj: KubeObject) -> int:
    try:
        return int(_annotations(obj).get(REVISION, 0))
    except ValueError:
        return 0


def _rs_state(rs: KubeObject) -> RSState:
    try:
        max_replicas: int | None = int(_annotations(rs)[MAX_REPLICAS])
    except (KeyError, ValueError):
        max_replicas = None
    return RSState(
        name=rs.name,
        replicas=int(rs.spec.get("replicas", 0)),
        available=int(rs.status.get("availableReplicas", 0)),
        created=rs.body["metadata"].get("creationTimestamp", ""),
        max_replicas=max_replicas,
    )


class DeploymentController(Controller):
    name = "deployment-controller"
    watches = ("Deployment", "ReplicaSet")

    def keys_for(self, change: Change) -> Iterable[str]:
        if change.kind == "Deployment":
            yield str(change.uid)
        elif change.owner_uid:
            yield str(change.owner_uid)

    def all_keys(self, ctx: SyncContext) -> Iterable[str]:
        return (str(u) for u in ctx.objects("Deployment").order_by("pk").values_list("uid", flat=True))

    def sync(self, ctx: SyncContext, key: str) -> None:
        d = ctx.get_uid(key)
        if d is None or d.kind != "Deployment" or d.deleting:
            return
        all_rs = list(ctx.objects("ReplicaSet").filter(owner_uid=uuid.UUID(key)))
        for rs in all_rs:
            rs.cluster = ctx.cluster
        template = d.spec.get("template") or {}
        matching = [
            rs for rs in all_rs if _template_without_hash(rs.spec.get("template") or {}) == template
        ]
        matching.sort(key=lambda r: (r.body["metadata"].get("creationTimestamp", ""), r.name))
        new_rs = matching[0] if matching else None
        old = [rs for rs in all_rs if rs is not new_rs]
        replicas = int(d.spec.get("replicas", 1))
        strategy = d.spec.get("strategy") or {}
        paused = bool(d.spec.get("paused"))
        status = k8s.json_copy(d.status)
        self._check_paused(ctx, d, status, paused)
        if new_rs is not None:
            self._sync_revision(ctx, d, new_rs, old, status)
        if paused or self._is_scaling_event(d, new_rs, old):
            self._proportional(ctx, d, new_rs, old, replicas, strategy)
            self._cleanup(ctx, d, old)
            return self._update_status(ctx, d, new_rs, old, status, progress=False)
        if strategy.get("type") == "Recreate":
            new_rs = self._recreate(ctx, d, new_rs, old, replicas, status)
        elif new_rs is None:
            surge, _ = strategy_fenceposts(strategy, replicas)
            total = sum(int(rs.spec.get("replicas", 0)) for rs in old)
            start = plan_new_rs_replicas(
                replicas=replicas, surge=surge, current_total=total, new_rs=0
            )
            new_rs = self._create_rs(ctx, d, old, start, status)
        elif not self._rolling(ctx, d, new_rs, old, replicas) and deployment_complete(
            replicas, int(d.body["metadata"].get("generation", 1)), d.status
        ):
            self._cleanup(ctx, d, old)
        self._update_status(ctx, d, new_rs, old, status, progress=True)

    # --- conditions and revisions ---------------------------------------------------------
    def _check_paused(self, ctx: SyncContext, d: KubeObject, status: dict, paused: bool) -> None:
        """checkPausedConditions (a timed-out Deployment keeps its condition)."""
        cond = k8s.get_condition(status, "Progressing")
        if cond and cond.get("reason") == TIMED_OUT:
            return
        is_paused_cond = bool(cond) and cond.get("reason") == PAUSED
        if paused and not is_paused_cond:
            set_deployment_condition(
                status, "Progressing", "Unknown", PAUSED, "Deployment is paused", ctx.now
            )
        elif not paused and is_paused_cond:
            set_deployment_condition(
                status, "Progressing", "Unknown", RESUMED, "Deployment is resumed", ctx.now
            )

    def _sync_revision(
        self,
        ctx: SyncContext,
        d: KubeObject,
        new_rs: KubeObject,
        old: list[KubeObject],
        status: dict,
    ) -> None:
        """getNewReplicaSet for an existing one: it takes the newest revision (a rollback reuses
        an old ReplicaSet), the Deployment's annotations and minReadySeconds."""
        next_revision = 1 + max((_revision(rs) for rs in old), default=0)
        annotations = new_rs.body["metadata"].setdefault("annotations", {})
        before = dict(annotations)
        _copy_annotations(_annotations(d), annotations)
        current = _revision(new_rs)
        if current < next_revision:
            if current:
                history = [h for h in annotations.get(REVISION_HISTORY, "").split(",") if h]
                annotations[REVISION_HISTORY] = ",".join([*history, str(current)])
            annotations[REVISION] = str(next_revision)
        min_ready = int(d.spec.get("minReadySeconds", 0))
        if annotations != before or int(new_rs.spec.get("minReadySeconds", 0)) != min_ready:
            new_rs.spec["minReadySeconds"] = min_ready
            store.object_update(obj=new_rs, actor=self.name)
        if _annotations(d).get(REVISION) != annotations[REVISION]:
            d.body["metadata"].setdefault("annotations", {})[REVISION] = annotations[REVISION]
            store.object_update(obj=d, actor=self.name)
        if k8s.get_condition(status, "Progressing") is None:
            set_deployment_condition(
                status,
                "Progressing",
                "True",
                FOUND_NEW_RS,
                f'Found new replica set "{new_rs.name}"',
                ctx.now,
            )

    def _is_scaling_event(
        self, d: KubeObject, new_rs: KubeObject | None, old: list[KubeObject]
    ) -> bool:
        replicas = str(d.spec.get("replicas", 1))
        for rs in [new_rs, *old]:
            if rs is None or int(rs.spec.get("replicas", 0)) == 0:
                continue
            desired = _annotations(rs).get(DESIRED)
            if desired is not None and desired != replicas:
                return True
        return False

    # --- strategies ------------------------------------------------------------------------
    def _proportional(
        self,
        ctx: SyncContext,
        d: KubeObject,
        new_rs: KubeObject | None,
        old: list[KubeObject],
        replicas: int,
        strategy: dict,
    ) -> None:
        surge, _ = strategy_fenceposts(strategy, replicas)
        plan = plan_proportional_scale(
            replicas=replicas,
            surge=surge,
            rolling=strategy.get("type") != "Recreate",
            new=_rs_state(new_rs) if new_rs else None,
            old=[_rs_state(rs) for rs in old],
            status_replicas=int(d.status.get("replicas", 0)),
        )
        for rs in [new_rs, *old]:
            if rs is None:
                continue
            if rs.name in plan:
                self._scale(ctx, d, rs, plan[rs.name], surge)
            elif int(rs.spec.get("replicas", 0)) > 0:
                self._scale(ctx, d, rs, int(rs.spec.get("replicas", 0)), surge)

    def _rolling(
        self,
        ctx: SyncContext,
        d: KubeObject,
        new_rs: KubeObject,
        old: list[KubeObject],
        replicas: int,
    ) -> bool:
        surge, unavailable = strategy_fenceposts(d.spec.get("strategy") or {}, replicas)
        plan = plan_rolling_step(
            replicas=replicas,
            surge=surge,
            unavailable=unavailable,
            new=_rs_state(new_rs),
            old=[_rs_state(rs) for rs in old],
        )
        for rs in [new_rs, *old]:
            if rs.name in plan:
                self._scale(ctx, d, rs, plan[rs.name], surge)
        return bool(plan)

    def _recreate(
        self,
        ctx: SyncContext,
        d: KubeObject,
        new_rs: KubeObject | None,
        old: list[KubeObject],
        replicas: int,
        status: dict,
    ) -> KubeObject | None:
        active_old = [rs for rs in old if int(rs.spec.get("replicas", 0)) > 0]
        for rs in active_old:
            self._scale(ctx, d, rs, 0, 0)
        if active_old or self._old_pods_remain(ctx, old):
            return new_rs
        if new_rs is None:
            return self._create_rs(ctx, d, old, replicas, status)
        if int(new_rs.spec.get("replicas", 0)) != replicas:
            self._scale(ctx, d, new_rs, replicas, 0)
        if deployment_complete(replicas, int(d.body["metadata"].get("generation", 1)), d.status):
            self._cleanup(ctx, d, old)
        return new_rs

    def _old_pods_remain(self, ctx: SyncContext, old: list[KubeObject]) -> bool:
        return ctx.objects("Pod").filter(owner_uid__in=[rs.uid for rs in old]).exists()

    # --- writes ------------------------------------------------------------------------------
    def _create_rs(
        self,
        ctx: SyncContext,
        d: KubeObject,
        old: list[KubeObject],
        replicas: int,
        status: dict,
    ) -> KubeObject:
        template = k8s.json_copy(d.spec.get("template") or {})
        collisions = int(d.status.get("collisionCount", 0))
        pth = template_hash(template, collisions)
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pth
        selector = k8s.json_copy(d.spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pth
        revision = 1 + max((_revision(rs) for rs in old), default=0)
        surge, _ = strategy_fenceposts(d.spec.get("strategy") or {}, int(d.spec.get("replicas", 1)))
        annotations: dict[str, str] = {}
        _copy_annotations(_annotations(d), annotations)
        annotations.update(
            {
                DESIRED: str(d.spec.get("replicas", 1)),
                MAX_REPLICAS: str(int(d.spec.get("replicas", 1)) + surge),
                REVISION: str(revision),
            }
        )
        body = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{d.name}-{pth}",
                "namespace": d.namespace,
                "labels": {**(template["metadata"].get("labels") or {})},
                "annotations": annotations,
                "ownerReferences": [k8s.controller_ref(d.body)],
            },
            "spec": {
                "replicas": replicas,
                "minReadySeconds": int(d.spec.get("minReadySeconds", 0)),
                "selector": selector,
                "template": template,
            },
            "status": {"replicas": 0},
        }
        rs = store.object_create(cluster=ctx.cluster, body=body, actor=self.name)
        if replicas:
            self._event_scaled(ctx, d, rs.name, 0, replicas)
        d.body["metadata"].setdefault("annotations", {})[REVISION] = str(revision)
        store.object_update(obj=d, actor=self.name)
        set_deployment_condition(
            status,
            "Progressing",
            "True",
            NEW_RS_CREATED,
            f'Created new replica set "{rs.name}"',
            ctx.now,
        )
        return rs

    def _scale(
        self, ctx: SyncContext, d: KubeObject, rs: KubeObject, replicas: int, surge: int
    ) -> None:
        """scaleReplicaSet: the size and the desired/max-replicas annotations, written when
        either changed (a scaling event ends once every active ReplicaSet is annotated)."""
        before = int(rs.spec.get("replicas", 0))
        annotations = rs.body["metadata"].setdefault("annotations", {})
        wanted = {
            DESIRED: str(d.spec.get("replicas", 1)),
            MAX_REPLICAS: str(int(d.spec.get("replicas", 1)) + surge),
        }
        if before == replicas and all(annotations.get(k) == v for k, v in wanted.items()):
            return
        annotations.update(wanted)
        replicaset_scale(rs=rs, replicas=replicas, actor=self.name)
        if before != replicas:
            self._event_scaled(ctx, d, rs.name, before, replicas)

    def _event_scaled(
        self, ctx: SyncContext, d: KubeObject, rs_name: str, before: int, after: int
    ) -> None:
        direction = "up" if after > before else "down"
        event_record(
            cluster=ctx.cluster,
            involved=d.body,
            reason="ScalingReplicaSet",
            message=f"Scaled {direction} replica set {rs_name} from {before} to {after}",
            component=self.name,
        )

    def _cleanup(self, ctx: SyncContext, d: KubeObject, old: list[KubeObject]) -> None:
        limit = int(d.spec.get("revisionHistoryLimit", 10))
        idle = [
            rs
            for rs in old
            if int(rs.spec.get("replicas", 0)) == 0 and int(rs.status.get("replicas", 0)) == 0
        ]
        idle.sort(key=_revision)
        for rs in idle[: max(0, len(idle) - limit)]:
            store.object_remove(obj=rs, actor=self.name)
            old.remove(rs)

    def _update_status(
        self,
        ctx: SyncContext,
        d: KubeObject,
        new_rs: KubeObject | None,
        old: list[KubeObject],
        status: dict,
        *,
        progress: bool,
    ) -> None:
        """calculateStatus, then (for a rollout, not a scaling event) syncRolloutStatus and the
        progress-deadline wakeup."""
        rss = [rs for rs in [new_rs, *old] if rs is not None]
        replicas = int(d.spec.get("replicas", 1))
        spec_total = sum(int(rs.spec.get("replicas", 0)) for rs in rss)
        available = sum(int(rs.status.get("availableReplicas", 0)) for rs in rss)
        counters = {
            "observedGeneration": d.body["metadata"].get("generation", 1),
            "replicas": sum(int(rs.status.get("replicas", 0)) for rs in rss),
            "updatedReplicas": int(new_rs.status.get("replicas", 0)) if new_rs else 0,
            "readyReplicas": sum(int(rs.status.get("readyReplicas", 0)) for rs in rss),
            "availableReplicas": available,
            "unavailableReplicas": max(spec_total - available, 0),
        }
        for k, v in counters.items():
            if v or k == "observedGeneration":
                status[k] = v
            else:
                status.pop(k, None)
        _, max_unavailable = strategy_fenceposts(d.spec.get("strategy") or {}, replicas)
        if available >= replicas - max_unavailable:
            set_deployment_condition(
                status,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                ctx.now,
            )
        else:
            set_deployment_condition(
                status,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                ctx.now,
            )
        deadline = d.spec.get("progressDeadlineSeconds")
        paused = bool(d.spec.get("paused"))
        generation = int(d.body["metadata"].get("generation", 1))
        if progress and deadline is not None and not paused:
            self._progress_condition(ctx, d, new_rs, status, int(deadline), replicas, generation)
        # Conditions first Available then Progressing, as kubectl describe prints them.
        status["conditions"] = sorted(
            status.get("conditions", []), key=lambda c: CONDITION_ORDER.get(c.get("type"), 9)
        )
        cond = k8s.get_condition(status, "Progressing")
        if (
            deadline is not None
            and not paused
            and cond
            and cond.get("reason") not in (TIMED_OUT, NEW_RS_AVAILABLE)
            and not deployment_complete(replicas, generation, status)
        ):
            since = k8s.parse_time(cond.get("lastUpdateTime")) or ctx.now
            ctx.reschedule(str(d.uid), since + int(deadline) + 1)
        else:
            ctx.cancel(str(d.uid))
        if status != d.status:
            d.body["status"] = status
            store.object_update(obj=d, actor=self.name)

    def _progress_condition(
        self,
        ctx: SyncContext,
        d: KubeObject,
        new_rs: KubeObject | None,
        status: dict,
        deadline: int,
        replicas: int,
        generation: int,
    ) -> None:
        current = k8s.get_condition(status, "Progressing")
        if deployment_complete(replicas, generation, status):
            name = new_rs.name if new_rs else d.name
            set_deployment_condition(
                status,
                "Progressing",
                "True",
                NEW_RS_AVAILABLE,
                f'ReplicaSet "{name}" has successfully progressed.',
                ctx.now,
            )
        elif deployment_progressing(d.status, status):
            message = (
                f'ReplicaSet "{new_rs.name}" is progressing.'
                if new_rs
                else f'Deployment "{d.name}" is progressing.'
            )
            # Progress moves lastUpdateTime even with an unchanged reason (syncRolloutStatus).
            stamp = k8s.rfc3339(ctx.now)
            cond = {
                "type": "Progressing",
                "status": "True",
                "lastUpdateTime": stamp,
                "lastTransitionTime": current["lastTransitionTime"]
                if current and current.get("status") == "True"
                else stamp,
                "reason": REPLICA_SET_UPDATED,
                "message": message,
            }
            status["conditions"] = [
                c for c in status.get("conditions", []) if c.get("type") != "Progressing"
            ] + [cond]
        elif progress_timed_out(current, deadline, ctx.now):
            name = new_rs.name if new_rs else d.name
            set_deployment_condition(
                status,
                "Progressing",
                "False",
                TIMED_OUT,
                f'ReplicaSet "{name}" has timed out progressing.',
                ctx.now,
            )


def _copy_annotations(source: dict, target: dict) -> None:
    """copyDeploymentAnnotationsToReplicaSet: everything but the controller's own keys."""
    for key, value in source.items():
        if key not in SKIPPED_ANNOTATIONS:
            target[key] = value
