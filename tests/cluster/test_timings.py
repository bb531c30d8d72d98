"""Per-cluster timings: profiles, overrides and their validation (pure and through the service)."""

from __future__ import annotations

import pytest

from cluster import reconcile, services, timings
from cluster.models import Cluster, KubeObject


def test_resolve_puts_overrides_on_the_profile() -> None:
    t = timings.resolve("kubernetes", {"default_toleration_seconds": 60, "nonsense": 1})
    assert t["default_toleration_seconds"] == 60.0
    assert t["node_monitor_grace_period"] == 50.0
    assert "nonsense" not in t


def test_every_timing_is_described() -> None:
    assert set(timings.DESCRIPTIONS) == set(timings.KUBERNETES)


@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({}, {}),
        ({"image_pull_seconds": 0}, {}),
        ({"image_pull_seconds": "2.5"}, {}),
        ({"warp": 1}, {"warp": "unknown timing"}),
        ({"lease_duration": "x"}, {"lease_duration": "must be a number of seconds"}),
        ({"lease_duration": None}, {"lease_duration": "must be a number of seconds"}),
        ({"event_ttl": float("nan")}, {"event_ttl": "must be between 0 and 86400 seconds"}),
        ({"event_ttl": 86401}, {"event_ttl": "must be between 0 and 86400 seconds"}),
        ({"node_monitor_period": 0}, {"node_monitor_period": "must be greater than 0"}),
        (
            {"lease_duration": 8},  # classroom renews every 3 s: still fine
            {},
        ),
        (
            {"lease_duration": 3},
            {"lease_renew_interval": "must be shorter than the lease duration"},
        ),
        (
            {"scheduler_backoff_initial": 20},
            {"scheduler_backoff_initial": "must not exceed the maximum back-off"},
        ),
    ],
)
def test_override_errors(overrides: dict, errors: dict) -> None:
    assert timings.override_errors("classroom", overrides) == errors


@pytest.mark.django_db
def test_overrides_drive_the_simulation_and_a_new_profile_clears_them() -> None:
    cluster = services.cluster_create(name="t", profile="kubernetes", wall_now=0.0)
    services.cluster_clock_update(
        cluster=cluster, timing_overrides={"default_toleration_seconds": 30}, wall_now=0.0
    )
    cluster.refresh_from_db()
    assert timings.resolve(cluster.profile, cluster.timings)["default_toleration_seconds"] == 30
    # New pods get the overridden DefaultTolerationSeconds.
    services.node_add(cluster=cluster, name="node-1")
    services.deployment_create(cluster=cluster, name="web", image="nginx", replicas=1)
    reconcile.run_until_settled(cluster_id=cluster.pk)

    pod = KubeObject.objects.get(cluster=cluster, kind="Pod")
    seconds = {t["key"]: t.get("tolerationSeconds") for t in pod.body["spec"]["tolerations"]}
    assert seconds["node.kubernetes.io/unreachable"] == 30

    cluster = services.cluster_clock_update(cluster=cluster, profile="classroom", wall_now=0.0)
    assert Cluster.objects.get(pk=cluster.pk).timings == {}


@pytest.mark.django_db
def test_the_service_rejects_bad_overrides_with_causes() -> None:
    cluster = services.cluster_create(name="t", wall_now=0.0)
    with pytest.raises(services.Invalid) as err:
        services.cluster_clock_update(cluster=cluster, timing_overrides={"event_ttl": -5})
    assert err.value.causes == [
        {"field": "event_ttl", "message": "must be between 0 and 86400 seconds"}
    ]
    assert Cluster.objects.get(pk=cluster.pk).timings == {}
