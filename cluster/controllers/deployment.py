"""Deployment controller: owns one ReplicaSet per pod template and sizes them.

Models ``pkg/controller/deployment`` (k8s-reference §3.3):

- the new ReplicaSet is ``<deployment>-<pod-template-hash>``; the hash (fnv-32a of the template,
  encoded with the safe alphabet) is added to its selector, template labels and pods;
- ``deployment.kubernetes.io/revision`` (max of old revisions + 1), ``desired-replicas`` and
  ``max-replicas`` annotations on ReplicaSets;
- RollingUpdate: surge rounds up, unavailable rounds down, both zero means unavailable 1; scale the
  new ReplicaSet up to ``replicas + maxSurge`` total, then scale old ones down while at least
  ``replicas - maxUnavailable`` pods stay available; Recreate scales old ReplicaSets to zero and
  waits for their pods to go before creating new ones;
- ``ScalingReplicaSet`` events in the v1.32+ wording ("Scaled up replica set X from 0 to 3");
- status counters and the Available / Progressing conditions, written only when changed;
- old ReplicaSets with zero replicas beyond ``revisionHistoryLimit`` are deleted.

Rollout details the rollouts issue refines (pause, rollback, progress deadline, proportional
scaling) are documented there.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable

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
    """How many old replicas may go now (reconcileOldReplicaSets): keep replicas − maxUnavailable
    available, counting new pods that are not yet available as unavailable."""
    min_available = replicas - unavailable
    max_scaled_down = all_pods - min_available - (new_rs_replicas - new_rs_available)
    total_available = old_available + new_rs_available
    return max(0, min(max_scaled_down, total_available - min_available))


def _template_without_hash(template: dict) -> dict:
    t = k8s.json_copy(template)
    labels = (t.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return t


class DeploymentController(Controller):
    name = "deployment-controller"
    watches = ("Deployment", "ReplicaSet")

    def keys_for(self, change: Change) -> Iterable[str]:
        if change.kind == "Deployment":
            yield str(change.uid)
        elif change.owner_uid:
            yield str(change.owner_uid)

    def all_keys(self, ctx: SyncContext) -> Iterable[str]:
        return (str(u) for u in ctx.objects("Deployment").values_list("uid", flat=True))

    def sync(self, ctx: SyncContext, key: str) -> None:
        d = ctx.get_uid(key)
        if d is None or d.kind != "Deployment" or d.deleting:
            return
        all_rs = list(ctx.objects("ReplicaSet").filter(owner_uid=uuid.UUID(key)))
        for rs in all_rs:
            rs.cluster = ctx.cluster
        template = d.spec.get("template") or {}
        new_rs = next(
            (
                rs
                for rs in all_rs
                if _template_without_hash(rs.spec.get("template") or {}) == template
            ),
            None,
        )
        old = [rs for rs in all_rs if rs is not new_rs]
        replicas = int(d.spec.get("replicas", 1))
        strategy = d.spec.get("strategy") or {}
        if new_rs is None:
            old_active = sum(int(rs.spec.get("replicas", 0)) for rs in old)
            if strategy.get("type") == "Recreate" and old_active == 0:
                if self._old_pods_remain(ctx, old):
                    return self._update_status(ctx, d, None, old)
            start = replicas if old_active == 0 else 0
            if strategy.get("type") == "Recreate" and old_active:
                start = 0
            new_rs = self._create_rs(ctx, d, old, start)
            all_rs.append(new_rs)
        if strategy.get("type") == "Recreate":
            self._recreate(ctx, d, new_rs, old, replicas)
        else:
            self._rolling(ctx, d, new_rs, old, replicas)
        self._cleanup(ctx, d, old)
        self._update_status(ctx, d, new_rs, old)

    # --- strategies ------------------------------------------------------------------------
    def _rolling(
        self,
        ctx: SyncContext,
        d: KubeObject,
        new_rs: KubeObject,
        old: list[KubeObject],
        replicas: int,
    ) -> None:
        ru = (d.spec.get("strategy") or {}).get("rollingUpdate") or {}
        surge, unavailable = resolve_fenceposts(
            ru.get("maxSurge", "25%"), ru.get("maxUnavailable", "25%"), replicas
        )
        old_active = [rs for rs in old if int(rs.spec.get("replicas", 0)) > 0]
        if not old_active:
            if int(new_rs.spec.get("replicas", 0)) != replicas:
                self._scale(ctx, d, new_rs, replicas, surge)
            return
        current_total = sum(int(rs.spec.get("replicas", 0)) for rs in [new_rs, *old])
        target = plan_new_rs_replicas(
            replicas=replicas,
            surge=surge,
            current_total=current_total,
            new_rs=int(new_rs.spec.get("replicas", 0)),
        )
        if target != int(new_rs.spec.get("replicas", 0)):
            self._scale(ctx, d, new_rs, target, surge)
            return
        all_pods = sum(int(rs.status.get("replicas", 0)) for rs in [new_rs, *old])
        allowed = plan_old_scale_down(
            replicas=replicas,
            unavailable=unavailable,
            all_pods=all_pods,
            new_rs_replicas=int(new_rs.spec.get("replicas", 0)),
            new_rs_available=int(new_rs.status.get("availableReplicas", 0)),
            old_available=sum(int(rs.status.get("availableReplicas", 0)) for rs in old),
        )
        for rs in sorted(old_active, key=lambda r: r.body["metadata"].get("creationTimestamp", "")):
            if allowed <= 0:
                break
            current = int(rs.spec.get("replicas", 0))
            cut = min(current, allowed)
            self._scale(ctx, d, rs, current - cut, surge)
            allowed -= cut

    def _recreate(
        self,
        ctx: SyncContext,
        d: KubeObject,
        new_rs: KubeObject,
        old: list[KubeObject],
        replicas: int,
    ) -> None:
        active_old = [rs for rs in old if int(rs.spec.get("replicas", 0)) > 0]
        for rs in active_old:
            self._scale(ctx, d, rs, 0, 0)
        if active_old or self._old_pods_remain(ctx, old):
            return
        if int(new_rs.spec.get("replicas", 0)) != replicas:
            self._scale(ctx, d, new_rs, replicas, 0)

    def _old_pods_remain(self, ctx: SyncContext, old: list[KubeObject]) -> bool:
        return ctx.objects("Pod").filter(owner_uid__in=[rs.uid for rs in old]).exists()

    # --- writes ------------------------------------------------------------------------------
    def _create_rs(
        self, ctx: SyncContext, d: KubeObject, old: list[KubeObject], replicas: int
    ) -> KubeObject:
        template = k8s.json_copy(d.spec.get("template") or {})
        collisions = int(d.status.get("collisionCount", 0))
        pth = template_hash(template, collisions)
        template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pth
        selector = k8s.json_copy(d.spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pth
        revision = 1 + max(
            (int((rs.body["metadata"].get("annotations") or {}).get(REVISION, 0)) for rs in old),
            default=0,
        )
        ru = (d.spec.get("strategy") or {}).get("rollingUpdate") or {}
        surge, _ = resolve_fenceposts(
            ru.get("maxSurge", "25%"),
            ru.get("maxUnavailable", "25%"),
            int(d.spec.get("replicas", 1)),
        )
        annotations = {
            DESIRED: str(d.spec.get("replicas", 1)),
            MAX_REPLICAS: str(int(d.spec.get("replicas", 1)) + surge),
            REVISION: str(revision),
        }
        cause = (d.body["metadata"].get("annotations") or {}).get("kubernetes.io/change-cause")
        if cause:
            annotations["kubernetes.io/change-cause"] = cause
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
        return rs

    def _scale(
        self, ctx: SyncContext, d: KubeObject, rs: KubeObject, replicas: int, surge: int
    ) -> None:
        before = int(rs.spec.get("replicas", 0))
        if before == replicas:
            return
        annotations = rs.body["metadata"].setdefault("annotations", {})
        annotations[DESIRED] = str(d.spec.get("replicas", 1))
        annotations[MAX_REPLICAS] = str(int(d.spec.get("replicas", 1)) + surge)
        replicaset_scale(rs=rs, replicas=replicas, actor=self.name)
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
        idle.sort(key=lambda r: int((r.body["metadata"].get("annotations") or {}).get(REVISION, 0)))
        for rs in idle[: max(0, len(idle) - limit)]:
            store.object_remove(obj=rs, actor=self.name)
            old.remove(rs)

    def _update_status(
        self, ctx: SyncContext, d: KubeObject, new_rs: KubeObject | None, old: list[KubeObject]
    ) -> None:
        rss = [rs for rs in [new_rs, *old] if rs is not None]
        replicas = int(d.spec.get("replicas", 1))
        total = sum(int(rs.status.get("replicas", 0)) for rs in rss)
        ready = sum(int(rs.status.get("readyReplicas", 0)) for rs in rss)
        available = sum(int(rs.status.get("availableReplicas", 0)) for rs in rss)
        updated = int(new_rs.status.get("replicas", 0)) if new_rs else 0
        ru = (d.spec.get("strategy") or {}).get("rollingUpdate") or {}
        _, max_unavailable = resolve_fenceposts(
            ru.get("maxSurge", "25%"), ru.get("maxUnavailable", "25%"), replicas
        )
        if (d.spec.get("strategy") or {}).get("type") == "Recreate":
            max_unavailable = 0
        status = dict(d.status)
        status.update(
            {
                "observedGeneration": d.body["metadata"].get("generation", 1),
                "replicas": total,
                "updatedReplicas": updated,
                "readyReplicas": ready,
                "availableReplicas": available,
                "unavailableReplicas": max(replicas - available, 0) if total or replicas else 0,
            }
        )
        status = {k: v for k, v in status.items() if v or k in {"observedGeneration", "conditions"}}
        now = ctx.now
        if available >= replicas - max_unavailable:
            k8s.set_condition(
                status,
                "Available",
                "True",
                now=now,
                reason="MinimumReplicasAvailable",
                message="Deployment has minimum availability.",
                heartbeat=False,
            )
        else:
            k8s.set_condition(
                status,
                "Available",
                "False",
                now=now,
                reason="MinimumReplicasUnavailable",
                message="Deployment does not have minimum availability.",
            )
        if new_rs is not None:
            complete = updated == replicas and available == replicas and total == replicas
            reason, message = (
                (
                    "NewReplicaSetAvailable",
                    f'ReplicaSet "{new_rs.name}" has successfully progressed.',
                )
                if complete
                else ("ReplicaSetUpdated", f'ReplicaSet "{new_rs.name}" is progressing.')
            )
            k8s.set_condition(
                status, "Progressing", "True", now=now, reason=reason, message=message
            )
        for cond in status.get("conditions", []):
            cond.pop("lastProbeTime", None)
            cond.setdefault("lastUpdateTime", cond.get("lastTransitionTime"))
        if status != d.status:
            for cond in status.get("conditions", []):
                old_cond = k8s.get_condition(d.status, cond["type"]) or {}
                if {k: v for k, v in cond.items() if k != "lastUpdateTime"} != {
                    k: v for k, v in old_cond.items() if k != "lastUpdateTime"
                }:
                    cond["lastUpdateTime"] = k8s.rfc3339(now)
            d.body["status"] = status
            store.object_update(obj=d, actor=self.name)
