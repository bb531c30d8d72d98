"""Builders and readers shared by the in-process simulation tests (an injected clock and a
seeded RNG, no Celery): a cluster of one control plane and three workers, running it forward,
and the usual questions asked of it afterwards."""

from __future__ import annotations

import random

from cluster import k8s, reconcile, services
from cluster.models import Cluster, KubeObject

T0 = 1_800_000_000.0


def make_cluster(profile: str = "kubernetes") -> Cluster:
    cluster = services.cluster_create(name="t", profile=profile, wall_now=T0)
    services.node_add(cluster=cluster, name="control-plane", control_plane=True)
    for i in (1, 2, 3):
        services.node_add(cluster=cluster, name=f"node-{i}")
    return cluster


def run(cluster: Cluster, seconds: float, rng: random.Random) -> None:
    reconcile.run_to(cluster, cluster.sim_now + seconds, rng)


def deploy_nginx(cluster: Cluster, rng: random.Random, *, replicas: int = 6) -> Cluster:
    """The usual workload (100m / 128Mi per pod), run until it has settled."""
    services.deployment_create(
        cluster=cluster,
        name="nginx",
        image="nginx:1.27",
        replicas=replicas,
        cpu_request="100m",
        memory_request="128Mi",
    )
    run(cluster, 30, rng)
    return cluster


def pods(cluster: Cluster) -> list[KubeObject]:
    return list(KubeObject.objects.filter(cluster=cluster, kind="Pod").order_by("name"))


def running_ready(cluster: Cluster) -> list[KubeObject]:
    return [
        p
        for p in pods(cluster)
        if p.phase == "Running" and not p.deleting and k8s.pod_is_ready(p.body)
    ]


def node(cluster: Cluster, name: str) -> KubeObject:
    return KubeObject.objects.get(cluster=cluster, kind="Node", name=name)


def events(cluster: Cluster, *, name: str | None = None) -> list[dict]:
    bodies = KubeObject.objects.filter(cluster=cluster, kind="Event").values_list("body", flat=True)
    return [b for b in bodies if name is None or b["involvedObject"]["name"] == name]


def reasons(cluster: Cluster, *, name: str | None = None) -> list[str]:
    """Event reasons, repeated by count (the recorder aggregates identical events)."""
    return [e["reason"] for e in events(cluster, name=name) for _ in range(e.get("count") or 1)]
