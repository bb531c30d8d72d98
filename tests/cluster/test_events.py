"""Events: client-go's correlator aggregates repeats; looking a repeat up stays one index seek."""

from __future__ import annotations

import pytest
from django.db import connection

from cluster import services
from cluster.models import KubeObject
from cluster.services import k8s_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def cluster():
    return services.cluster_create(name="ev", wall_now=0.0)


def pod_body(name: str) -> dict:
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
    }


def record(cluster, pod: str, reason: str = "Pulled"):
    return services.event_record(
        cluster=cluster, involved=pod_body(pod), reason=reason, message="done", component="kubelet"
    )


def test_a_repeat_within_ten_minutes_is_aggregated(cluster) -> None:
    first = record(cluster, "web-1")
    cluster.sim_now += 120
    again = record(cluster, "web-1")
    assert again.pk == first.pk
    assert again.body["count"] == 2
    assert KubeObject.objects.filter(cluster=cluster, kind="Event").count() == 1


def test_a_repeat_after_the_window_is_a_new_event(cluster) -> None:
    first = record(cluster, "web-1")
    cluster.sim_now += k8s_events.AGGREGATE_WINDOW + 1
    later = record(cluster, "web-1")
    assert later.pk != first.pk
    cluster.sim_now += 60
    assert record(cluster, "web-1").pk == later.pk  # the newest one aggregates


def test_other_objects_or_reasons_are_separate_events(cluster) -> None:
    record(cluster, "web-1")
    record(cluster, "web-2")
    record(cluster, "web-1", reason="Started")
    assert KubeObject.objects.filter(cluster=cluster, kind="Event").count() == 3


def test_the_correlator_lookup_uses_the_search_key_index(cluster) -> None:
    """Not a timing: the query plan. Ordering by stamp used to make the database walk every
    Event of the cluster for a new key, so each Event's cost grew with the cluster's history."""
    for i in range(30):
        record(cluster, f"web-{i}")
    query = k8s_events._same_key(cluster, "0" * 40)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE cluster_kubeobject")  # the statistics a live database has
            cur.execute("SET LOCAL enable_seqscan = off")  # tiny table: judge the index choice
    plan = query.explain()
    assert "obj_search_key" in plan, plan
