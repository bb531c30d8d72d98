"""Real clients against the real server: ``/usr/bin/kubectl`` (Google Cloud SDK's dispatcher,
which picks its kubectl minor from ``/version``) and the official ``kubernetes`` Python client,
over TLS to daphne, with a kubeconfig from ``manage.py kubeconfig``."""

from __future__ import annotations

import base64
import json
import re
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from cluster import services

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

KUBECTL = Path("/usr/bin/kubectl")


def lines(result: subprocess.CompletedProcess[str]) -> list[list[str]]:
    assert result.returncode == 0, result.stderr
    return [line.split() for line in result.stdout.strip().splitlines()]


def test_kubectl_version_and_api_resources(kubectl) -> None:
    """``kubectl version`` shows the server's v1.32.4; ``api-resources`` lists what is served,
    with short names, namespaced flags and kinds from legacy discovery."""
    version = kubectl("version")
    assert version.returncode == 0, version.stderr
    assert "Server Version: v1.32.4" in version.stdout
    rows = lines(kubectl("api-resources"))
    assert rows[0] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    # metrics.k8s.io serves pods and nodes too (tests/api/test_kubectl_top.py)
    table = {row[0]: row[1:] for row in rows[1:] if "metrics.k8s.io/v1beta1" not in row}
    assert table["pods"] == ["po", "v1", "true", "Pod"]
    assert table["nodes"] == ["no", "v1", "false", "Node"]
    assert table["deployments"] == ["deploy", "apps/v1", "true", "Deployment"]
    assert table["leases"] == ["coordination.k8s.io/v1", "true", "Lease"]
    assert set(table) == {
        "namespaces",
        "nodes",
        "pods",
        "events",
        "deployments",
        "replicasets",
        "leases",
        "services",
        "endpointslices",
        "ingresses",
        "ingressclasses",
        "horizontalpodautoscalers",
    }
    assert table["horizontalpodautoscalers"] == [
        "hpa",
        "autoscaling/v2",
        "true",
        "HorizontalPodAutoscaler",
    ]
    assert table["services"] == ["svc", "v1", "true", "Service"]
    assert table["endpointslices"] == ["discovery.k8s.io/v1", "true", "EndpointSlice"]
    assert table["ingresses"] == ["ing", "networking.k8s.io/v1", "true", "Ingress"]
    assert table["ingressclasses"] == ["networking.k8s.io/v1", "false", "IngressClass"]


def test_kubectl_get(kubectl) -> None:
    """``kubectl get`` prints the server's Tables: nodes, pods -A -o wide, deploy, rs, ns."""
    nodes = lines(kubectl("get", "nodes"))
    assert nodes[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [(n[0], n[1], n[2], n[4]) for n in nodes[1:]] == [
        ("control-plane", "Ready", "control-plane", "v1.32.4"),
        ("node-1", "Ready", "<none>", "v1.32.4"),
        ("node-2", "Ready", "<none>", "v1.32.4"),
        ("node-3", "Ready", "<none>", "v1.32.4"),
    ]
    wide = lines(kubectl("get", "pods", "-A", "-o", "wide"))
    assert wide[0] == [
        "NAMESPACE",
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED",
        "NODE",
        "READINESS",
        "GATES",
    ]
    assert len(wide) == 7
    for row in wide[1:]:
        assert row[0] == "default" and row[1].startswith("nginx-")
        assert row[2:5] == ["1/1", "Running", "0"]
        assert row[7].startswith("node-") and row[8:] == ["<none>", "<none>"]
    deploy = lines(kubectl("get", "deploy"))
    assert deploy[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert deploy[1][:4] == ["nginx", "6/6", "6", "6"]
    rs = lines(kubectl("get", "rs", "-o", "wide"))
    assert rs[0][:5] == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert rs[1][1:4] == ["6", "6", "6"] and rs[1][-1].startswith("app=nginx,pod-template-hash=")
    ns = {row[0]: row[1] for row in lines(kubectl("get", "ns"))[1:]}
    assert ns["default"] == "Active" and "kube-node-lease" in ns
    selected = lines(
        kubectl("get", "po", "-l", "app=nginx", "--field-selector", "status.phase=Running")
    )
    assert len(selected) == 7
    assert (
        "No resources found in default namespace." in kubectl("get", "po", "-l", "app=web").stderr
    )


def test_kubectl_get_events_and_leases(kubectl) -> None:
    events = lines(kubectl("get", "events"))
    assert events[0] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert any(row[2] == "Scheduled" and row[3].startswith("pod/nginx-") for row in events[1:])
    leases = lines(kubectl("get", "leases", "-n", "kube-node-lease"))
    assert leases[0] == ["NAME", "HOLDER", "AGE"]
    assert ["node-1", "node-1"] in [row[:2] for row in leases[1:]]


def test_kubectl_get_all_and_describe(kubectl) -> None:
    """``get all`` follows the "all" category; ``describe`` reads objects and their Events."""
    everything = kubectl("get", "all")
    assert everything.returncode == 0, everything.stderr
    assert "deployment.apps/nginx" in everything.stdout
    assert "replicaset.apps/nginx-" in everything.stdout and "pod/nginx-" in everything.stdout
    assert "service/kubernetes" in everything.stdout
    pod = lines(kubectl("get", "pods", "--sort-by=.metadata.name", "--no-headers"))[0][0]
    described = kubectl("describe", "pod", pod)
    assert described.returncode == 0, described.stderr
    assert re.search(r"^Status:\s+Running$", described.stdout, re.MULTILINE), described.stdout
    assert "Successfully assigned default/" in described.stdout
    node = kubectl("describe", "node", "node-1")
    assert node.returncode == 0, node.stderr
    assert re.search(r"Kubelet Version:\s+v1\.32\.4", node.stdout), node.stdout
    deploy = kubectl("describe", "deploy", "nginx")
    assert deploy.returncode == 0, deploy.stderr
    assert "6 desired | 6 updated | 6 total | 6 available | 0 unavailable" in deploy.stdout


def test_kubectl_get_missing_pod(kubectl) -> None:
    """A missing object: exit code 1 and the API server's NotFound message."""
    result = kubectl("get", "pod", "missing")
    assert result.returncode == 1
    assert result.stderr.strip() == 'Error from server (NotFound): pods "missing" not found'


def test_kubectl_get_yaml(kubectl) -> None:
    """``-o yaml`` asks for plain JSON and prints the stored object, resourceVersion included."""
    result = kubectl("get", "deploy", "nginx", "-o", "yaml")
    assert result.returncode == 0, result.stderr
    body = yaml.safe_load(result.stdout)
    assert (body["kind"], body["spec"]["replicas"]) == ("Deployment", 6)
    assert body["metadata"]["resourceVersion"]


def with_token(kubeconfig: Path, token: str, path: Path) -> Path:
    config = yaml.safe_load(kubeconfig.read_text())
    config["users"][0]["user"] = {"token": token}
    path.write_text(yaml.safe_dump(config))
    return path


def test_kubectl_with_a_bad_token(kubectl, kubeconfig: Path, tmp_path: Path) -> None:
    """An unknown token is 401 (kubectl: "You must be logged in"); another cluster's is 403."""
    unknown = with_token(kubeconfig, "not-a-token", tmp_path / "unknown.kubeconfig")
    result = kubectl("get", "nodes", config=unknown)
    assert result.returncode == 1
    # Discovery fails first, so kubectl quotes client-go's text for a 401 there.
    assert "error: You must be logged in to the server" in result.stderr
    other = services.cluster_create(name="other")
    token = services.api_token_issue(cluster=other, user="bob")
    result = kubectl(
        "get", "nodes", config=with_token(kubeconfig, token, tmp_path / "o.kubeconfig")
    )
    assert result.returncode == 1
    # As against kube-apiserver, a 403 during discovery prints "Error from server (Forbidden):
    # unknown" (client-go's discovery drops the Status message).
    assert "Error from server (Forbidden)" in result.stderr, result.stderr


def test_tls_without_token_is_401(daphne_tls_server, kubeconfig: Path) -> None:
    """Over TLS verified with the kubeconfig's CA: no token → a 401 Status object (kubectl
    itself would prompt for a user name instead of sending nothing); /version is public."""
    config = yaml.safe_load(kubeconfig.read_text())
    ca = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
    context = ssl.create_default_context(cadata=ca.decode())
    base = daphne_tls_server.api_url + "/clusters/demo"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(base + "/api/v1/nodes", context=context, timeout=10)
    assert refused.value.code == 401
    assert refused.value.headers["Content-Type"] == "application/json"
    status = json.load(refused.value)
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Unauthorized", 401)
    with urllib.request.urlopen(base + "/version", context=context, timeout=10) as response:
        assert json.load(response)["gitVersion"] == "v1.32.4"


def test_python_client(kubeconfig: Path) -> None:
    """The official client's typed API: list_node and list_namespaced_pod with a selector."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        core = client.CoreV1Api(api_client)
        nodes = core.list_node()
        assert [n.metadata.name for n in nodes.items] == [
            "control-plane",
            "node-1",
            "node-2",
            "node-3",
        ]
        assert nodes.items[0].status.node_info.kubelet_version == "v1.32.4"
        pods = core.list_namespaced_pod("default", label_selector="app=nginx")
        assert len(pods.items) == 6
        assert all(p.status.phase == "Running" for p in pods.items)
        assert pods.metadata.resource_version
        deployments = client.AppsV1Api(api_client).list_namespaced_deployment("default")
        assert deployments.items[0].status.ready_replicas == 6
        with pytest.raises(client.ApiException) as missing:
            core.read_namespaced_pod("missing", "default")
        assert missing.value.status == 404
    finally:
        api_client.close()


def test_kubectl_chunked_list(kubectl) -> None:
    """``--chunk-size=2`` follows continue tokens: the same six pods as one request."""
    whole = lines(kubectl("get", "pods", "--no-headers"))
    chunked = lines(kubectl("get", "pods", "--no-headers", "--chunk-size=2"))
    assert [row[0] for row in chunked] == [row[0] for row in whole]
    assert len(chunked) == 6
