"""Watch: the stream itself (in-process, against the real database and the Redis channel layer)
and end to end with the official Python client and real ``kubectl get -w`` over TLS."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from cluster import services
from cluster.api import selection, watch
from cluster.models import Cluster, KubeObject
from cluster.services import store

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def request(cluster: Cluster, kind: str = "Pod", **overrides) -> watch.WatchRequest:
    labels = overrides.pop("labels", "")
    fields = overrides.pop("fields", "")
    values = {
        "cluster": cluster,
        "kind": kind,
        "api_version": "v1",
        "namespace": "default" if kind == "Pod" else None,
        "labels": selection.parse_label_selector(labels),
        "fields": selection.parse_field_selector(fields, kind=kind),
        "since": None,
        "bookmarks": False,
        "timeout": 1.5,
        **overrides,
    }
    return watch.WatchRequest(**values)


def collect(req: watch.WatchRequest, during=None, *, after: float = 0.3) -> list[dict]:
    """Run the stream to its timeout; ``during`` (a sync function) runs once it has started."""

    async def main() -> list[dict]:
        events: list[dict] = []

        async def consume() -> None:
            async for line in watch.stream(req):
                if line:  # the first chunk is empty: it only makes the server send headers
                    events.append(json.loads(line))

        task = asyncio.create_task(consume())
        await asyncio.sleep(after)
        if during is not None:
            await sync_to_async(during, thread_sensitive=False)()
        await task
        return events

    return asyncio.run(main())


def kinds_and_names(events: list[dict]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"].get("name", "")) for e in events]


def pod_names(cluster: Cluster) -> list[str]:
    return list(
        KubeObject.objects.filter(cluster=cluster, kind="Pod", namespace="default")
        .order_by("name")
        .values_list("name", flat=True)
    )


def test_initial_state_then_changes(demo: Cluster) -> None:
    """No resourceVersion: one ADDED per current pod, then the changes as they commit."""
    names = pod_names(demo)
    victim = names[0]

    def delete() -> None:
        services.pod_delete(cluster=demo, namespace="default", name=victim, grace_period=0)

    events = collect(request(demo), delete)
    assert kinds_and_names(events) == [("ADDED", n) for n in names] + [("DELETED", victim)]


def test_resume_sends_only_newer_changes(demo: Cluster) -> None:
    demo.refresh_from_db()
    since = demo.resource_version
    services.node_cordon(cluster=demo, name="node-1")
    events = collect(request(demo, "Node", since=since, api_version="v1"))
    assert kinds_and_names(events) == [("MODIFIED", "node-1")]
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) > since


def test_compacted_history_is_410_expired(demo: Cluster) -> None:
    Cluster.objects.filter(pk=demo.pk).update(compacted_rv=50)
    events = collect(request(demo, since=10))
    assert [e["type"] for e in events] == ["ERROR"]
    error = events[0]["object"]
    assert (error["kind"], error["code"], error["reason"]) == ("Status", 410, "Expired")
    assert error["message"] == "too old resource version: 10 (50)"


def test_selectors_see_objects_enter_and_leave(demo: Cluster) -> None:
    """A pod relabelled out of the selector arrives as DELETED, back in as ADDED."""
    demo.refresh_from_db()
    since = demo.resource_version
    name = pod_names(demo)[0]
    pod = KubeObject.objects.get(cluster=demo, kind="Pod", namespace="default", name=name)
    pod.cluster = demo
    pod.body["metadata"]["labels"]["app"] = "elsewhere"
    store.object_update(obj=pod, actor="test")
    pod.body["metadata"]["labels"]["team"] = "x"
    store.object_update(obj=pod, actor="test")  # still outside: nothing
    pod.body["metadata"]["labels"]["app"] = "nginx"
    store.object_update(obj=pod, actor="test")
    events = collect(request(demo, since=since, labels="app=nginx"))
    assert kinds_and_names(events) == [("DELETED", name), ("ADDED", name)]


def test_field_selector_on_node_name(demo: Cluster) -> None:
    """``spec.nodeName=node-1`` (what kubectl drain lists): only that node's pods."""
    on_node = set(
        KubeObject.objects.filter(cluster=demo, kind="Pod", node_name="node-1").values_list(
            "name", flat=True
        )
    )
    events = collect(request(demo, fields="spec.nodeName=node-1", timeout=0.5))
    assert {name for _, name in kinds_and_names(events)} == on_node


def test_bookmarks_carry_the_current_resource_version(demo: Cluster) -> None:
    demo.refresh_from_db()
    since = demo.resource_version
    services.node_cordon(cluster=demo, name="node-2")  # a Node change: not this watch's kind
    events = collect(request(demo, since=since, bookmarks=True, bookmark_every=0.4, timeout=1.0))
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert bookmarks and all(e["type"] == "BOOKMARK" for e in events)
    assert bookmarks[0]["object"] == {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": str(since + 1)},
    }


def test_table_watch_sends_columns_once(demo: Cluster) -> None:
    events = collect(request(demo, table_include="Metadata", timeout=0.5))
    assert all(e["object"]["kind"] == "Table" for e in events)
    assert len(events[0]["object"]["columnDefinitions"]) == 9
    assert all(e["object"]["columnDefinitions"] is None for e in events[1:])
    assert all(len(e["object"]["rows"]) == 1 for e in events)


# --- end to end ----------------------------------------------------------------------------------


def test_python_client_watch(kubeconfig: Path, demo: Cluster) -> None:
    """``watch.Watch().stream``: the initial ADDED events, a live change, the server's timeout."""
    from kubernetes import client, config
    from kubernetes import watch as k8s_watch

    api_client = config.new_client_from_config(config_file=str(kubeconfig))
    seen = []
    try:
        nodes = client.CoreV1Api(api_client).list_node
        for event in k8s_watch.Watch().stream(nodes, timeout_seconds=3):
            seen.append(
                (event["type"], event["object"].metadata.name, event["object"].spec.unschedulable)
            )
            if len(seen) == 4:
                services.node_cordon(cluster=demo, name="node-3")
    finally:
        api_client.close()
    assert seen[:4] == [
        ("ADDED", "control-plane", None),
        ("ADDED", "node-1", None),
        ("ADDED", "node-2", None),
        ("ADDED", "node-3", None),
    ]
    assert ("MODIFIED", "node-3", True) in seen[4:]


def test_python_client_watch_expired(kubeconfig: Path, demo: Cluster) -> None:
    from kubernetes import client, config
    from kubernetes import watch as k8s_watch

    Cluster.objects.filter(pk=demo.pk).update(compacted_rv=40)
    api_client = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        with pytest.raises(client.ApiException) as expired:
            list(
                k8s_watch.Watch().stream(
                    client.CoreV1Api(api_client).list_node, resource_version="5", timeout_seconds=2
                )
            )
    finally:
        api_client.close()
    assert expired.value.status == 410


def test_kubectl_get_pods_watch(kubectl_popen, demo: Cluster) -> None:
    """``kubectl get pods -w``: the table, then a row per change (here a pod going away)."""
    victim = pod_names(demo)[0]
    with kubectl_popen("get", "pods", "-w") as proc:
        header = proc.stdout.readline().split()
        assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        first = [proc.stdout.readline().split()[0] for _ in range(6)]
        assert first == pod_names(demo)
        pod = KubeObject.objects.get(cluster=demo, kind="Pod", name=victim)
        services.pod_delete(cluster=demo, pod=pod)  # graceful: Terminating first
        row = proc.stdout.readline().split()
        assert (row[0], row[2]) == (victim, "Terminating")
        proc.terminate()


def test_kubectl_get_one_deployment_watch(kubectl_popen, demo: Cluster) -> None:
    """``kubectl get deploy nginx -w``: the GET, then a watch by metadata.name whose first
    (synthetic ADDED) event kubectl swallows; the scale shows up as the next row."""
    with kubectl_popen("get", "deploy", "nginx", "-w") as proc:
        assert proc.stdout.readline().split()[:2] == ["NAME", "READY"]
        assert proc.stdout.readline().split()[:2] == ["nginx", "6/6"]
        time.sleep(1.0)
        services.deployment_scale(cluster=demo, namespace="default", name="nginx", replicas=8)
        assert proc.stdout.readline().split()[:2] == ["nginx", "6/8"]
        proc.terminate()
