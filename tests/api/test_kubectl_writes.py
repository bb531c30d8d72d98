"""Real ``/usr/bin/kubectl`` changing the simulated cluster over TLS, with a Celery worker and
beat reconciling, so each command's effect plays out as it would on a cluster: create, apply
(client- and server-side), scale, set image, label, patch, replace, delete (which waits through
a watch), cordon/drain/uncordon (evictions), rollout restart/status, logs."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
import yaml

from cluster.models import Change, Cluster, KubeObject

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DEPLOYMENT = textwrap.dedent(
    """
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
      labels: {app: web}
    spec:
      replicas: 2
      selector:
        matchLabels: {app: web}
      template:
        metadata:
          labels: {app: web}
        spec:
          containers:
          - name: web
            image: nginx:1.27
            ports:
            - containerPort: 80
            resources:
              requests: {cpu: 100m, memory: 64Mi}
    """
)


@pytest.fixture
def cluster(kubectl, celery_worker_proc) -> Cluster:
    """The settled demo cluster, reconciled live by a worker while kubectl talks to it."""
    return Cluster.objects.get(name="demo")


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "web.yaml"
    path.write_text(DEPLOYMENT)
    return path


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def body(cluster: Cluster, kind: str, name: str, namespace: str = "default") -> dict | None:
    return (
        KubeObject.objects.filter(cluster=cluster, kind=kind, name=name, namespace=namespace)
        .values_list("body", flat=True)
        .first()
    )


def running_pods(cluster: Cluster, app: str) -> list[dict]:
    return [
        b
        for b in KubeObject.objects.filter(
            cluster=cluster, kind="Pod", phase="Running"
        ).values_list("body", flat=True)
        if (b["metadata"].get("labels") or {}).get("app") == app
        and not b["metadata"].get("deletionTimestamp")
    ]


def test_create_apply_scale_set_image_rollout(kubectl, cluster, manifest: Path) -> None:
    """The everyday loop: create -f, apply (unchanged, then configured), scale, set image,
    rollout status until the new ReplicaSet's pods are all available."""
    assert ok(kubectl("create", "-f", str(manifest))) == "deployment.apps/web created"
    wait_for(lambda: len(running_pods(cluster, "web")) == 2, what="2 web pods running")

    assert ok(kubectl("apply", "-f", str(manifest))).startswith("deployment.apps/web")
    rv = int(body(cluster, "Deployment", "web")["metadata"]["resourceVersion"])
    # The same manifest again is a no-op: kubectl computes an empty patch and sends nothing.
    # (The Deployment controller may still write its status meanwhile: that is not kubectl.)
    assert ok(kubectl("apply", "-f", str(manifest))) == "deployment.apps/web unchanged"
    after = Change.objects.filter(cluster=cluster, kind="Deployment", name="web", rv__gt=rv)
    assert not after.filter(actor="kubectl").exists()
    manifest.write_text(DEPLOYMENT.replace("replicas: 2", "replicas: 3"))
    assert ok(kubectl("apply", "-f", str(manifest))) == "deployment.apps/web configured"
    assert after.filter(actor="kubectl").exists()  # the check above can tell
    stored = body(cluster, "Deployment", "web")
    assert stored["spec"]["replicas"] == 3
    container = stored["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"containerPort": 80}]  # strategic merge kept the list

    assert ok(kubectl("scale", "deploy/web", "--replicas=4")) == "deployment.apps/web scaled"
    assert body(cluster, "Deployment", "web")["spec"]["replicas"] == 4

    assert ok(kubectl("set", "image", "deploy/web", "web=nginx:1.28")) == (
        "deployment.apps/web image updated"
    )
    container = body(cluster, "Deployment", "web")["spec"]["template"]["spec"]["containers"][0]
    assert (container["image"], container["resources"]["requests"]["cpu"]) == ("nginx:1.28", "100m")
    rollout = kubectl("rollout", "status", "deploy/web", "--timeout=90s")
    assert ok(rollout).endswith('deployment "web" successfully rolled out')
    images = {p["spec"]["containers"][0]["image"] for p in running_pods(cluster, "web")}
    assert images == {"nginx:1.28"}


def test_apply_server_side_creates_then_conflicts(kubectl, cluster, manifest: Path) -> None:
    out = ok(kubectl("apply", "--server-side", "-f", str(manifest)))
    assert out == "deployment.apps/web serverside-applied"
    managers = [
        m["manager"] for m in body(cluster, "Deployment", "web")["metadata"]["managedFields"]
    ]
    assert managers == ["kubectl"]
    ok(kubectl("scale", "deploy/web", "--replicas=5"))
    manifest.write_text(DEPLOYMENT.replace("replicas: 2", "replicas: 3"))
    refused = kubectl("apply", "--server-side", "-f", str(manifest))
    assert refused.returncode == 1
    assert 'conflict with "kubectl"' in refused.stderr and ".spec.replicas" in refused.stderr
    forced = kubectl("apply", "--server-side", "--force-conflicts", "-f", str(manifest))
    assert ok(forced) == "deployment.apps/web serverside-applied"
    assert body(cluster, "Deployment", "web")["spec"]["replicas"] == 3


def test_label_annotate_patch_replace(kubectl, cluster, tmp_path: Path) -> None:
    assert (
        ok(kubectl("label", "deploy", "nginx", "tier=frontend")) == "deployment.apps/nginx labeled"
    )
    ok(kubectl("annotate", "deploy", "nginx", "owner=teacher"))
    ok(kubectl("patch", "deploy", "nginx", "--type=merge", "-p", '{"spec":{"minReadySeconds":5}}'))
    ok(
        kubectl(
            "patch",
            "deploy",
            "nginx",
            "--type=json",
            "-p",
            '[{"op":"replace","path":"/spec/revisionHistoryLimit","value":3}]',
        )
    )
    stored = body(cluster, "Deployment", "nginx")
    assert stored["metadata"]["labels"]["tier"] == "frontend"
    assert stored["metadata"]["annotations"]["owner"] == "teacher"
    assert (stored["spec"]["minReadySeconds"], stored["spec"]["revisionHistoryLimit"]) == (5, 3)

    bad = kubectl(
        "patch", "deploy", "nginx", "--type=json", "-p", '[{"op":"test","path":"/x","value":1}]'
    )
    assert bad.returncode == 1 and "The request is invalid" in bad.stderr

    # get, edit, replace: the Deployment controller may write the object in between (the
    # patches above start its work), so, as a client does, a Conflict means get and edit again.
    path = tmp_path / "nginx.yaml"
    for _attempt in range(5):
        current = yaml.safe_load(ok(kubectl("get", "deploy", "nginx", "-o", "yaml")))
        current["spec"]["replicas"] = 7
        path.write_text(yaml.safe_dump(current))
        replaced = kubectl("replace", "-f", str(path))
        if "Error from server (Conflict)" not in replaced.stderr:
            break
    assert ok(replaced) == "deployment.apps/nginx replaced"
    stale = kubectl("replace", "-f", str(path))  # the resourceVersion in the file is old now
    assert stale.returncode == 1
    assert "Error from server (Conflict)" in stale.stderr
    assert "the object has been modified" in stale.stderr


def test_invalid_manifest_prints_the_api_servers_reasons(kubectl, cluster, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(DEPLOYMENT.replace("name: web\n  labels", "name: Web_Bad\n  labels"))
    result = kubectl("create", "-f", str(path))
    assert result.returncode == 1
    assert 'The Deployment "Web_Bad" is invalid' in result.stderr
    assert "metadata.name: Invalid value" in result.stderr


def test_delete_waits_for_graceful_termination(kubectl, cluster) -> None:
    """kubectl delete pod waits (GET, then a watch by name) until the kubelet has stopped the
    containers and the pod is gone."""
    pod = running_pods(cluster, "nginx")[0]["metadata"]["name"]
    result = kubectl("delete", "pod", pod, "--timeout=60s")
    assert ok(result) == f'pod "{pod}" deleted'
    assert body(cluster, "Pod", pod) is None
    wait_for(lambda: len(running_pods(cluster, "nginx")) == 6, what="a replacement pod")


def test_delete_deployment_cascades(kubectl, cluster) -> None:
    assert ok(kubectl("delete", "deploy", "nginx")) == 'deployment.apps "nginx" deleted'
    wait_for(
        lambda: (
            not KubeObject.objects.filter(
                cluster=cluster, kind__in=["ReplicaSet", "Pod"], namespace="default"
            ).exists()
        ),
        what="the ReplicaSet and pods collected",
    )


def test_cordon_drain_uncordon(kubectl, cluster) -> None:
    on_node = {
        b["metadata"]["name"]
        for b in KubeObject.objects.filter(
            cluster=cluster, kind="Pod", node_name="node-1"
        ).values_list("body", flat=True)
    }
    assert on_node, "the demo cluster runs pods on node-1"
    assert ok(kubectl("cordon", "node-1")) == "node/node-1 cordoned"
    assert body(cluster, "Node", "node-1", "")["spec"]["unschedulable"] is True
    drained = ok(kubectl("drain", "node-1", "--ignore-daemonsets", "--timeout=90s"))
    assert drained.endswith("node/node-1 drained")
    for name in on_node:
        assert f"pod/{name} evicted" in drained
    assert not KubeObject.objects.filter(cluster=cluster, kind="Pod", node_name="node-1").exists()
    wait_for(lambda: len(running_pods(cluster, "nginx")) == 6, what="replacements elsewhere")
    assert ok(kubectl("uncordon", "node-1")) == "node/node-1 uncordoned"
    assert "unschedulable" not in body(cluster, "Node", "node-1", "")["spec"]


def test_logs(kubectl, cluster) -> None:
    pod = running_pods(cluster, "nginx")[0]["metadata"]["name"]
    out = ok(kubectl("logs", pod))
    assert "start worker processes" in out
    assert ok(kubectl("logs", "deploy/nginx", "--tail=1")).endswith("start worker processes")


def test_delete_with_cascade_orphan_keeps_the_replicaset(kubectl, cluster) -> None:
    out = ok(kubectl("delete", "deploy", "nginx", "--cascade=orphan"))
    assert out == 'deployment.apps "nginx" deleted'
    [rs] = KubeObject.objects.filter(cluster=cluster, kind="ReplicaSet")
    assert "ownerReferences" not in rs.body["metadata"]
    assert len(running_pods(cluster, "nginx")) == 6


def test_namespace_lifecycle(kubectl, cluster, tmp_path: Path) -> None:
    """A namespace made with apply, a deployment in it, then `kubectl delete ns` waits while
    the namespace controller empties it (phase Terminating), as on a real cluster."""
    ns = tmp_path / "ns.yaml"
    ns.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n")
    assert ok(kubectl("apply", "-f", str(ns))) == "namespace/team-a created"
    manifest = tmp_path / "api.yaml"
    manifest.write_text(DEPLOYMENT.replace("name: web\n", "name: api\n  namespace: team-a\n", 1))
    ok(kubectl("apply", "-f", str(manifest)))
    wait_for(
        lambda: (
            KubeObject.objects.filter(
                cluster=cluster, kind="Pod", namespace="team-a", phase="Running"
            ).count()
            == 2
        ),
        what="team-a pods running",
    )
    assert ok(kubectl("delete", "ns", "team-a", "--timeout=90s")) == 'namespace "team-a" deleted'
    assert not KubeObject.objects.filter(cluster=cluster, namespace="team-a").exists()
    refused = kubectl("delete", "ns", "default")
    assert refused.returncode == 1
    assert "this namespace may not be deleted" in refused.stderr


def test_rollout_history_and_undo(kubectl, cluster) -> None:
    """rollout undo sends a JSON patch of the previous ReplicaSet's template."""
    ok(kubectl("set", "image", "deploy/nginx", "nginx=nginx:1.28"))
    ok(kubectl("rollout", "status", "deploy/nginx", "--timeout=90s"))
    history = ok(kubectl("rollout", "history", "deploy/nginx"))
    assert [line.split()[0] for line in history.splitlines()[2:]] == ["1", "2"]
    assert ok(kubectl("rollout", "undo", "deploy/nginx")) == "deployment.apps/nginx rolled back"
    ok(kubectl("rollout", "status", "deploy/nginx", "--timeout=90s"))
    container = body(cluster, "Deployment", "nginx")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.27"
    assert ok(kubectl("rollout", "restart", "deploy/nginx")) == "deployment.apps/nginx restarted"
    template = body(cluster, "Deployment", "nginx")["spec"]["template"]
    assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]
    ok(kubectl("rollout", "status", "deploy/nginx", "--timeout=90s"))


def test_python_client_writes(kubeconfig: Path, cluster) -> None:
    """The official client's typed writes: create, patch (strategic, from a dict), replace with a
    stale resourceVersion (409), read the scale, evict, delete with a propagation policy."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
        manifest = yaml.safe_load(DEPLOYMENT)
        created = apps.create_namespaced_deployment("default", manifest)
        assert created.metadata.generation == 1
        patched = apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 3}})
        assert patched.spec.replicas == 3
        created.spec.replicas = 4
        with pytest.raises(client.ApiException) as stale:
            apps.replace_namespaced_deployment("web", "default", created)
        assert stale.value.status == 409
        assert apps.read_namespaced_deployment_scale("web", "default").spec.replicas == 3
        victim = running_pods(cluster, "nginx")[0]["metadata"]["name"]
        eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name=victim, namespace="default"))
        core.create_namespaced_pod_eviction(victim, "default", eviction)
        assert body(cluster, "Pod", victim) is None or body(cluster, "Pod", victim)["metadata"].get(
            "deletionTimestamp"
        )
        log = core.read_namespaced_pod_log(
            running_pods(cluster, "nginx")[-1]["metadata"]["name"], "default"
        )
        assert "start worker processes" in log
        apps.delete_namespaced_deployment("web", "default", propagation_policy="Foreground")
        wait_for(
            lambda: body(cluster, "Deployment", "web") is None, what="web deleted in the foreground"
        )
    finally:
        api_client.close()


def test_edit_wait_and_delete_all(kubectl, cluster, tmp_path: Path) -> None:
    """`kubectl edit` (an editor that changes the replicas) patches; `kubectl wait` watches until
    the condition holds; `delete pods --all` deletes each listed pod."""
    # Already true: kubectl lists, then watches a quiet object; the watch's headers must come
    # at once or client-go never gets to check the listed state.
    settled = kubectl("wait", "--for=condition=Available", "deploy/nginx", "--timeout=20s")
    assert ok(settled) == "deployment.apps/nginx condition met"
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/^  replicas: 6$/  replicas: 4/' \"$1\"\n")
    editor.chmod(0o755)
    edited = kubectl("edit", "deploy/nginx", env={"EDITOR": str(editor)})
    assert ok(edited) == "deployment.apps/nginx edited"
    assert body(cluster, "Deployment", "nginx")["spec"]["replicas"] == 4
    waited = kubectl(
        "wait", "--for=jsonpath={.status.readyReplicas}=4", "deploy/nginx", "--timeout=50s"
    )
    assert ok(waited) == "deployment.apps/nginx condition met"
    deleted = ok(kubectl("delete", "pods", "--all", "--wait=false"))
    assert deleted.count("deleted") >= 4  # scaled-down pods may still be terminating


def test_logs_follow_ends_when_the_container_stops(kubectl_popen, cluster) -> None:
    pod = running_pods(cluster, "nginx")[0]["metadata"]["name"]
    with kubectl_popen("logs", "-f", pod) as proc:
        assert "docker-entrypoint" in proc.stdout.readline()
        time.sleep(1.0)
        from cluster import services

        services.pod_delete(cluster=cluster, namespace="default", name=pod)
        rest = proc.stdout.read()  # the stream ends when the container has stopped
        assert "received SIGTERM, shutting down gracefully" in rest
        assert proc.wait(timeout=30) == 0


def test_watch_sees_a_node_power_off(kubectl_popen, cluster) -> None:
    """`kubectl get nodes -w` while a worker machine loses power: after the grace period the
    node-lifecycle controller marks it NotReady, and the watch prints that row."""
    from cluster import services

    services.cluster_clock_update(cluster=cluster, speed=30)
    with kubectl_popen("get", "nodes", "-w") as proc:
        assert proc.stdout.readline().split()[:2] == ["NAME", "STATUS"]
        for _ in range(4):
            proc.stdout.readline()
        services.node_power_off(cluster=cluster, name="node-2")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row = proc.stdout.readline().split()
            if row[:2] == ["node-2", "NotReady"]:
                break
        else:
            raise AssertionError("no NotReady row for node-2")
