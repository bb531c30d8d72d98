"""The simulated controller manager: runs every controller of a cluster on its simulated clock.

One reconcile of a cluster (:func:`advance`) moves its clock from ``sim_now`` to a target time,
as a discrete-event simulation: at each instant every controller handles the keys that changed
since its cursor and the wakeups that fell due, passes repeat until nobody has work, then the
clock jumps to the next wakeup. The cost of a reconcile therefore follows what changed and what
fell due, never the size of the cluster.

Two workers never reconcile the same cluster at once (a Redis lock per cluster); within a
reconcile, each controller's pass is one transaction that also advances its cursor, so a worker
that dies mid-pass leaves the cursor where it was and the work is simply redone (level-triggered).

A stopped control-plane component's controllers get no pass, and while kube-apiserver or etcd is
stopped no controller does (every one of them, kubelets included, works through the API): the
clock still moves, cursors and due wakeups wait, and everything catches up on restart with the
kubelets first, so their Leases are renewed before the node-lifecycle controller looks at them.
A component started again relists (``RELIST`` in its state, set by
``cluster.services.components``), as a freshly started process's informers do.
"""

from __future__ import annotations

import contextvars
import logging
import random
import time

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Min, Q

from cluster import broadcast, selectors, timings
from cluster.controllers import CONTROLLERS
from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change, Cluster, ControllerState, KubeObject, Wakeup
from cluster.services.components import RELIST
from cluster.services.errors import Unavailable
from cluster.services.store import api_unavailable

logger = logging.getLogger(__name__)

#: Wakeups closer together than this (simulated seconds) are handled in one instant.
MIN_STEP = 0.5
#: Safety bound on controller passes at one instant (a feedback loop would otherwise spin).
MAX_PASSES = 25
#: Change-log entries one controller takes per pass.
BATCH = 5000
#: A stalled worker does not make simulated time jump: at most this much wall time per tick.
MAX_CATCHUP_WALL = 2.0
#: Seconds a reconcile lock lives unless extended: a worker killed mid-reconcile blocks its
#: cluster for at most this long. A running reconcile extends it at every simulated instant.
LOCK_TIMEOUT = 10

in_reconcile: contextvars.ContextVar[bool] = contextvars.ContextVar("in_reconcile", default=False)

_redis: redis.Redis | None = None


def _redis_client() -> redis.Redis:
    global _redis  # noqa: PLW0603 - one connection pool per process
    if _redis is None or _redis.connection_pool.connection_kwargs.get("port") is None:
        _redis = redis.Redis.from_url(settings.REDIS_URL)
    return _redis


def cluster_lock(cluster_id: int) -> redis.lock.Lock:
    return _redis_client().lock(
        f"k8sviz:reconcile:{cluster_id}", timeout=LOCK_TIMEOUT, blocking=False
    )


def run_controller(cluster: Cluster, ctrl: Controller, now: float, rng: random.Random) -> int:
    """One pass of one controller at simulated time ``now``; returns how many keys it handled."""
    # Read fresh for every pass: a reconcile spans many instants, and a component stopped
    # meanwhile must not act on what happened after its stop (a pod created after the
    # scheduler's stop is never bound by it, however long the running reconcile has been going).
    cluster.components = (
        Cluster.objects.filter(pk=cluster.pk).values_list("components", flat=True).get()
    )
    if not cluster.components.get(ctrl.component, True) or (
        ctrl.needs_api and not api_reachable(cluster)
    ):
        return 0  # A stopped component's cursor stays put: it catches up when restarted.
    if _idle(cluster, ctrl, now):
        return 0
    t = timings.resolve(cluster.profile, cluster.timings)
    with transaction.atomic():
        state, created = ControllerState.objects.select_for_update().get_or_create(
            cluster=cluster, controller=ctrl.name
        )
        ctx = SyncContext(
            cluster=cluster, now=now, rng=rng, timings=t, controller=ctrl.name, state=state.data
        )
        head = (
            Cluster.objects.filter(pk=cluster.pk).values_list("resource_version", flat=True).get()
        )
        keys: dict[str, None] = {}
        period = ctrl.resync_after(cluster.pk)
        resync_due = period and now - state.last_resync >= period
        restarted = bool(state.data.pop(RELIST, False))
        if created or state.cursor_rv < cluster.compacted_rv or resync_due or restarted:
            keys.update(dict.fromkeys(ctrl.all_keys(ctx)))
            state.cursor_rv = head
            state.last_resync = now
        elif state.cursor_rv < head:
            changes = list(
                Change.objects.filter(
                    cluster=cluster, rv__gt=state.cursor_rv, rv__lte=head, kind__in=ctrl.watches
                )
                .defer("object")
                .order_by("rv")[:BATCH]
            )
            for change in changes:
                keys.update(dict.fromkeys(ctrl.keys_for(change)))
            state.cursor_rv = changes[-1].rv if len(changes) == BATCH else head
        due = list(
            Wakeup.objects.filter(cluster=cluster, controller=ctrl.name, due__lte=now).values_list(
                "pk", "key"
            )
        )
        if due:
            Wakeup.objects.filter(pk__in=[pk for pk, _ in due]).delete()
            keys.update(dict.fromkeys(key for _, key in due))
        if keys:
            _sync_guarded(ctrl, ctx, list(keys))
        state.data = ctx.state
        state.save(update_fields=["cursor_rv", "last_resync", "data"])
    return len(keys)


#: A controller whose cursor lags the head by more than this takes the full pass even when
#: none of the changes concern it, so its cursor moves on (bounding the idle check's scan and
#: keeping it ahead of compaction).
IDLE_LAG = 200


def _idle(cluster: Cluster, ctrl: Controller, now: float) -> bool:
    """Whether ``ctrl`` has nothing to do at ``now``: no change of a kind it watches since its
    cursor, no due wakeup, no relist or resync due. Read-only and outside any transaction, so
    the many passes that find nothing cost a few indexed reads instead of a locked
    read-modify-write and a commit each; the full pass would only have moved the cursor."""
    row = (
        ControllerState.objects.filter(cluster=cluster, controller=ctrl.name)
        .annotate(relist=ExpressionWrapper(Q(data__has_key=RELIST), output_field=BooleanField()))
        .values_list("cursor_rv", "last_resync", "relist")
        .first()
    )
    if row is None:
        return False  # first run: relist
    cursor, last_resync, relist = row
    if relist:
        return False
    head, compacted = (
        Cluster.objects.filter(pk=cluster.pk)
        .values_list("resource_version", "compacted_rv")
        .get()
    )
    period = ctrl.resync_after(cluster.pk)
    if cursor < compacted or head - cursor > IDLE_LAG or (period and now - last_resync >= period):
        return False
    if (
        cursor < head
        and ctrl.watches
        and Change.objects.filter(
            cluster=cluster, rv__gt=cursor, rv__lte=head, kind__in=ctrl.watches
        ).exists()
    ):
        return False
    return not Wakeup.objects.filter(cluster=cluster, controller=ctrl.name, due__lte=now).exists()


def api_reachable(cluster: Cluster) -> bool:
    """Whether controllers can work: kube-apiserver and etcd are both running."""
    return api_unavailable(cluster.components) is None


def _sync_guarded(ctrl: Controller, ctx: SyncContext, keys: list[str]) -> None:
    """Run the batch; if it fails, redo key by key so one bad key cannot block the others.
    A key that fails on its own is retried a little later (Kubernetes' rate-limited requeue).
    An outage (the API stopped under the pass) aborts the whole pass instead: its cursor
    advance rolls back with it and the work is redone when the API is back."""
    try:
        with transaction.atomic():
            ctrl.sync_many(ctx, keys)
        return
    except Unavailable:
        raise
    except Exception:
        if len(keys) == 1:
            logger.exception("%s: sync of %s failed; retrying later", ctrl.name, keys[0])
            ctx.wake(keys[0], ctx.now + 1.0)
            return
    for key in keys:
        try:
            with transaction.atomic():
                ctrl.sync_many(ctx, [key])
        except Unavailable:
            raise
        except Exception:
            logger.exception("%s: sync of %s failed; retrying later", ctrl.name, key)
            ctx.wake(key, ctx.now + 1.0)


def run_to(
    cluster: Cluster, target: float, rng: random.Random, *, lock: redis.lock.Lock | None = None
) -> int:
    """Run the cluster's controllers from its clock up to simulated time ``target``."""
    token = in_reconcile.set(True)
    try:
        work = 0
        t = cluster.sim_now
        while True:
            if lock is not None:
                lock.extend(LOCK_TIMEOUT, replace_ttl=True)
            cluster.sim_now = t
            Cluster.objects.filter(pk=cluster.pk).update(sim_now=t)
            for _ in range(MAX_PASSES):
                try:
                    done = sum(run_controller(cluster, ctrl, t, rng) for ctrl in CONTROLLERS)
                except Unavailable:
                    # Stopped while this reconcile ran: the pass rolled back; stop here.
                    cluster.refresh_from_db(fields=["components"])
                    done = 0
                work += done
                if not done:
                    break
            else:
                logger.warning(
                    "cluster %s: controllers still busy after %d passes", cluster.name, MAX_PASSES
                )
            if not api_reachable(cluster):
                break  # nothing can act until the API is back: let the clock run on
            nxt = Wakeup.objects.filter(cluster=cluster, due__gt=t).aggregate(m=Min("due"))["m"]
            if nxt is None or nxt > target or t >= target:
                break
            t = min(max(nxt, t + MIN_STEP), target)
        if target > cluster.sim_now:
            cluster.sim_now = target
            Cluster.objects.filter(pk=cluster.pk).update(sim_now=target)
        return work
    finally:
        in_reconcile.reset(token)


def advance(
    cluster_id: int, *, wall_now: float | None = None, rng: random.Random | None = None
) -> bool:
    """A tick: move the cluster's clock by the wall time elapsed × speed (or by the pending
    step while paused) and run the controllers. Returns False if another worker holds it."""
    wall_now = time.time() if wall_now is None else wall_now
    lock = cluster_lock(cluster_id)
    if not lock.acquire():
        return False
    try:
        cluster = Cluster.objects.filter(pk=cluster_id).first()
        if cluster is None:
            return True
        step = 0.0
        if cluster.paused:
            # Paused means frozen: not even reactions to user actions run until a step.
            step = cluster.step_pending
            if step <= 0:
                return True
            target = cluster.sim_now + step
        else:
            elapsed = min(max(wall_now - cluster.clock_wall, 0.0), MAX_CATCHUP_WALL)
            target = cluster.sim_now + elapsed * cluster.speed
        run_to(cluster, target, rng or random.Random(), lock=lock)
        Cluster.objects.filter(pk=cluster_id).update(
            clock_wall=wall_now, step_pending=F("step_pending") - step
        )
        cluster.refresh_from_db()
        broadcast.send_clock(cluster, backlog=selectors.component_backlog(cluster=cluster))
        return True
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            logger.warning("cluster %s: reconcile lock expired before release", cluster_id)


def is_settled(cluster: Cluster, since_rv: int) -> bool:
    """Nothing but heartbeats changed since ``since_rv`` and no pod is on its way somewhere."""
    busy_kinds = (
        Change.objects.filter(cluster=cluster, rv__gt=since_rv).exclude(kind="Lease").exists()
    )
    moving_pods = (
        KubeObject.objects.filter(cluster=cluster, kind="Pod").filter(deleting=True).exists()
        or KubeObject.objects.filter(cluster=cluster, kind="Pod", phase="Pending").exists()
    )
    return not busy_kinds and not moving_pods


def run_until_settled(*, cluster_id: int, max_seconds: float = 900.0, step: float = 1.0) -> float:
    """Advance simulated time one step at a time until the cluster is settled (or the budget
    is spent); returns the simulated seconds it took. Holds the cluster's lock meanwhile."""
    lock = cluster_lock(cluster_id)
    deadline = time.monotonic() + 60
    while not lock.acquire():
        if time.monotonic() > deadline:
            raise TimeoutError(f"cluster {cluster_id} is locked by another worker")
        time.sleep(0.05)
    try:
        cluster = Cluster.objects.get(pk=cluster_id)
        start = cluster.sim_now
        rng = random.Random()
        quiet = 0
        while cluster.sim_now - start < max_seconds:
            rv_before = (
                Cluster.objects.filter(pk=cluster_id)
                .values_list("resource_version", flat=True)
                .get()
            )
            run_to(cluster, cluster.sim_now + step, rng, lock=lock)
            quiet = quiet + 1 if is_settled(cluster, rv_before) else 0
            if quiet >= 2:
                break
        Cluster.objects.filter(pk=cluster_id).update(clock_wall=time.time())
        cluster.refresh_from_db()
        broadcast.send_clock(cluster, backlog=selectors.component_backlog(cluster=cluster))
        return cluster.sim_now - start
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            logger.warning("cluster %s: settle lock expired before release", cluster_id)


def compact(cluster: Cluster, *, keep: int) -> int:
    """Drop change-log entries older than the newest ``keep`` (etcd compaction)."""
    horizon = cluster.resource_version - keep
    if horizon <= cluster.compacted_rv:
        return 0
    from cluster.services.history import history_base_save  # noqa: PLC0415 - services import us

    with transaction.atomic():
        # The history's new start: the state at the horizon (time travel needs it).
        history_base_save(cluster=cluster, rv=horizon)
        deleted, _ = Change.objects.filter(cluster=cluster, rv__lte=horizon).delete()
        Cluster.objects.filter(pk=cluster.pk).update(compacted_rv=horizon)
    return deleted
