"""OpenAPI as kubectl reads it: an empty protobuf v2 document, the v3 index with hashed URLs,
and per group-version v3 documents whose schemas drive ``kubectl explain`` and whose PATCH
operations make ``kubectl create -f``/``apply -f`` leave validation to the server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from cluster.api import openapi, openapi_views, resources
from cluster.models import Cluster

BASE = "/clusters/demo"
REF = re.compile(r"^#/components/schemas/(.+)$")


@pytest.fixture
def api(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}"})


# --- the documents, through Django's test client -----------------------------------------------


@pytest.mark.django_db
def test_openapi_v2_is_an_empty_protobuf_document(api: Client) -> None:
    """kubectl ≤1.28 decode /openapi/v2 as protobuf: zero bytes is an empty Document, so they
    skip client-side validation instead of failing."""
    response = api.get(BASE + "/openapi/v2")
    assert response.status_code == 200
    assert response["Content-Type"] == openapi_views.OPENAPI_V2_CONTENT_TYPE
    assert response.content == b""


@pytest.mark.django_db
def test_openapi_needs_a_token_of_the_cluster(demo: Cluster) -> None:
    for path in ("/openapi/v2", "/openapi/v3", "/openapi/v3/api/v1"):
        response = Client().get(BASE + path)
        assert response.status_code == 401
        assert response.json()["reason"] == "Unauthorized"


@pytest.mark.django_db
def test_openapi_v3_index_lists_the_served_group_versions_with_hashes(api: Client) -> None:
    response = api.get(BASE + "/openapi/v3")
    assert response.status_code == 200
    paths = response.json()["paths"]
    # metrics.k8s.io is metrics-server's aggregated API, not described by kube-apiserver's schemas
    served = {r.group_version for r in resources.RESOURCES if not r.metrics}
    assert set(paths) == {f"apis/{gv}" if "/" in gv else f"api/{gv}" for gv in served}
    assert set(paths) == {
        "api/v1",
        "apis/apps/v1",
        "apis/autoscaling/v1",
        "apis/autoscaling/v2",
        "apis/coordination.k8s.io/v1",
        "apis/discovery.k8s.io/v1",
        "apis/networking.k8s.io/v1",
    }
    for key, entry in paths.items():
        url, _, query = entry["serverRelativeURL"].partition("?")
        assert url == f"/openapi/v3/{key}"
        assert re.fullmatch(r"hash=[0-9A-F]{128}", query)
    hashes = {entry["serverRelativeURL"] for entry in paths.values()}
    assert len(hashes) == len(paths), "each document has its own hash"


@pytest.mark.django_db
def test_document_hash_follows_the_content(api: Client) -> None:
    """The hash keys kubectl's HTTP cache: it is the digest of the bytes served."""
    import hashlib

    index = api.get(BASE + "/openapi/v3").json()["paths"]
    response = api.get(BASE + index["apis/apps/v1"]["serverRelativeURL"])
    assert response.status_code == 200
    digest = hashlib.sha512(response.content).hexdigest().upper()
    assert index["apis/apps/v1"]["serverRelativeURL"].endswith(f"?hash={digest}")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/openapi/v3/apis/batch/v1", "/openapi/v3/api/v2"], ids=str)
def test_unserved_group_version_is_404_status(api: Client, path: str) -> None:
    response = api.get(BASE + path)
    assert response.status_code == 404
    assert response.json()["kind"] == "Status"


def refs(node: object) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                found.add(REF.fullmatch(value).group(1))  # type: ignore[union-attr]
            else:
                found |= refs(value)
    elif isinstance(node, list):
        for item in node:
            found |= refs(item)
    return found


@pytest.mark.django_db
@pytest.mark.parametrize(("group", "version"), openapi.group_versions(), ids=str)
def test_document_is_closed_and_carries_kubernetes_extensions(
    api: Client, group: str, version: str
) -> None:
    """Every ``$ref`` points into ``components.schemas`` of the same document; each served kind
    has its schema with group-version-kind, and paths with the actions kubectl looks for."""
    response = api.get(f"{BASE}/openapi/v3/{openapi.document_key(group, version)}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    doc = response.json()
    assert doc["openapi"].startswith("3.0")
    schemas = doc["components"]["schemas"]
    assert refs(doc) <= set(schemas)
    served = [r for r in resources.RESOURCES if (r.group, r.version) == (group, version)]
    actions = {
        (op["x-kubernetes-group-version-kind"]["kind"], op["x-kubernetes-action"])
        for item in doc["paths"].values()
        for method, op in item.items()
        if method != "parameters"
    }
    for res in served:
        gvks = [
            s["x-kubernetes-group-version-kind"]
            for s in schemas.values()
            if "x-kubernetes-group-version-kind" in s
        ]
        assert [{"group": group, "kind": res.kind, "version": version}] in gvks
        for action in ("get", "list", "post", "put", "patch", "delete", "deletecollection"):
            assert (res.kind, action) in actions


@pytest.mark.django_db
def test_deployment_patch_operation_invites_server_side_validation(api: Client) -> None:
    """kubectl ≥1.29 trusts the server when the kind's PATCH takes ``fieldValidation``."""
    doc = api.get(BASE + "/openapi/v3/apis/apps/v1").json()
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "kind": "Deployment",
        "version": "v1",
    }
    assert "fieldValidation" in {p["name"] for p in patch["parameters"]}
    assert set(patch["requestBody"]["content"]) == {
        "application/strategic-merge-patch+json",
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/apply-patch+yaml",
    }


@pytest.mark.django_db
def test_schemas_keep_descriptions_merge_keys_and_required(api: Client) -> None:
    core = api.get(BASE + "/openapi/v3/api/v1").json()["components"]["schemas"]
    containers = core["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-list-type"] == "map"
    assert containers["items"] == {"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}
    assert core["io.k8s.api.core.v1.PodSpec"]["required"] == ["containers"]
    assert core["io.k8s.api.core.v1.Node"]["description"].startswith("Node is a worker node")
    assert core["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["format"] == "int-or-string"
    apps = api.get(BASE + "/openapi/v3/apis/apps/v1").json()["components"]["schemas"]
    spec = apps["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]
    assert spec["replicas"]["type"] == "integer"
    assert spec["replicas"]["description"].startswith("Number of desired pods.")
    assert spec["strategy"]["x-kubernetes-patch-strategy"] == "retainKeys"
    # A reference with a description is wrapped in allOf: OpenAPI 3.0 ignores $ref siblings.
    assert spec["template"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec"}
    ]
    assert "enum" not in apps["io.k8s.api.apps.v1.Deployment"]["properties"]["kind"]


# --- real kubectl ------------------------------------------------------------------------------

POD_WITH_TYPO = """\
apiVersion: v1
kind: Pod
metadata:
  name: typo
spec:
  containers:
  - name: web
    image: nginx
    imagee: nginx:1.27
"""


def requests_made(stderr: str) -> list[str]:
    """``METHOD path?query`` of each request in kubectl's ``-v=6`` log, without the server."""
    found = re.findall(r"round_trippers\.go:\d+\] (\w+) https://[^/]+(\S+) \d{3}", stderr)
    return [f"{method} {url}" for method, url in found]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_kubectl_explain(kubectl) -> None:
    """``kubectl explain`` prints the Kubernetes descriptions from the v3 documents."""
    replicas = kubectl("explain", "deployment.spec.replicas")
    assert replicas.returncode == 0, replicas.stderr
    assert "FIELD: replicas <integer>" in replicas.stdout
    assert "Number of desired pods." in replicas.stdout
    containers = kubectl("explain", "pods.spec.containers")
    assert containers.returncode == 0, containers.stderr
    assert "FIELD: containers <[]Container>" in containers.stdout
    assert re.search(r"name\t<string> -required-", containers.stdout)
    assert "image\t<string>" in containers.stdout
    node = kubectl("explain", "node")
    assert node.returncode == 0, node.stderr
    assert "KIND:       Node" in node.stdout
    assert "Node is a worker node in Kubernetes." in node.stdout
    assert "spec\t<NodeSpec>" in node.stdout
    lease = kubectl("explain", "lease.spec.holderIdentity")
    assert lease.returncode == 0, lease.stderr
    assert "GROUP:      coordination.k8s.io" in lease.stdout
    api_resources = kubectl("api-resources")
    assert api_resources.returncode == 0, api_resources.stderr
    rows = {line.split()[0]: line.split()[1:] for line in api_resources.stdout.splitlines()[1:]}
    assert rows["deployments"] == ["deploy", "apps/v1", "true", "Deployment"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_kubectl_create_leaves_validation_to_the_server(kubectl, tmp_path: Path) -> None:
    """With a PATCH operation taking ``fieldValidation`` in the v3 document, kubectl fetches the
    index and the one document it needs, skips client-side validation even of an unknown field,
    and sends ``fieldValidation=Strict``: the server's strict decoding error is what the user
    sees, not "failed to download openapi"."""
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD_WITH_TYPO)
    result = kubectl("create", "-f", str(manifest), "--dry-run=server", "-v=6")
    assert result.returncode == 1
    made = requests_made(result.stderr)
    openapi_requests = [m for m in made if "/openapi/" in m]
    assert openapi_requests[0] == "GET /clusters/demo/openapi/v3?timeout=32s"
    assert re.fullmatch(
        r"GET /clusters/demo/openapi/v3/api/v1\?hash=[0-9A-F]{128}&timeout=32s",
        openapi_requests[1],
    )
    assert len(openapi_requests) == 2, "no other document, no /openapi/v2 fallback"
    assert made[-1] == (
        "POST /clusters/demo/api/v1/namespaces/default/pods"
        "?dryRun=All&fieldManager=kubectl-create&fieldValidation=Strict"
    )
    assert result.stderr.rstrip().endswith(
        f'Error from server (BadRequest): error when creating "{manifest}": Pod in version "v1" '
        "cannot be handled as a Pod: strict decoding error: unknown field "
        '"spec.containers[0].imagee"'
    )
    assert "openapi" not in result.stderr.splitlines()[-1]
    strict = kubectl("apply", "-f", str(manifest), "--validate=strict")
    assert strict.returncode == 1
    assert 'strict decoding error: unknown field "spec.containers[0].imagee"' in strict.stderr


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_kubectl_128_accepts_the_empty_v2_document(kubeconfig: Path, tmp_path: Path) -> None:
    """kubectl 1.28 (which the dispatcher runs for a 1.28 server) needs /openapi/v2: the empty
    protobuf body lets it skip validation and reach the server."""
    binary = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.28")
    if not binary.exists():
        pytest.skip("kubectl 1.28 is not installed")
    import subprocess

    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD_WITH_TYPO)
    result = subprocess.run(
        [str(binary), "create", "-f", str(manifest), "-v=6"],
        env={"HOME": str(tmp_path), "KUBECONFIG": str(kubeconfig), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    made = requests_made(result.stderr)
    assert "GET /clusters/demo/openapi/v2?timeout=32s" in made
    assert "strict decoding error: unknown field" in result.stderr, result.stderr


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_kubectl_uses_aggregated_discovery(kubectl) -> None:
    """With aggregated discovery kubectl's cold-cache discovery is two requests, /api and /apis,
    none per group-version; ``api-resources`` still lists every served resource."""
    result = kubectl("get", "pods", "-v=6")
    assert result.returncode == 0, result.stderr
    made = [m.partition("?")[0] for m in requests_made(result.stderr)]
    assert made == [
        "GET /clusters/demo/api",
        "GET /clusters/demo/apis",
        "GET /clusters/demo/api/v1/namespaces/default/pods",
    ]
    rows = [line.split() for line in kubectl("api-resources").stdout.strip().splitlines()]
    # metrics.k8s.io serves pods and nodes too (tests/api/test_kubectl_top.py)
    rows = [row for row in rows if "metrics.k8s.io/v1beta1" not in row]
    assert {row[0]: row[1:] for row in rows[1:]} == {
        "events": ["ev", "v1", "true", "Event"],
        "namespaces": ["ns", "v1", "false", "Namespace"],
        "nodes": ["no", "v1", "false", "Node"],
        "pods": ["po", "v1", "true", "Pod"],
        "deployments": ["deploy", "apps/v1", "true", "Deployment"],
        "replicasets": ["rs", "apps/v1", "true", "ReplicaSet"],
        "leases": ["coordination.k8s.io/v1", "true", "Lease"],
        "services": ["svc", "v1", "true", "Service"],
        "endpointslices": ["discovery.k8s.io/v1", "true", "EndpointSlice"],
        "ingresses": ["ing", "networking.k8s.io/v1", "true", "Ingress"],
        "ingressclasses": ["networking.k8s.io/v1", "false", "IngressClass"],
        "horizontalpodautoscalers": ["hpa", "autoscaling/v2", "true", "HorizontalPodAutoscaler"],
    }
