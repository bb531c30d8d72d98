"""Cluster lifecycle and the simulated clock: create, the demo cluster, speed/pause/step."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import transaction

from cluster import broadcast, k8s, timings
from cluster.models import Cluster
from cluster.services import store
from cluster.services.errors import AlreadyExists, Invalid, LimitExceeded
from cluster.services.ingress import cluster_addons_ensure
from cluster.services.networking import kubernetes_service_ensure
from cluster.services.nodes import node_add
from cluster.services.workloads import deployment_create

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
SYSTEM_ACTOR = "kube-apiserver"
BAD_SPEED = "speed must be between {lo}x and {hi}x"
BAD_PROFILE = "unknown timing profile {profile!r}; choose one of: {choices}"
BAD_STEP = "a step must be between 0.1 and 3600 simulated seconds"
TOO_MANY_CLUSTERS = "this installation already has {count} clusters, the limit is {limit}"

DEMO_NAME = "demo"
RESERVED_NAMES = ("import",)  # /clusters/import/ is the history upload
DEMO_IMAGE = "nginx:1.27"


def namespace_body(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def cluster_create(
    *,
    name: str,
    profile: str = "classroom",
    speed: float = 1.0,
    wall_now: float | None = None,
    dual_stack: bool = False,
    owner_id: int | None = None,
    sandbox_of_id: int | None = None,
    bare: bool = False,
) -> Cluster:
    """A new, empty cluster with the four initial namespaces; its clock starts at wall time.
    ``bare``: no objects at all (a fork copies them in).
    ``dual_stack``: IPv4 and IPv6 pod and Service ranges (fixed for the cluster's life, as
    the control plane's CIDR flags are)."""
    causes = [{"field": "name", "message": m} for m in k8s.name_errors(name, label=True)]
    if name in RESERVED_NAMES:
        causes.append({"field": "name", "message": f'"{name}" is reserved: choose another name'})
    if causes:
        raise Invalid(f'cluster name "{name}" is invalid: {causes[0]["message"]}', causes=causes)
    _check_profile(profile)
    _check_speed(speed)
    if Cluster.objects.filter(name=name).exists():
        raise AlreadyExists(f'cluster "{name}" already exists')
    count = Cluster.objects.count()
    if count >= settings.K8SVIZ_MAX_CLUSTERS:
        raise LimitExceeded(
            TOO_MANY_CLUSTERS.format(count=count, limit=settings.K8SVIZ_MAX_CLUSTERS)
        )
    now = time.time() if wall_now is None else wall_now
    with transaction.atomic():
        cluster = Cluster.objects.create(
            name=name,
            sim_now=float(int(now)),
            clock_wall=now,
            speed=speed,
            profile=profile,
            dual_stack=dual_stack,
            owner_id=owner_id,
            sandbox_of_id=sandbox_of_id,
            components={
                "kube-apiserver": True,
                "etcd": True,
                "kube-scheduler": True,
                "kube-controller-manager": True,
                "cloud-controller-manager": True,
            },
        )
        if bare:
            return cluster
        for ns in INITIAL_NAMESPACES:
            store.object_create(cluster=cluster, body=namespace_body(ns), actor=SYSTEM_ACTOR)
        kubernetes_service_ensure(cluster=cluster, actor=SYSTEM_ACTOR)
        cluster_addons_ensure(cluster=cluster, actor=SYSTEM_ACTOR)
    return cluster


def demo_cluster_ensure(
    *, name: str = DEMO_NAME, settle: bool = True, owner_id: int | None = None
) -> Cluster:
    """The demo cluster (see :func:`demo_cluster_create`), created if it does not exist."""
    existing = Cluster.objects.filter(name=name).first()
    if existing is not None:
        return existing
    return demo_cluster_create(name=name, settle=settle, owner_id=owner_id)


def demo_cluster_create(
    *,
    name: str = DEMO_NAME,
    settle: bool = True,
    dual_stack: bool = False,
    owner_id: int | None = None,
) -> Cluster:
    """A demo cluster: a control plane and three workers, an nginx Deployment with 6 replicas.

    With ``settle`` the simulation is run forward until everything is Running, so the
    dashboard opens on a healthy cluster. Raises ``AlreadyExists`` for a taken name.
    """
    cluster = cluster_create(name=name, dual_stack=dual_stack, owner_id=owner_id)
    node_add(cluster=cluster, name="control-plane", cpu="2", memory="4Gi", control_plane=True)
    for i in (1, 2, 3):
        node_add(cluster=cluster, name=f"node-{i}", cpu="2", memory="4Gi")
    deployment_create(
        cluster=cluster,
        name="nginx",
        image=DEMO_IMAGE,
        replicas=6,
        cpu_request="100m",
        memory_request="128Mi",
    )
    if settle:
        from cluster import reconcile  # noqa: PLC0415 - the runner depends on the services

        reconcile.run_until_settled(cluster_id=cluster.pk)
    return Cluster.objects.get(pk=cluster.pk)


def cluster_limits(cluster: Cluster) -> dict[str, float]:
    """The size limits of a cluster: a student's sandbox has smaller ones (so one student
    cannot starve the server), any other cluster the installation's."""
    if cluster.sandbox_of_id is not None:
        return {
            "nodes": settings.K8SVIZ_SANDBOX_MAX_NODES,
            "pods": settings.K8SVIZ_SANDBOX_MAX_PODS,
            "objects": settings.K8SVIZ_SANDBOX_MAX_OBJECTS,
            "speed": min(settings.K8SVIZ_SANDBOX_MAX_SPEED, timings.MAX_SPEED),
        }
    return {
        "nodes": settings.K8SVIZ_MAX_NODES,
        "pods": settings.K8SVIZ_MAX_PODS,
        "objects": 0,  # no limit beyond the others
        "speed": timings.MAX_SPEED,
    }


def _check_speed(speed: float, highest: float = timings.MAX_SPEED) -> None:
    if not timings.MIN_SPEED <= float(speed) <= highest:
        raise Invalid(BAD_SPEED.format(lo=timings.MIN_SPEED, hi=f"{highest:g}"))


def _check_profile(profile: str) -> None:
    if profile not in timings.TIMING_PROFILES:
        raise Invalid(
            BAD_PROFILE.format(profile=profile, choices=", ".join(timings.TIMING_PROFILES))
        )


def cluster_clock_update(
    *,
    cluster: Cluster,
    speed: float | None = None,
    paused: bool | None = None,
    profile: str | None = None,
    timing_overrides: dict | None = None,
    wall_now: float | None = None,
) -> Cluster:
    """Change speed, pause/resume, the timing profile or the per-cluster timing overrides.

    The clock is re-anchored at the current wall time so a change never makes simulated time
    jump. Switching to another profile clears the overrides (unless new ones come with it), so
    "Kubernetes defaults" always means the real values. Overrides replace the previous set.
    """
    now = time.time() if wall_now is None else wall_now
    with transaction.atomic():
        cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
        if speed is not None:
            _check_speed(speed, cluster_limits(cluster)["speed"])
            cluster.speed = float(speed)
        if profile is not None:
            _check_profile(profile)
            if profile != cluster.profile and timing_overrides is None:
                timing_overrides = {}  # a new profile starts from its own values
            cluster.profile = profile
        if timing_overrides is not None:
            errors = timings.override_errors(cluster.profile, timing_overrides)
            if errors:
                raise Invalid(
                    "invalid timings: " + ", ".join(f"{k} {m}" for k, m in sorted(errors.items())),
                    causes=[{"field": k, "message": m} for k, m in sorted(errors.items())],
                )
            cluster.timings = {k: float(v) for k, v in timing_overrides.items()}
        if paused is not None:
            cluster.paused = bool(paused)
        cluster.clock_wall = now
        cluster.save(update_fields=["speed", "profile", "timings", "paused", "clock_wall"])
        broadcast.send_clock(cluster)
        if paused is False:
            transaction.on_commit(lambda: _wake(cluster.pk))
    return cluster


def cluster_step(*, cluster: Cluster, seconds: float) -> Cluster:
    """Advance a paused cluster by ``seconds`` of simulated time on the next reconcile."""
    if not 0.1 <= float(seconds) <= 3600:
        raise Invalid(BAD_STEP)
    with transaction.atomic():
        cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
        cluster.step_pending += float(seconds)
        cluster.save(update_fields=["step_pending"])
        transaction.on_commit(lambda: _wake(cluster.pk))
    return cluster


SETTLE_BUDGET = 900.0  # simulated seconds "Until settled" may advance before giving up


def cluster_settle(*, cluster: Cluster) -> Cluster:
    """ "Step until settled": pause the clock, then (in a worker) advance it until every
    controller is idle, at most ``SETTLE_BUDGET`` simulated seconds; the worker tells every open
    dashboard how long it took (``tasks.settle_cluster``)."""
    with transaction.atomic():
        cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
        cluster.paused = True
        cluster.step_pending = 0.0
        cluster.clock_wall = time.time()
        cluster.save(update_fields=["paused", "step_pending", "clock_wall"])
        broadcast.send_clock(cluster)
        transaction.on_commit(lambda: _settle(cluster.pk))
    return cluster


def _settle(cluster_id: int) -> None:
    from cluster import tasks  # noqa: PLC0415 - tasks import the services

    tasks.settle_cluster.delay(cluster_id)


def _wake(cluster_id: int) -> None:
    from cluster import tasks  # noqa: PLC0415 - tasks import the services

    tasks.reconcile_cluster.delay(cluster_id)
