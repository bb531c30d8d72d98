"""What every simulated controller is: informer + work queue + level-triggered ``sync``.

A controller names the kinds it watches and maps each change-log entry to work-queue keys
(``keys_for``), like an informer's event handlers do. The runner (cluster/reconcile.py) hands it
the keys that changed since its cursor plus the keys whose :class:`~cluster.models.Wakeup` fell
due, and the controller reconciles each key from the *current* rows. It never relies on having
seen a particular transition, so a missed or replayed change is harmless. ``all_keys`` is the
relist: on a controller's first run, after the change log was compacted past its cursor, and on
its (long, spread) resync period.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from cluster.models import Change, Cluster, KubeObject, Wakeup
from cluster.timings import Timings


@dataclass
class SyncContext:
    """What a sync may use: the cluster, the simulated ``now``, an injected RNG, the timings."""

    cluster: Cluster
    now: float
    rng: random.Random
    timings: Timings
    controller: str
    state: dict = field(default_factory=dict)

    def wake(self, key: str, at: float, *, controller: str | None = None) -> None:
        """Reconcile ``key`` again at simulated time ``at`` (the earliest request wins)."""
        name = controller or self.controller
        existing = Wakeup.objects.filter(cluster=self.cluster, controller=name, key=key).first()
        if existing is None:
            Wakeup.objects.create(cluster=self.cluster, controller=name, key=key, due=at)
        elif at < existing.due:
            Wakeup.objects.filter(pk=existing.pk).update(due=at)

    def reschedule(self, key: str, at: float) -> None:
        """Replace this controller's wakeup for ``key`` with one at ``at``."""
        Wakeup.objects.update_or_create(
            cluster=self.cluster, controller=self.controller, key=key, defaults={"due": at}
        )

    def cancel(self, key: str) -> None:
        Wakeup.objects.filter(cluster=self.cluster, controller=self.controller, key=key).delete()

    def objects(self, kind: str):
        return KubeObject.objects.filter(cluster=self.cluster, kind=kind)

    def get(self, kind: str, name: str, namespace: str = "") -> KubeObject | None:
        obj = self.objects(kind).filter(namespace=namespace, name=name).first()
        if obj is not None:
            obj.cluster = self.cluster
        return obj

    def get_uid(self, uid: str) -> KubeObject | None:
        obj = KubeObject.objects.filter(cluster=self.cluster, uid=uid).first()
        if obj is not None:
            obj.cluster = self.cluster
        return obj


class Controller:
    #: Work-queue and Wakeup name; also the actor written to the change log.
    name: str = ""
    #: The control-plane component that runs it; a stopped component's controllers do nothing.
    component: str = "kube-controller-manager"
    #: Whether it works through the API (every Kubernetes component does). The traffic
    #: sampler stands for the data plane, which keeps forwarding while the API is down.
    needs_api: bool = True
    #: Kinds whose changes this controller's informers receive.
    watches: tuple[str, ...] = ()
    #: Simulated seconds between full resyncs (0: never; a relist still happens on the first
    #: run and after compaction). kube-controller-manager's informers resync every
    #: --min-resync-period (12h) times a random factor in [1, 2); see ``resync_after``.
    resync_period: float = 12 * 3600.0

    def resync_after(self, cluster_id: int) -> float:
        """This controller's resync period in this cluster: ``resync_period`` x a factor in
        [1, 2) fixed per (cluster, controller), as ResyncPeriod() spreads informers so their
        full passes do not all land in the same tick."""
        if not self.resync_period:
            return 0.0
        spread = zlib.crc32(f"{cluster_id}:{self.name}".encode()) % 1000 / 1000
        return self.resync_period * (1.0 + spread)

    def keys_for(self, change: Change) -> Iterable[str]:
        raise NotImplementedError

    def all_keys(self, ctx: SyncContext) -> Iterable[str]:
        return ()

    def sync(self, ctx: SyncContext, key: str) -> None:
        raise NotImplementedError

    def sync_many(self, ctx: SyncContext, keys: list[str]) -> None:
        """Reconcile a batch; the runner isolates failures by retrying keys one by one."""
        for key in keys:
            self.sync(ctx, key)
