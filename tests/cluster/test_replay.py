"""Time travel (docs/replay.md): the state at any resourceVersion is rebuilt from the history's
base and the change log, equal to what the live dashboard showed; compaction and forks keep a
base so replay still works; a history exported to a file and imported elsewhere replays the
same states; bad files are refused with a reason."""

from __future__ import annotations

import json
import random
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cluster import history, reconcile, selectors, services
from cluster.models import Cluster, KubeObject
from cluster.services.history import history_export, history_import
from cluster.services.sandboxes import cluster_fork
from tests.cluster.sim import deploy_nginx, make_cluster, run

pytestmark = pytest.mark.django_db


def drawn(snapshot: dict) -> dict:
    """What the diagram draws, by object (events aside: the live snapshot caps them)."""
    return {
        (o["kind"], o.get("namespace", ""), o["name"]): o
        for o in snapshot["objects"]
        if o["kind"] != "Event"
    }


@pytest.fixture
def story():
    """A cluster with a history: settled nginx, then node-2 powered off for a minute. Returns
    the cluster and the rv just before the power-off."""
    rng = random.Random(5)
    cluster = deploy_nginx(make_cluster(), rng)
    cluster.refresh_from_db()
    before = cluster.resource_version
    services.node_power_off(cluster=cluster, name="node-2")
    run(cluster, 60, rng)
    cluster.refresh_from_db()
    return cluster, before


def machine_powered(snapshot: dict, name: str) -> bool:
    return drawn(snapshot)[("Machine", "", name)]["powered"]


def test_the_last_replayed_state_is_the_live_one(story) -> None:
    cluster, _ = story
    live = selectors.snapshot(cluster=cluster)
    replayed = history.replay_snapshot(cluster=cluster, rv=cluster.resource_version)
    assert replayed["rv"] == live["rv"]
    assert drawn(replayed) == drawn(live)


def test_an_earlier_state_is_the_one_the_class_saw_then(story) -> None:
    cluster, before = story
    then = history.replay_snapshot(cluster=cluster, rv=before)
    now = history.replay_snapshot(cluster=cluster, rv=cluster.resource_version)
    assert machine_powered(then, "node-2") and not machine_powered(now, "node-2")
    span = history.history_range(cluster=cluster)
    assert span["first"] == 1 and span["last"] == cluster.resource_version
    assert span["firstTime"] <= then["cluster"]["simNow"] <= now["cluster"]["simNow"]
    # Out of range asks are clamped to the history.
    assert history.replay_snapshot(cluster=cluster, rv=10**9)["rv"] == cluster.resource_version


def test_compaction_keeps_a_base_so_replay_still_works(story) -> None:
    cluster, before = story
    expected = drawn(history.replay_snapshot(cluster=cluster, rv=before + 5))
    reconcile.compact(cluster, keep=cluster.resource_version - before)
    cluster.refresh_from_db()
    assert cluster.compacted_rv == before
    assert history.history_range(cluster=cluster)["first"] == before
    assert drawn(history.replay_snapshot(cluster=cluster, rv=before + 5)) == expected
    live = selectors.snapshot(cluster=cluster)
    assert drawn(history.replay_snapshot(cluster=cluster, rv=cluster.resource_version)) == drawn(
        live
    )


def test_a_fork_replays_from_the_fork(story) -> None:
    cluster, _ = story
    fork = cluster_fork(source=cluster, name="copy")
    services.node_power_on(cluster=fork, name="node-2")
    fork.refresh_from_db()
    span = history.history_range(cluster=fork)
    assert span["first"] == cluster.resource_version and span["available"]
    at_fork = history.replay_snapshot(cluster=fork, rv=span["first"])
    assert not machine_powered(at_fork, "node-2")
    assert machine_powered(history.replay_snapshot(cluster=fork, rv=span["last"]), "node-2")


def test_an_exported_history_imports_and_replays_the_same(story) -> None:
    cluster, before = story
    raw = json.dumps(history_export(cluster=cluster)).encode()
    copy = history_import(raw=raw, name="imported")
    assert copy.paused and copy.resource_version == cluster.resource_version
    for rv in (before - 20, before, before + 10, cluster.resource_version):
        assert (
            drawn(history.replay_snapshot(cluster=copy, rv=rv)).keys()
            == drawn(history.replay_snapshot(cluster=cluster, rv=rv)).keys()
        )
        assert machine_powered(history.replay_snapshot(cluster=copy, rv=rv), "node-2") == (
            machine_powered(history.replay_snapshot(cluster=cluster, rv=rv), "node-2")
        )
    originals = set(KubeObject.objects.filter(cluster=cluster).values_list("uid", flat=True))
    copies = set(KubeObject.objects.filter(cluster=copy).values_list("uid", flat=True))
    assert copies and not originals & copies
    assert (
        KubeObject.objects.filter(cluster=copy).count()
        == KubeObject.objects.filter(cluster=cluster).count()
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not a k8sviz history file (not JSON"),
        (b'{"format": "other"}', '"format" must be "k8sviz-history/v1"'),
        (
            b'{"format": "k8sviz-history/v1", "base": {"objects": []}, '
            b'"changes": [{"rv": 2}, {"rv": 1}]}',
            "changes[0] is not a change in resourceVersion order",
        ),
    ],
)
def test_bad_history_files_are_refused(raw, message) -> None:
    with pytest.raises(services.ServiceError) as err:
        history_import(raw=raw, name="x")
    assert message in str(err.value)
    assert not Cluster.objects.filter(name="x").exists()


def test_replay_pages_export_and_import(client, story) -> None:
    cluster, before = story
    page = client.get(f"/clusters/{cluster.name}/replay/").content.decode()
    assert 'data-testid="replay-scrubber"' in page and f'max="{cluster.resource_version}"' in page
    assert 'data-live="false"' in page
    snap = client.get(f"/clusters/{cluster.name}/replay/at/?rv={before}").json()
    assert snap["rv"] == before and machine_powered(snap, "node-2")
    assert client.get(f"/clusters/{cluster.name}/replay/at/?rv=soon").status_code == 400
    exported = client.get(f"/clusters/{cluster.name}/history/")
    assert exported["Content-Disposition"] == f'attachment; filename="{cluster.name}-history.json"'
    upload = SimpleUploadedFile("h.json", exported.content, content_type="application/json")
    made = client.post("/clusters/import/", {"name": "again", "file": upload})
    assert made.status_code == 302 and made["Location"] == "/clusters/again/replay/"
    taken = client.post(
        "/clusters/import/",
        {"name": "again", "file": SimpleUploadedFile("h.json", exported.content)},
    )
    assert taken.status_code == 409 and 'cluster "again" already exists' in unescape(
        taken.content.decode()
    )
    reserved = client.post(
        "/clusters/import/",
        {"name": "import", "file": SimpleUploadedFile("h.json", exported.content)},
    )
    assert reserved.status_code == 422 and "reserved" in unescape(reserved.content.decode())


def test_only_who_may_create_clusters_imports(client, settings, story) -> None:
    settings.K8SVIZ_OPEN_ACCESS = False
    cluster, _ = story
    raw = json.dumps(history_export(cluster=cluster)).encode()
    refused = client.post(
        "/clusters/import/", {"name": "sneaky", "file": SimpleUploadedFile("h.json", raw)}
    )
    assert refused.status_code == 403 and not Cluster.objects.filter(name="sneaky").exists()
