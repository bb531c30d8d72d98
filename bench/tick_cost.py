"""Cost of one reconcile tick in a steady cluster, by cluster size, and by what changed.

What it measures
    For a 4-node / 6-pod baseline (the demo shape), (a) 100 nodes / 3,000 pods and (b) 250 nodes
    / 10,000 pods (node-ipam's 10.244.0.0/16 has 256 /24 ranges: a 257th node would get
    CIDRNotAvailable and its pods no address, as in a kubeadm cluster), all on the "kubernetes"
    timing profile: ``--ticks`` consecutive calls of
    ``reconcile.run_to(cluster, cluster.sim_now + 1.0, rng)`` (one simulated second each, what a
    worker does at speed 1x every second) once the cluster is steady. For each tick: wall time,
    SQL statements executed, change-log entries written (by kind: Lease renewals are the
    kubelets' heartbeats), which controllers did a periodic full resync, and wall time per
    controller. Printed: p50 / p95 / max / mean per tick, the ratios (a)/baseline and (b)/(a),
    the per-controller split, and the resync ticks apart from the others.

    Then "cost per change": delete 1, 10 and 100 running pods (``services.pod_delete`` as a user
    would) and run ticks until the cluster is steady again (the pods terminate, the ReplicaSet
    controller replaces them, the scheduler binds, the kubelets start them); printed: ticks, wall
    time and SQL above the steady ticks' median, and writes, for each size, so cost can be
    compared against what changed rather than against the cluster's size.

How the clusters are built
    The baseline is built the natural way (``cluster_create``, ``node_add``, ``deployment_create``,
    then ``run_to`` until settled). Building 10,000 pods that way is too slow for a benchmark
    (measured on this 2-core machine: 300 pods 25 s, 1,000 pods 96 s and growing faster than
    linearly, so 10,000 pods would take well over 20 minutes), so (a) and (b) are built like this:

    1. natural: ``cluster_create``, ``node_add`` for the control plane and the workers, added in
       ``--stagger`` batches one simulated second apart (kubelets join over time, so their Lease
       renewals are spread over the renew interval instead of all landing in one tick), and the
       Deployments with ``replicas=0``; ``run_to`` until settled (Nodes registered and Ready,
       Leases, empty ReplicaSets, all events);
    2. bulk: every pod, and every Event its life would have produced, is computed by the real
       code paths (``pods.pod_create`` from the ReplicaSet's template, ``schedule_one`` on the
       scheduler's node snapshot + ``pods.pod_bind``, the kubelet's ``_advance`` through
       ContainerCreating → Running, ``event_record`` for SuccessfulCreate / Scheduled / Pulled /
       Created / Started) with the store's write functions swapped for an in-memory collector
       that assigns resourceVersions and typed index columns exactly as ``store.object_create`` /
       ``object_update`` do (``store._index_columns``); the rows are then ``bulk_create``d, the
       cluster's counter set to the last rv, and the change log compacted at that rv
       (``reconcile.compact(keep=0)``), so every controller relists on its next pass, as an
       informer does after "resource version too old";
    3. natural: ``deployment_scale`` every Deployment to its pod count (the controllers find the
       pods already there and only write statuses), then ticks until settled and at least
       ``--warmup`` simulated seconds past the relist, so measurements start after that first
       full-resync pass. ``--build natural`` builds every size the natural way instead.

Running it
    .venv/bin/python bench/tick_cost.py                       # SQLite file var/bench.sqlite3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/k8sviz_bench .venv/bin/python bench/tick_cost.py
    .venv/bin/python bench/tick_cost.py --sizes 4:6,20:300 --ticks 30   # quicker

A private redis-server is started unless REDIS_URL is set (services publish deltas on commit);
no Celery worker runs, so only this process reconciles. Clusters named ``bench-*`` are
deleted at start (and at the end unless ``--keep``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common

IMAGE = "nginx:1.27"


@dataclass
class Tick:
    wall: float
    queries: int
    changes: Counter
    resynced: list[str]
    per_ctrl: dict[str, float]
    keys: int

    @property
    def writes(self) -> int:
        return sum(self.changes.values())


@dataclass
class Result:
    label: str
    nodes: int
    pods: int
    build_seconds: float
    ticks: list[Tick] = field(default_factory=list)
    deletions: list[tuple[int, dict]] = field(default_factory=list)
    event_probe: tuple[float, str] = (0.0, "")


# --- instrumentation ----------------------------------------------------------------------------


class QueryCounter:
    """Counts every SQL statement the connection executes (CaptureQueriesContext keeps only the
    last 9,000, which a resync tick at 10,000 pods exceeds)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


_ctrl_time: dict[str, float] = defaultdict(float)


def _install_controller_timer() -> None:
    from cluster import reconcile  # noqa: PLC0415

    original = reconcile.run_controller

    def timed(cluster, ctrl, now, rng):
        start = time.perf_counter()
        try:
            return original(cluster, ctrl, now, rng)
        finally:
            _ctrl_time[ctrl.name] += time.perf_counter() - start

    reconcile.run_controller = timed


def one_tick(cluster, rng: random.Random) -> Tick:
    from django.db import connection  # noqa: PLC0415

    from cluster import reconcile  # noqa: PLC0415
    from cluster.models import Change, Cluster, ControllerState  # noqa: PLC0415

    rv0 = Cluster.objects.filter(pk=cluster.pk).values_list("resource_version", flat=True).get()
    resync0 = dict(
        ControllerState.objects.filter(cluster=cluster).values_list("controller", "last_resync")
    )
    _ctrl_time.clear()
    counter = QueryCounter()
    start = time.perf_counter()
    with connection.execute_wrapper(counter):
        keys = reconcile.run_to(cluster, cluster.sim_now + 1.0, rng)
    wall = time.perf_counter() - start
    rv1 = Cluster.objects.filter(pk=cluster.pk).values_list("resource_version", flat=True).get()
    changes = Counter(
        Change.objects.filter(cluster=cluster, rv__gt=rv0, rv__lte=rv1).values_list(
            "kind", flat=True
        )
    )
    resync1 = dict(
        ControllerState.objects.filter(cluster=cluster).values_list("controller", "last_resync")
    )
    resynced = sorted(c for c, t in resync1.items() if resync0.get(c) != t)
    return Tick(wall, counter.count, changes, resynced, dict(_ctrl_time), keys)


# --- building clusters --------------------------------------------------------------------------


def settle(cluster, rng: random.Random, *, min_seconds: float = 0.0, max_ticks: int = 400) -> int:
    """Tick until nothing but Leases changed for two ticks and no pod is moving."""
    from cluster import reconcile  # noqa: PLC0415
    from cluster.models import Cluster  # noqa: PLC0415

    start = cluster.sim_now
    quiet = 0
    for n in range(1, max_ticks + 1):
        rv0 = Cluster.objects.filter(pk=cluster.pk).values_list("resource_version", flat=True).get()
        reconcile.run_to(cluster, cluster.sim_now + 1.0, rng)
        quiet = quiet + 1 if reconcile.is_settled(cluster, rv0) else 0
        if quiet >= 2 and cluster.sim_now - start >= min_seconds:
            return n
    raise RuntimeError(f"{cluster.name} did not settle in {max_ticks} ticks")


class _Collector:
    """Stands in for the store's writes: same metadata, resourceVersions and index columns as
    ``store.object_create`` / ``object_update``, but rows are kept in memory for bulk_create."""

    def __init__(self, cluster) -> None:
        self.cluster = cluster
        self.objects: list = []
        self.names: set[tuple[str, str, str]] = set()

    def _rv(self) -> int:
        self.cluster.resource_version += 1
        return self.cluster.resource_version

    def create(self, *, cluster, body, actor, sim=None, rng=None, search_key=""):

        from cluster import k8s  # noqa: PLC0415
        from cluster.services import store  # noqa: PLC0415

        kind = body["kind"]
        body.setdefault("apiVersion", k8s.API_VERSIONS.get(kind, "v1"))
        meta = body.setdefault("metadata", {})
        meta.setdefault("namespace", "default")
        if not meta.get("name") and meta.get("generateName"):
            while True:
                meta["name"] = meta["generateName"] + k8s.random_suffix(rng or random.Random())
                if (kind, meta["namespace"], meta["name"]) not in self.names:
                    break
        self.names.add((kind, meta["namespace"], meta["name"]))
        obj = store.new_object(
            cluster=cluster, body=body, rv=self._rv(), sim=sim, search_key=search_key
        )
        self.objects.append(obj)
        return obj

    def update(self, *, obj, actor, spec_changed=False):
        from cluster.services import store  # noqa: PLC0415

        assert obj.pk is None, "the bulk build only updates objects it created"
        rv = self._rv()
        meta = obj.body["metadata"]
        meta["resourceVersion"] = str(rv)
        if spec_changed and "generation" in meta:
            meta["generation"] = int(meta["generation"]) + 1
        obj.resource_version = rv
        store._index_columns(obj)
        return obj


@contextmanager
def _store_swapped(collector: _Collector):
    from cluster.services import k8s_events, store  # noqa: PLC0415

    saved = store.object_create, store.object_update, store.object_sim_update, store.object_remove
    original_sim_update = store.object_sim_update

    def sim_update(*, obj):
        if obj.pk is not None:
            original_sim_update(obj=obj)

    def remove(**_kw):
        raise AssertionError("the bulk build removes nothing")

    store.object_create, store.object_update = collector.create, collector.update
    store.object_sim_update, store.object_remove = sim_update, remove
    # event_record's correlator looks for an Event to aggregate into; every event of the bulk
    # build is about a pod created in it (or names that pod), so there never is one: skip the
    # lookup (the rows it would find are still in the collector, not in the database).
    saved_same_key = k8s_events._same_key
    k8s_events._same_key = lambda cluster, key: []
    try:
        yield
    finally:
        store.object_create, store.object_update, store.object_sim_update, store.object_remove = (
            saved
        )
        k8s_events._same_key = saved_same_key


def bulk_pods(cluster, replicas: dict[str, int], rng: random.Random) -> int:
    """Create ``replicas[deployment]`` Running pods for each Deployment's ReplicaSet, with their events, as
    described in the module docstring. Returns the number of rows written."""
    import dataclasses  # noqa: PLC0415
    import inspect  # noqa: PLC0415

    from django.db import transaction  # noqa: PLC0415

    from cluster import reconcile, timings  # noqa: PLC0415
    from cluster.controllers.base import SyncContext  # noqa: PLC0415
    from cluster.controllers.kubelet import Kubelet  # noqa: PLC0415
    from cluster.controllers.replicaset import pod_from_template  # noqa: PLC0415
    from cluster.controllers.scheduler import node_infos  # noqa: PLC0415
    from cluster.models import Cluster, ControllerState, KubeObject  # noqa: PLC0415
    from cluster.scheduling.framework import schedule_one  # noqa: PLC0415
    from cluster.scheduling.types import pod_info_from_body  # noqa: PLC0415
    from cluster.services import store  # noqa: PLC0415
    from cluster.services.k8s_events import event_record  # noqa: PLC0415
    from cluster.services.pods import pod_bind, pod_create  # noqa: PLC0415

    cluster = Cluster.objects.get(pk=cluster.pk)
    t = timings.resolve(cluster.profile, cluster.timings)
    machines = {}
    for machine in KubeObject.objects.filter(cluster=cluster, kind="Machine"):
        machine.cluster = cluster
        if IMAGE not in machine.sim.get("images", []):
            machine.sim.setdefault("images", []).append(IMAGE)  # as after the first pull
            store.object_sim_update(obj=machine)
        machines[machine.name] = machine
    collector = _Collector(cluster)

    class BulkContext(SyncContext):
        """Node reads cached: nodes do not change during the build."""

        def get(self, kind: str, name: str, namespace: str = ""):
            if kind != "Node":
                return super().get(kind, name, namespace)
            if name not in node_cache:
                node_cache[name] = super().get(kind, name, namespace)
            return node_cache[name]

    node_cache: dict = {}

    def ctx_at(controller: str) -> SyncContext:
        ctx = BulkContext(
            cluster=cluster, now=cluster.sim_now, rng=rng, timings=t, controller=controller
        )
        ctx.reschedule = ctx.wake = ctx.cancel = lambda *a, **k: None  # type: ignore[method-assign]
        return ctx

    with _store_swapped(collector):
        pods = []
        for rs in KubeObject.objects.filter(cluster=cluster, kind="ReplicaSet").order_by("pk"):
            owner = (rs.body["metadata"].get("ownerReferences") or [{}])[0].get("name", "")
            for _ in range(replicas.get(owner, 0)):
                pod = pod_create(
                    cluster=cluster,
                    body=pod_from_template(rs.body),
                    actor="replicaset-controller",
                    rng=rng,
                )
                event_record(
                    cluster=cluster,
                    involved=rs.body,
                    reason="SuccessfulCreate",
                    message=f"Created pod: {pod.name}",
                    component="replicaset-controller",
                )
                pods.append(pod)
        infos = node_infos(ctx_at("default-scheduler"))
        sched_state = ControllerState.objects.get(cluster=cluster, controller="default-scheduler")
        with_start = "start_index" in inspect.signature(schedule_one).parameters
        next_start = int(sched_state.data.get("next_start", 0))
        for pod in pods:
            info = pod_info_from_body(pod.body)
            nodes = list(infos.values())
            if with_start:  # the scheduler's nextStartNodeIndex, as Scheduler.sync_many keeps it
                result = schedule_one(info, nodes, rng, start_index=next_start % max(len(nodes), 1))
                next_start = result.next_start_index
            else:
                result = schedule_one(info, nodes, rng)
            if not result.node_name:
                raise RuntimeError(f"bulk build: pod does not fit: {result.message}")
            pod_bind(pod=pod, node_name=result.node_name)
            node = infos[result.node_name]
            infos[result.node_name] = dataclasses.replace(
                node,
                requested=node.requested + info.requests,
                nonzero_requested=node.nonzero_requested + info.nonzero_requests,
            )
        kubelet = Kubelet()
        ctx = ctx_at("kubelet")
        for pod in pods:  # Pending + ContainerCreating, image already present
            kubelet._advance(ctx, pod, machines[pod.node_name])
        cluster.sim_now += t["container_start_seconds"]
        ctx.now = cluster.sim_now
        for pod in pods:  # Created, Started: Running and Ready
            kubelet._advance(ctx, pod, machines[pod.node_name])
    assert all(p.phase == "Running" for p in pods)
    if with_start:
        sched_state.data["next_start"] = next_start
        sched_state.save(update_fields=["data"])
    with transaction.atomic():
        KubeObject.objects.bulk_create(collector.objects, batch_size=500)
        Cluster.objects.filter(pk=cluster.pk).update(
            resource_version=cluster.resource_version, sim_now=cluster.sim_now
        )
    reconcile.compact(cluster, keep=0)
    _analyze()
    return len(collector.objects)


def _analyze() -> None:
    """Refresh the planner's statistics after the bulk load, as autovacuum would within a
    minute on a live PostgreSQL: with the stale ones (a nearly empty table) the planner picks
    indexes for the wrong shape of data. SQLite's planner needs no statistics here."""
    from django.db import connection  # noqa: PLC0415

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")


def build(
    label: str,
    nodes: int,
    pods: int,
    args: argparse.Namespace,
    rng: random.Random,
    *,
    natural: bool,
):
    from cluster import reconcile, services  # noqa: PLC0415
    from cluster.models import Cluster  # noqa: PLC0415

    name = f"bench-{label}"
    start = time.perf_counter()
    cluster = services.cluster_create(name=name, profile=args.profile)
    services.node_add(cluster=cluster, name="control-plane", control_plane=True)
    workers = [f"node-{i}" for i in range(1, nodes)]
    batches = max(1, min(args.stagger, len(workers)))
    for b in range(batches):
        for w in workers[b::batches]:
            services.node_add(cluster=cluster, name=w, cpu=args.node_cpu, memory=args.node_memory)
        reconcile.run_to(cluster, cluster.sim_now + 1.0, rng)
    per = max(1, min(args.pods_per_deployment, pods))
    sizes = [per] * (pods // per) + ([pods % per] if pods % per else [])
    for i, size in enumerate(sizes):
        services.deployment_create(
            cluster=cluster,
            name=f"app-{i}",
            image=IMAGE,
            replicas=size if natural else 0,
            cpu_request="100m",
            memory_request="128Mi",
        )
    settle(cluster, rng)
    t_nodes = time.perf_counter() - start
    detail = f"nodes+deployments {t_nodes:.0f}s"
    if not natural:
        t0 = time.perf_counter()
        rows = bulk_pods(cluster, {f"app-{i}": size for i, size in enumerate(sizes)}, rng)
        t_bulk = time.perf_counter() - t0
        cluster = Cluster.objects.get(pk=cluster.pk)
        for i, size in enumerate(sizes):
            services.deployment_scale(
                cluster=cluster, namespace="default", name=f"app-{i}", replicas=size
            )
        detail += f", bulk pods+events {t_bulk:.0f}s ({rows} rows)"
    t0 = time.perf_counter()
    cluster = Cluster.objects.get(pk=cluster.pk)
    settle(cluster, rng, min_seconds=args.warmup)
    detail += f", relist+settle {time.perf_counter() - t0:.0f}s"
    elapsed = time.perf_counter() - start
    print(f"  built {name}: {elapsed:.0f}s ({detail})", flush=True)
    return Cluster.objects.get(pk=cluster.pk), elapsed


def census(cluster) -> str:
    from cluster.models import Change, KubeObject, Wakeup  # noqa: PLC0415

    kinds = Counter(KubeObject.objects.filter(cluster=cluster).values_list("kind", flat=True))
    running = KubeObject.objects.filter(cluster=cluster, kind="Pod", phase="Running").count()
    ready = KubeObject.objects.filter(cluster=cluster, kind="Node", phase="True").count()
    return (
        f"  {', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}; {running} pods Running, "
        f"{ready} nodes Ready; {Wakeup.objects.filter(cluster=cluster).count()} wakeups, "
        f"{Change.objects.filter(cluster=cluster).count()} change-log entries"
    )


# --- experiments --------------------------------------------------------------------------------


def steady_ticks(cluster, n: int, rng: random.Random) -> list[Tick]:
    return [one_tick(cluster, rng) for _ in range(n)]


def align(cluster, rng: random.Random) -> None:
    """Tick (unmeasured) until no periodic resync is due within 25 simulated seconds and no
    kubelet Lease renewal is due in the next 1.5 s, so the ticks after a change measure it."""
    from cluster.controllers import CONTROLLERS  # noqa: PLC0415
    from cluster.models import ControllerState, Wakeup  # noqa: PLC0415

    periods = {c.name: c.resync_period for c in CONTROLLERS if c.resync_period}
    for _ in range(120):
        last = dict(
            ControllerState.objects.filter(cluster=cluster).values_list("controller", "last_resync")
        )
        resync = min(last.get(name, 0.0) + p for name, p in periods.items())
        renew = (
            Wakeup.objects.filter(cluster=cluster, controller="kubelet", key__startswith="machine:")
            .order_by("due")
            .values_list("due", flat=True)
            .first()
        )
        if resync - cluster.sim_now > 25 and (renew is None or renew > cluster.sim_now + 1.5):
            return
        one_tick(cluster, rng)


def event_lookup_probe(cluster) -> tuple[float, str]:
    """Median time of event_record's correlator query for a key that has no Event yet (every
    new event), and the database's plan for it."""
    from django.db import connection  # noqa: PLC0415

    from cluster.services import k8s_events  # noqa: PLC0415

    qs = k8s_events._same_key(cluster, "0" * 40)
    times = []
    for _ in range(15):
        start = time.perf_counter()
        list(qs.all())
        times.append(time.perf_counter() - start)
    sql, params = qs.query.sql_with_params()
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cur:
        cur.execute(prefix + sql, params)
        rows = cur.fetchall()
    plan = " / ".join(str(r[-1]).strip() for r in rows)
    return statistics.median(times), plan


def delete_and_recover(
    cluster, count: int, rng: random.Random, baseline: float, baseline_q: float
) -> dict:
    from cluster import services  # noqa: PLC0415
    from cluster.models import KubeObject  # noqa: PLC0415

    align(cluster, rng)
    victims = list(
        KubeObject.objects.filter(
            cluster=cluster, kind="Pod", phase="Running", deleting=False
        ).order_by("?")[:count]
    )
    start = time.perf_counter()
    for pod in victims:
        pod.cluster = cluster
        services.pod_delete(cluster=cluster, pod=pod, actor="user")
    write_wall = time.perf_counter() - start
    ticks: list[Tick] = []
    quiet = 0
    while quiet < 2 and len(ticks) < 60:
        tick = one_tick(cluster, rng)
        ticks.append(tick)
        moving = (
            KubeObject.objects.filter(cluster=cluster, kind="Pod").exclude(phase="Running").exists()
            or KubeObject.objects.filter(cluster=cluster, kind="Pod", deleting=True).exists()
        )
        quiet = quiet + 1 if (not moving and set(tick.changes) <= {"Lease"}) else 0
    busy = ticks[:-2] if len(ticks) > 2 else ticks
    writes = Counter()
    for t in busy:
        writes.update(t.changes)
    writes.pop("Lease", None)
    return {
        "ticks": len(busy),
        "wall": sum(t.wall for t in busy),
        "extra_wall": sum(t.wall for t in busy) - baseline * len(busy),
        "max_tick": max(t.wall for t in busy),
        "extra_queries": sum(t.queries for t in busy) - baseline_q * len(busy),
        "writes": sum(writes.values()),
        "user_delete_wall": write_wall,
        "resynced": sorted({c for t in busy for c in t.resynced}),
    }


# --- reporting ----------------------------------------------------------------------------------


def summarise(res: Result) -> dict:
    ticks = res.ticks
    walls = [t.wall for t in ticks]
    plain = [t for t in ticks if not t.resynced]
    plain_walls = [t.wall for t in plain] or walls
    queries = [t.queries for t in ticks]
    writes = [t.writes for t in ticks]
    return {
        "p50": _common.pct(walls, 50),
        "p95": _common.pct(walls, 95),
        "max": max(walls),
        "mean": statistics.fmean(walls),
        "plain_p50": _common.pct(plain_walls, 50),
        "plain_mean": statistics.fmean(plain_walls),
        "q50": _common.pct(queries, 50),
        "qmax": max(queries),
        "plain_q50": _common.pct([t.queries for t in plain] or queries, 50),
        "w50": _common.pct(writes, 50),
        "wmax": max(writes),
        "wmean": statistics.fmean(writes),
    }


def report(results: list[Result], args: argparse.Namespace) -> None:
    ms = _common.fmt_ms
    print()
    print(f"== steady ticks: {args.ticks} x run_to(sim_now + 1 s), profile {args.profile!r} ==")
    print(
        f"{'cluster':<22}{'build':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'mean ms':>9}"
        f"{'SQL p50':>9}{'SQL max':>9}{'writes p50':>11}{'max':>6}{'mean':>7}"
    )
    sums = {}
    for r in results:
        s = sums[r.label] = summarise(r)
        print(
            f"{r.label + f' ({r.nodes}n/{r.pods}p)':<22}{r.build_seconds:>6.0f}s{ms(s['p50']):>9}"
            f"{ms(s['p95']):>9}{ms(s['max']):>9}{ms(s['mean']):>9}{s['q50']:>9}{s['qmax']:>9}"
            f"{s['w50']:>11}{s['wmax']:>6}{s['wmean']:>7.1f}"
        )
    print()
    print("change-log entries per tick by kind (mean), and what the ticks without a resync cost:")
    for r in results:
        kinds = Counter()
        for t in r.ticks:
            kinds.update(t.changes)
        n = len(r.ticks)
        s = sums[r.label]
        per_kind = ", ".join(f"{k} {v / n:.1f}" for k, v in kinds.most_common()) or "none"
        print(f"  {r.label:<10} {per_kind}")
        leases = [t.changes.get("Lease", 0) for t in r.ticks]
        print(
            f"  {'':<10} Lease renewals land in {sum(1 for x in leases if x)} of {n} ticks "
            f"(max {max(leases)} in one tick, {r.nodes} nodes)"
        )
        resync_ticks = [t for t in r.ticks if t.resynced]
        print(
            f"  {'':<10} no-resync ticks: p50 {ms(s['plain_p50'])} ms, mean {ms(s['plain_mean'])} ms, "
            f"SQL p50 {s['plain_q50']}; resync ticks: {len(resync_ticks)}"
            + "".join(
                f"\n  {'':<12}{ms(t.wall)} ms, {t.queries} SQL, {t.keys} keys: resync of "
                f"{', '.join(t.resynced)}"
                for t in resync_ticks
            )
        )
    print()
    print("cost per change in steady ticks (no-resync): mean wall time / mean change-log entries")
    for r in results:
        plain = [t for t in r.ticks if not t.resynced] or r.ticks
        writes = statistics.fmean(t.writes for t in plain)
        wall = statistics.fmean(t.wall for t in plain)
        per = f"{ms(wall / writes)} ms per change" if writes else "no changes"
        print(f"  {r.label:<10} {writes:6.1f} changes/tick, {ms(wall)} ms/tick: {per}")
    print()
    print("wall time per controller, mean ms per tick (no-resync ticks):")
    names = sorted({c for r in results for t in r.ticks for c in t.per_ctrl})
    print(f"  {'controller':<28}" + "".join(f"{r.label:>10}" for r in results))
    for name in names:
        row = ""
        for r in results:
            plain = [t for t in r.ticks if not t.resynced] or r.ticks
            row += f"{ms(statistics.fmean(t.per_ctrl.get(name, 0.0) for t in plain)):>10}"
        print(f"  {name:<28}{row}")
    print()
    print("ratios of per-tick cost:")
    for a, b in zip(results, results[1:], strict=False):
        sa, sb = sums[a.label], sums[b.label]
        print(
            f"  {b.label}/{a.label}: p50 {sb['p50'] / sa['p50']:.2f}x, mean {sb['mean'] / sa['mean']:.2f}x, "
            f"no-resync mean {sb['plain_mean'] / sa['plain_mean']:.2f}x, SQL p50 {sb['q50'] / max(sa['q50'], 1):.2f}x "
            f"(size: {b.pods / max(a.pods, 1):.1f}x pods, {b.nodes / max(a.nodes, 1):.1f}x nodes)"
        )
    print()
    print("event_record's correlator query (one per Event written) for a new key:")
    for r in results:
        print(
            f"  {r.label:<10} {_common.fmt_ms(r.event_probe[0]):>7} ms   plan: {r.event_probe[1]}"
        )
    if any(r.deletions for r in results):
        print()
        print(
            "== cost per change: delete N running pods, tick until steady (cost above the steady p50) =="
        )
        print(
            f"{'cluster':<10}{'N':>5}{'ticks':>7}{'wall s':>8}{'extra s':>9}{'per pod ms':>11}"
            f"{'max tick ms':>12}{'extra SQL':>10}{'writes':>8}"
        )
        for r in results:
            for count, d in r.deletions:
                flag = f"  (resync inside: {', '.join(d['resynced'])})" if d["resynced"] else ""
                print(
                    f"{r.label:<10}{count:>5}{d['ticks']:>7}{d['wall']:>8.2f}{d['extra_wall']:>9.2f}"
                    f"{ms(d['extra_wall'] / count):>11}{ms(d['max_tick']):>12}{d['extra_queries']:>10.0f}"
                    f"{d['writes']:>8}{flag}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="4:6,100:3000,250:10000",
        help="comma-separated NODES:PODS (nodes include the control plane)",
    )
    parser.add_argument("--labels", default="baseline,a,b")
    parser.add_argument("--ticks", type=int, default=60, help="steady ticks measured per size")
    parser.add_argument(
        "--delete", default="1,10,100", help="pod counts for the cost-per-change runs"
    )
    parser.add_argument("--profile", default="kubernetes", choices=["kubernetes", "classroom"])
    parser.add_argument("--pods-per-deployment", type=int, default=100)
    parser.add_argument("--node-cpu", default="8")
    parser.add_argument("--node-memory", default="32Gi")
    parser.add_argument(
        "--stagger",
        type=int,
        default=10,
        help="add workers in this many batches, one simulated second apart",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=15.0,
        help="simulated seconds to run after the relist before measuring",
    )
    parser.add_argument(
        "--build",
        choices=["bulk", "natural"],
        default="bulk",
        help="how (a)/(b) get their pods (the baseline is always natural)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the bench-* clusters")
    args = parser.parse_args()

    _common.setup()
    from cluster.models import Cluster  # noqa: PLC0415

    _install_controller_timer()
    Cluster.objects.filter(name__startswith="bench-").delete()
    sizes = [tuple(int(x) for x in s.split(":")) for s in args.sizes.split(",")]
    labels = args.labels.split(",") + [f"s{i}" for i in range(len(sizes))]
    delete_counts = [int(x) for x in args.delete.split(",") if x]
    results = []
    total = time.perf_counter()
    try:
        for i, (nodes, pods) in enumerate(sizes):
            rng = random.Random(args.seed + i)
            label = labels[i]
            print(f"[{label}] {nodes} nodes / {pods} pods", flush=True)
            natural = args.build == "natural" or pods <= 50
            cluster, built = build(label, nodes, pods, args, rng, natural=natural)
            print(census(cluster), flush=True)
            res = Result(label, nodes, pods, built)
            res.event_probe = event_lookup_probe(cluster)
            print(
                f"  event_record correlator lookup: {_common.fmt_ms(res.event_probe[0])} ms "
                f"(plan: {res.event_probe[1]})",
                flush=True,
            )
            t0 = time.perf_counter()
            res.ticks = steady_ticks(cluster, args.ticks, rng)
            s = summarise(res)
            print(
                f"  {args.ticks} steady ticks in {time.perf_counter() - t0:.0f}s: p50 {_common.fmt_ms(s['p50'])} ms, "
                f"max {_common.fmt_ms(s['max'])} ms",
                flush=True,
            )
            for count in delete_counts:
                if count <= pods:
                    t0 = time.perf_counter()
                    d = delete_and_recover(cluster, count, rng, s["plain_p50"], s["plain_q50"])
                    res.deletions.append((count, d))
                    print(
                        f"  delete {count}: {d['ticks']} ticks, {d['wall']:.2f}s "
                        f"({time.perf_counter() - t0:.0f}s incl. setup)",
                        flush=True,
                    )
            results.append(res)
            if not args.keep:
                Cluster.objects.filter(pk=cluster.pk).delete()
        report(results, args)
        print(f"\n(total run time {time.perf_counter() - total:.0f}s)")
    finally:
        _common.stop_redis()


if __name__ == "__main__":
    main()
