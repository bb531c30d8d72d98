"""Server-side apply without a request (``writes.apply_configuration``), the write both the API's
apply PATCH and the dashboard's YAML panel use: a race with another writer is retried, a
resourceVersion in the configuration is a precondition."""

from __future__ import annotations

import pytest

from cluster import services
from cluster.api import writes
from cluster.api.resources import RESOURCES
from cluster.models import Cluster, KubeObject
from cluster.services import errors, objects

pytestmark = pytest.mark.django_db

DEPLOYMENTS = next(r for r in RESOURCES if r.kind == "Deployment")


@pytest.fixture
def cluster() -> Cluster:
    return services.demo_cluster_ensure(name="demo", settle=False)


def scale_to(replicas: int, **metadata: str) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx", **metadata},
        "spec": {"replicas": replicas},
    }


def apply(cluster: Cluster, config: dict):
    return writes.apply_configuration(
        cluster=cluster,
        res=DEPLOYMENTS,
        namespace="default",
        name="nginx",
        applied=config,
        manager="test",
        force=True,
        actor="user",
    )


def test_a_write_in_between_is_retried_on_the_new_object(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    replace = objects.object_replace
    raced = []

    def racing_replace(**kwargs):
        if not raced:  # another writer gets in between, once
            raced.append(True)
            services.deployment_scale(
                cluster=cluster, namespace="default", name="nginx", replicas=2
            )
        return replace(**kwargs)

    monkeypatch.setattr(objects, "object_replace", racing_replace)

    obj, created = apply(cluster, scale_to(4))

    assert not created
    assert obj.body["spec"]["replicas"] == 4
    assert raced


def test_a_stale_resource_version_in_the_configuration_is_a_conflict(cluster: Cluster) -> None:
    rv = KubeObject.objects.get(cluster=cluster, kind="Deployment", name="nginx").resource_version
    services.deployment_scale(cluster=cluster, namespace="default", name="nginx", replicas=2)

    with pytest.raises(errors.Conflict):
        apply(cluster, scale_to(4, resourceVersion=str(rv)))

    body = KubeObject.objects.get(cluster=cluster, kind="Deployment", name="nginx").body
    assert body["spec"]["replicas"] == 2
