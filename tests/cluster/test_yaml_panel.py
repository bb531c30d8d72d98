"""The dashboard's YAML panel, through Django's test client: an object shown as ``kubectl get -o
yaml`` shows it, edited and applied, manifests pasted; every result line in kubectl's words,
every write through the API's own write path (validation, change log, managedFields)."""

from __future__ import annotations

import html
import re
import textwrap

import pytest
import yaml
from django.test import Client

from cluster import services
from cluster.api import manifests
from cluster.models import Change, Cluster, KubeObject

pytestmark = pytest.mark.django_db

BASE = "/clusters/demo"
APPLY = f"{BASE}/yaml/apply/"
NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"
WEB = textwrap.dedent(
    """\
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: {name}
    spec:
      {replicas_key}: 2
      selector:
        matchLabels: {{app: web}}
      template:
        metadata:
          labels: {{app: web}}
        spec:
          containers:
          - name: web
            image: nginx:1.27
    """
)


def web(name: str = "web", replicas_key: str = "replicas") -> str:
    return WEB.format(name=name, replicas_key=replicas_key)


@pytest.fixture
def cluster() -> Cluster:
    """The demo cluster, not settled: the nginx Deployment exists, no reconcile ran."""
    return services.demo_cluster_ensure(name="demo", settle=False)


def apply(client: Client, manifest: str, **options: str) -> list[str]:
    """POST the manifest as the panel does; the result lines, unescaped."""
    response = client.post(APPLY, {"manifest": manifest, **options}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    return [
        html.unescape(t) for t in re.findall(r'<span class="yaml-text">(.*?)</span>', body, re.S)
    ]


def stored(cluster: Cluster, kind: str, name: str, namespace: str = "default") -> dict | None:
    return (
        KubeObject.objects.filter(cluster=cluster, kind=kind, namespace=namespace, name=name)
        .values_list("body", flat=True)
        .first()
    )


def editor_text(response) -> str:
    match = re.search(r"<textarea[^>]*>(.*?)</textarea>", response.content.decode(), re.S)
    assert match, "no editor in the answer"
    return html.unescape(match.group(1))


# --- viewing -----------------------------------------------------------------------------------


def test_describe_offers_the_yaml_panel(client: Client, cluster: Cluster) -> None:
    response = client.get(f"{BASE}/describe/deployment/default/nginx/")

    assert f'hx-get="{BASE}/yaml/deployment/default/nginx/"' in response.content.decode()


def test_an_object_is_shown_as_kubectl_get_o_yaml_shows_it(
    client: Client, cluster: Cluster
) -> None:
    """Sorted keys, server-set metadata and status included, managedFields hidden."""
    apply(client, NAMESPACE.format(name="team-a"))  # an object with managedFields
    assert stored(cluster, "Namespace", "team-a", "")["metadata"]["managedFields"]

    response = client.get(f"{BASE}/yaml/namespace/_/team-a/")

    assert response.status_code == 200
    text = editor_text(response)
    body = yaml.safe_load(text)
    assert body["kind"] == "Namespace"
    assert body["metadata"]["name"] == "team-a"
    assert body["status"] == {"phase": "Active"}
    assert "managedFields" not in text
    assert text.index("apiVersion:") < text.index("kind:") < text.index("metadata:")
    assert "namespace/team-a" in response.content.decode()
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()


def test_a_missing_or_unserved_object_is_a_404_panel(client: Client, cluster: Cluster) -> None:
    missing = client.get(f"{BASE}/yaml/deployment/default/nope/")
    machine = client.get(f"{BASE}/yaml/machine/_/node-1/")

    assert missing.status_code == 404
    assert "does not exist" in missing.content.decode()
    assert machine.status_code == 404


def test_new_from_yaml_opens_an_example_manifest(client: Client, cluster: Cluster) -> None:
    response = client.get(f"{BASE}/yaml/")

    assert response.status_code == 200
    assert "New from YAML" in response.content.decode()
    assert yaml.safe_load(editor_text(response))["kind"] == "Deployment"


# --- applying an edit --------------------------------------------------------------------------


def test_editing_replicas_configures_the_deployment_as_the_user(
    client: Client, cluster: Cluster
) -> None:
    text = editor_text(client.get(f"{BASE}/yaml/deployment/default/nginx/"))
    edited = text.replace("replicas: 6", "replicas: 4", 1)

    response = client.post(
        APPLY,
        {"manifest": edited, "source": "Deployment/default/nginx"},
        headers={"HX-Request": "true"},
    )

    body = html.unescape(response.content.decode())
    assert "deployment.apps/nginx configured" in body
    # kubectl's warning: the object was not created by kubectl apply
    assert "is missing the kubectl.kubernetes.io/last-applied-configuration annotation" in body
    nginx = stored(cluster, "Deployment", "nginx")
    assert nginx["spec"]["replicas"] == 4
    assert nginx["metadata"]["generation"] == 2
    managers = {(m["manager"], m["operation"]) for m in nginx["metadata"]["managedFields"]}
    assert ("k8sviz-dashboard", "Update") in managers
    change = Change.objects.filter(cluster=cluster, kind="Deployment", name="nginx").last()
    assert change.actor == "user"
    # The editor comes back with the object as stored, ready for the next edit.
    assert 'hx-swap-oob="true"' in body
    assert yaml.safe_load(editor_text(response))["metadata"]["resourceVersion"] == str(
        KubeObject.objects.get(cluster=cluster, kind="Deployment", name="nginx").resource_version
    )


def test_apply_creates_then_is_unchanged_then_configures(client: Client, cluster: Cluster) -> None:
    assert apply(client, web()) == ["deployment.apps/web created"]
    assert apply(client, web()) == ["deployment.apps/web unchanged"]
    assert apply(client, web().replace("replicas: 2", "replicas: 3")) == [
        "deployment.apps/web configured"
    ]
    assert stored(cluster, "Deployment", "web")["spec"]["replicas"] == 3


def test_a_field_dropped_from_the_manifest_is_removed_others_stay(
    client: Client, cluster: Cluster
) -> None:
    """Client-side apply deletes only what it applied before: the controller's revision
    annotation and the defaults survive, the dropped label goes."""
    labelled = web().replace(
        "metadata:\n  name: web", "metadata:\n  name: web\n  labels: {tier: a}"
    )
    apply(client, labelled)
    before = stored(cluster, "Deployment", "web")
    assert before["metadata"]["labels"] == {"tier": "a"}

    assert apply(client, web()) == ["deployment.apps/web configured"]

    after = stored(cluster, "Deployment", "web")
    assert "labels" not in after["metadata"]
    assert after["spec"]["strategy"] == before["spec"]["strategy"]  # defaulted, never applied


def test_a_stale_resource_version_is_kubectls_conflict(client: Client, cluster: Cluster) -> None:
    text = editor_text(client.get(f"{BASE}/yaml/deployment/default/nginx/"))
    services.deployment_scale(cluster=cluster, namespace="default", name="nginx", replicas=5)

    (warning, error, hint) = apply(client, text.replace("replicas: 6", "replicas: 4", 1))

    assert warning.startswith("Warning: resource deployments/nginx is missing")
    assert error.startswith("Error from server (Conflict): error when applying patch:\n{")
    assert error.endswith(
        'for: "STDIN": error when patching "STDIN": Operation cannot be fulfilled on '
        'deployments.apps "nginx": the object has been modified; please apply your changes to '
        "the latest version and try again"
    )
    assert hint == manifests.STALE_HINT
    assert stored(cluster, "Deployment", "nginx")["spec"]["replicas"] == 5


# --- dry run and server-side apply -------------------------------------------------------------


def test_dry_run_answers_like_the_write_and_stores_nothing(
    client: Client, cluster: Cluster
) -> None:
    rv = Cluster.objects.get(pk=cluster.pk).resource_version
    changes = Change.objects.count()

    lines = apply(client, web(), dry_run="on")

    assert lines == ["deployment.apps/web created (server dry run)"]
    assert stored(cluster, "Deployment", "web") is None
    assert Cluster.objects.get(pk=cluster.pk).resource_version == rv
    assert Change.objects.count() == changes


def test_server_side_apply_records_the_dashboards_field_manager(
    client: Client, cluster: Cluster
) -> None:
    assert apply(client, web(), server_side="on") == ["deployment.apps/web serverside-applied"]
    assert apply(client, web(), server_side="on") == ["deployment.apps/web serverside-applied"]

    entries = stored(cluster, "Deployment", "web")["metadata"]["managedFields"]
    assert [(e["manager"], e["operation"]) for e in entries] == [("k8sviz-dashboard", "Apply")]


# --- manifests and kubectl's errors -------------------------------------------------------------


def test_a_bad_document_does_not_stop_the_ones_after_it(client: Client, cluster: Cluster) -> None:
    manifest = "---\n".join(
        [NAMESPACE.format(name="team-a"), web(name="Web_1"), NAMESPACE.format(name="team-b")]
    )

    lines = apply(client, manifest)

    assert lines[0] == "namespace/team-a created"
    assert lines[1].startswith(
        'The Deployment "Web_1" is invalid: metadata.name: Invalid value: "Web_1": a lowercase '
        "RFC 1123 subdomain must consist of"
    )
    assert lines[2] == "namespace/team-b created"
    assert stored(cluster, "Namespace", "team-b", "") is not None


def test_several_errors_are_printed_as_kubectl_prints_an_aggregate(
    client: Client, cluster: Cluster
) -> None:
    manifest = "---\n".join(
        ["apiVersion: bar/v1\nkind: Foo\nmetadata:\n  name: x\n", NAMESPACE.format(name="Bad_NS")]
    )

    lines = apply(client, manifest)

    assert lines[0] == (
        'resource mapping not found for name: "x" namespace: "" from "STDIN": no matches for '
        'kind "Foo" in version "bar/v1"\nensure CRDs are installed first'
    )
    assert lines[1].startswith(
        'Error from server (Invalid): error when creating "STDIN": Namespace "Bad_NS" is invalid:'
    )


def test_an_unknown_kind_gets_kubectls_no_matches(client: Client, cluster: Cluster) -> None:
    lines = apply(client, "apiVersion: bar/v1\nkind: Foo\nmetadata:\n  name: x\n")

    assert lines == [
        'error: resource mapping not found for name: "x" namespace: "" from "STDIN": no matches '
        'for kind "Foo" in version "bar/v1"\nensure CRDs are installed first'
    ]


def test_an_unknown_field_is_a_strict_decoding_error(client: Client, cluster: Cluster) -> None:
    lines = apply(client, web(replicas_key="replicass"))

    assert lines == [
        'Error from server (BadRequest): error when creating "STDIN": Deployment in version "v1" '
        'cannot be handled as a Deployment: strict decoding error: unknown field "spec.replicass"'
    ]
    assert stored(cluster, "Deployment", "web") is None


@pytest.mark.parametrize(
    ("manifest", "detail"),
    [
        ("apiVersion: v1\nmetadata: {name: x}\n", "kind not set"),
        ("kind: Namespace\nmetadata: {name: x}\n", "apiVersion not set"),
        ("hello\n", "invalid object to validate"),
    ],
    ids=["no-kind", "no-apiVersion", "scalar"],
)
def test_documents_kubectl_cannot_validate(
    client: Client, cluster: Cluster, manifest: str, detail: str
) -> None:
    assert apply(client, manifest) == [
        f'error: error validating "STDIN": error validating data: {detail}; if you choose to '
        "ignore these errors, turn validation off with --validate=false"
    ]


def test_a_yaml_syntax_error_names_its_line_and_stops_there(
    client: Client, cluster: Cluster
) -> None:
    """As kubectl: documents before it are applied, none after; the line number counts from
    the document's start, and the panel's note gives the editor's line."""
    broken = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns-b\n  labels: [a: b\n"
    manifest = "---\n".join([NAMESPACE.format(name="ns-a"), broken, NAMESPACE.format(name="ns-c")])

    lines = apply(client, manifest)

    assert lines[0] == "namespace/ns-a created"
    assert lines[1].startswith(
        "error: error parsing STDIN: error converting YAML to JSON: yaml: line 5: "
    )
    assert lines[2] == "document 2, line 10 of the editor; nothing after it was applied"
    assert stored(cluster, "Namespace", "ns-c", "") is None


def test_an_empty_manifest_passes_no_objects(client: Client, cluster: Cluster) -> None:
    assert apply(client, "# nothing\n---\n") == ["error: no objects passed to apply"]


# --- limits and CSRF ---------------------------------------------------------------------------


def test_a_manifest_over_512_kib_is_refused_whole(client: Client, cluster: Cluster) -> None:
    padding = "#" + "x" * 1000 + "\n"
    manifest = NAMESPACE.format(name="big") + padding * 530

    (line,) = apply(client, manifest)

    assert line.startswith("The manifest is ")
    assert "at most 512 KiB" in line
    assert stored(cluster, "Namespace", "big", "") is None


def test_more_than_100_documents_are_refused_whole(client: Client, cluster: Cluster) -> None:
    manifest = "---\n".join(NAMESPACE.format(name=f"ns-{i}") for i in range(101))

    (line,) = apply(client, manifest)

    assert line == manifests.TOO_MANY.format(count=101, limit=100)
    assert not KubeObject.objects.filter(cluster=cluster, kind="Namespace", name="ns-0").exists()


def test_apply_needs_the_csrf_token(cluster: Cluster) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(APPLY, {"manifest": NAMESPACE.format(name="team-a")})

    assert response.status_code == 403
    assert stored(cluster, "Namespace", "team-a", "") is None
