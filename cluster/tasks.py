"""Celery tasks: thin, idempotent triggers that take ids and call the core.

Beat runs ``tick`` every K8SVIZ_TICK_SECONDS; it fans out one ``reconcile_cluster`` per cluster
whose clock is running (or has a pending step). A user action queues ``reconcile_cluster`` on
commit, so controllers react within the second instead of waiting for the next tick.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db.models import Q

from cluster import reconcile, timings
from cluster.models import Cluster
from cluster.services.k8s_events import events_expire
from cluster.services.store import api_unavailable

CHANGELOG_KEEP = 20000


@shared_task(ignore_result=True)
def tick() -> None:
    expires = settings.K8SVIZ_TICK_SECONDS * 1.5
    for cluster_id in Cluster.objects.filter(Q(paused=False) | Q(step_pending__gt=0)).values_list(
        "pk", flat=True
    ):
        reconcile_cluster.apply_async((cluster_id,), expires=expires)


@shared_task(ignore_result=True)
def reconcile_cluster(cluster_id: int) -> None:
    reconcile.advance(cluster_id)


SETTLED = "settled after {seconds} of simulated time: every controller is idle (paused)"
NOT_SETTLED = (
    "still busy after {seconds} of simulated time: something keeps changing (see the events); "
    "paused"
)


@shared_task(ignore_result=True)
def settle_cluster(cluster_id: int) -> None:
    """ "Until settled": advance the paused cluster until nothing but heartbeats changes and no
    pod is on its way, then say so on every open dashboard."""
    from cluster import broadcast, k8s  # noqa: PLC0415 - keep the worker's import light
    from cluster.services.clusters import SETTLE_BUDGET  # noqa: PLC0415

    if not Cluster.objects.filter(pk=cluster_id).exists():
        return
    elapsed = reconcile.run_until_settled(cluster_id=cluster_id, max_seconds=SETTLE_BUDGET)
    text = SETTLED if elapsed < SETTLE_BUDGET else NOT_SETTLED
    broadcast.send_notice(
        cluster_id,
        text.format(seconds=k8s.human_duration(elapsed)),
        error=elapsed >= SETTLE_BUDGET,
    )


@shared_task(ignore_result=True)
def compact_changes() -> None:
    for cluster in Cluster.objects.all():
        if api_unavailable(cluster.components) is not None:
            continue  # a stopped etcd (or its apiserver) neither expires nor compacts
        ttl = timings.resolve(cluster.profile, cluster.timings)["event_ttl"]
        events_expire(cluster=cluster, ttl=ttl)
        cluster.refresh_from_db()
        reconcile.compact(cluster, keep=CHANGELOG_KEEP)
