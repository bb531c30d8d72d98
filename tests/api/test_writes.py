"""The API's writes through Django's test client: create, replace, delete, dry runs, the
subresources, and every refusal as the Status kube-apiserver would send."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cluster.models import Change, Cluster, KubeObject
from tests.api.test_api_views import BASE, assert_status

pytestmark = pytest.mark.django_db

PODS = BASE + "/api/v1/namespaces/default/pods"
DEPLOYMENTS = BASE + "/apis/apps/v1/namespaces/default/deployments"


@pytest.fixture
def api(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}", "User-Agent": "kubectl/v1.32.4"})


def send(api: Client, method: str, url: str, body=None, content_type="application/json", **query):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body) if body is not None else ""
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return getattr(api, method)(url, data=data, content_type=content_type)


def pod(name: str = "web", **spec) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}], **spec},
    }


def deployment(name: str = "web", replicas: int = 2) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            },
        },
    }


def stored(cluster: Cluster, kind: str, name: str, namespace: str = "default") -> KubeObject | None:
    return KubeObject.objects.filter(
        cluster=cluster, kind=kind, name=name, namespace=namespace
    ).first()


# --- create ------------------------------------------------------------------------------------


def test_create_pod_is_201_with_defaults(api: Client, demo: Cluster) -> None:
    response = send(api, "post", PODS, pod())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["metadata"]["uid"] and body["metadata"]["resourceVersion"]
    assert body["spec"]["restartPolicy"] == "Always"
    assert body["status"]["phase"] == "Pending"
    change = Change.objects.filter(cluster=demo, name="web", kind="Pod").get()
    assert (change.type, change.actor) == ("ADDED", "kubectl")


def test_create_from_yaml_body(api: Client, demo: Cluster) -> None:
    manifest = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n"
    response = send(api, "post", BASE + "/api/v1/namespaces", manifest, "application/yaml")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == {"phase": "Active"}
    assert body["metadata"]["labels"] == {"kubernetes.io/metadata.name": "team-a"}


def test_create_twice_is_409_already_exists(api: Client, demo: Cluster) -> None:
    send(api, "post", PODS, pod())
    body = assert_status(send(api, "post", PODS, pod()), 409, "AlreadyExists")
    assert body["message"] == 'pods "web" already exists'
    assert body["details"] == {"name": "web", "group": "", "kind": "pods"}


def test_invalid_name_is_422_with_causes(api: Client, demo: Cluster) -> None:
    body = assert_status(send(api, "post", PODS, pod("Web_1")), 422, "Invalid")
    assert body["message"].startswith('Pod "Web_1" is invalid: metadata.name: Invalid value')
    assert body["details"]["kind"] == "Pod"
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    assert body["details"]["causes"][0]["reason"] == "FieldValueInvalid"


def test_missing_image_is_422(api: Client, demo: Cluster) -> None:
    manifest = pod()
    del manifest["spec"]["containers"][0]["image"]
    body = assert_status(send(api, "post", PODS, manifest), 422, "Invalid")
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueRequired",
            "message": "Required value",
            "field": "spec.containers[0].image",
        }
    ]


def test_bad_label_is_422(api: Client, demo: Cluster) -> None:
    manifest = pod()
    manifest["metadata"]["labels"] = {"app": "not ok!"}
    body = assert_status(send(api, "post", PODS, manifest), 422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.labels"


def test_namespace_mismatch_is_400(api: Client, demo: Cluster) -> None:
    manifest = pod()
    manifest["metadata"]["namespace"] = "kube-system"
    body = assert_status(send(api, "post", PODS, manifest), 400, "BadRequest")
    assert "does not match the namespace sent on the request" in body["message"]


def test_missing_namespace_is_404(api: Client, demo: Cluster) -> None:
    url = BASE + "/api/v1/namespaces/nowhere/pods"
    body = assert_status(send(api, "post", url, pod()), 404, "NotFound")
    assert body["message"] == 'namespaces "nowhere" not found'


def test_kind_mismatch_and_garbage_are_400(api: Client, demo: Cluster) -> None:
    assert_status(send(api, "post", PODS, deployment()), 400, "BadRequest")
    body = assert_status(send(api, "post", PODS, "{not json"), 400, "BadRequest")
    assert body["message"].startswith("error decoding request body")


def test_resource_version_on_create_is_400(api: Client, demo: Cluster) -> None:
    manifest = pod()
    manifest["metadata"]["resourceVersion"] = "5"
    body = assert_status(send(api, "post", PODS, manifest), 400, "BadRequest")
    assert body["message"] == "resourceVersion should not be set on objects to be created"


def test_dry_run_validates_and_stores_nothing(api: Client, demo: Cluster) -> None:
    demo.refresh_from_db()
    rv = demo.resource_version
    response = send(api, "post", DEPLOYMENTS, deployment(), dryRun="All")
    assert response.status_code == 201, response.content
    assert response.json()["spec"]["strategy"]["type"] == "RollingUpdate"
    assert stored(demo, "Deployment", "web") is None
    demo.refresh_from_db()
    assert demo.resource_version == rv
    assert_status(
        send(api, "post", DEPLOYMENTS, deployment(replicas=-1), dryRun="All"), 422, "Invalid"
    )


def test_too_many_replicas_is_403(api: Client, demo: Cluster, settings) -> None:
    settings.K8SVIZ_MAX_PODS = 10
    body = assert_status(send(api, "post", DEPLOYMENTS, deployment(replicas=20)), 403, "Forbidden")
    assert "limit is 10" in body["message"]


# --- replace -----------------------------------------------------------------------------------


def test_replace_with_stale_resource_version_is_409(api: Client, demo: Cluster) -> None:
    created = send(api, "post", DEPLOYMENTS, deployment()).json()
    fresh = dict(created, spec={**created["spec"], "replicas": 3})
    assert send(api, "put", DEPLOYMENTS + "/web", fresh).status_code == 200
    stale = dict(created, spec={**created["spec"], "replicas": 4})
    body = assert_status(send(api, "put", DEPLOYMENTS + "/web", stale), 409, "Conflict")
    assert body["message"] == (
        'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    assert stored(demo, "Deployment", "web").spec["replicas"] == 3


def test_replace_bumps_generation_only_for_spec(api: Client, demo: Cluster) -> None:
    created = send(api, "post", DEPLOYMENTS, deployment()).json()
    assert created["metadata"]["generation"] == 1
    created["metadata"]["labels"] = {"team": "a"}
    relabelled = send(api, "put", DEPLOYMENTS + "/web", created).json()
    assert relabelled["metadata"]["generation"] == 1
    relabelled["spec"]["replicas"] = 5
    assert send(api, "put", DEPLOYMENTS + "/web", relabelled).json()["metadata"]["generation"] == 2


def test_replace_ignores_status_and_keeps_server_fields(api: Client, demo: Cluster) -> None:
    created = send(api, "post", DEPLOYMENTS, deployment()).json()
    changed = json.loads(json.dumps(created))
    changed["status"] = {"replicas": 99}
    changed["metadata"]["uid"] = "0000"
    del changed["metadata"]["resourceVersion"]  # unconditional update
    body = send(api, "put", DEPLOYMENTS + "/web", changed).json()
    assert body["status"] == created["status"]
    assert body["metadata"]["uid"] == created["metadata"]["uid"]


def test_status_subresource_writes_only_status(api: Client, demo: Cluster) -> None:
    created = send(api, "post", DEPLOYMENTS, deployment()).json()
    created["status"] = {"replicas": 7}
    created["spec"]["replicas"] = 9
    body = send(api, "put", DEPLOYMENTS + "/web/status", created).json()
    assert (body["status"], body["spec"]["replicas"]) == ({"replicas": 7}, 2)


def test_immutable_selector_is_422(api: Client, demo: Cluster) -> None:
    created = send(api, "post", DEPLOYMENTS, deployment()).json()
    created["spec"]["selector"] = {"matchLabels": {"app": "web", "v": "2"}}
    created["spec"]["template"]["metadata"]["labels"]["v"] = "2"
    body = assert_status(send(api, "put", DEPLOYMENTS + "/web", created), 422, "Invalid")
    assert "field is immutable" in body["details"]["causes"][0]["message"]


def test_pod_spec_is_immutable_but_image_is_not(api: Client, demo: Cluster) -> None:
    created = send(api, "post", PODS, pod()).json()
    created["spec"]["containers"][0]["image"] = "nginx:1.28"
    updated = send(api, "put", PODS + "/web", created)
    assert updated.status_code == 200, updated.content
    changed = updated.json()
    changed["spec"]["containers"][0]["name"] = "other"
    body = assert_status(send(api, "put", PODS + "/web", changed), 422, "Invalid")
    assert "pod updates may not change fields" in body["message"]


def test_name_mismatch_on_replace_is_400(api: Client, demo: Cluster) -> None:
    send(api, "post", PODS, pod())
    body = assert_status(send(api, "put", PODS + "/web", pod("other")), 400, "BadRequest")
    assert "does not match the name on the URL" in body["message"]


# --- delete ------------------------------------------------------------------------------------


def test_delete_unscheduled_pod_is_immediate(api: Client, demo: Cluster) -> None:
    send(api, "post", PODS, pod())
    response = send(api, "delete", PODS + "/web", {"propagationPolicy": "Background"})
    assert response.status_code == 200
    assert response.json()["status"] == "Success"
    assert stored(demo, "Pod", "web") is None


def test_delete_running_pod_is_graceful(api: Client, demo: Cluster) -> None:
    running = KubeObject.objects.filter(cluster=demo, kind="Pod", phase="Running").first()
    response = send(api, "delete", PODS + "/" + running.name)
    assert response.status_code == 202
    meta = response.json()["metadata"]
    assert meta["deletionTimestamp"] and meta["deletionGracePeriodSeconds"] == 30
    forced = send(api, "delete", PODS + "/" + running.name, gracePeriodSeconds="0")
    assert forced.status_code == 200
    assert stored(demo, "Pod", running.name) is None


def test_delete_missing_is_404_and_precondition_is_409(api: Client, demo: Cluster) -> None:
    assert_status(send(api, "delete", PODS + "/missing"), 404, "NotFound")
    send(api, "post", PODS, pod())
    body = assert_status(
        send(api, "delete", PODS + "/web", {"preconditions": {"uid": "nope"}}), 409, "Conflict"
    )
    assert "Precondition failed: UID in precondition: nope" in body["message"]


def test_system_namespaces_cannot_be_deleted(api: Client, demo: Cluster) -> None:
    body = assert_status(send(api, "delete", BASE + "/api/v1/namespaces/default"), 403, "Forbidden")
    assert body["message"] == 'namespaces "default" is forbidden: this namespace may not be deleted'


def test_foreground_and_orphan_deletion_keep_the_owner_with_a_finalizer(
    api: Client, demo: Cluster
) -> None:
    response = send(api, "delete", DEPLOYMENTS + "/nginx", propagationPolicy="Foreground")
    assert response.status_code == 202
    meta = response.json()["metadata"]
    assert meta["finalizers"] == ["foregroundDeletion"] and meta["deletionTimestamp"]


def test_delete_collection_by_label(api: Client, demo: Cluster) -> None:
    send(api, "post", PODS, pod("a"))
    send(api, "post", PODS, pod("b"))
    response = send(api, "delete", PODS + "?labelSelector=app%3Da")
    assert response.status_code == 200, response.content
    assert [i["metadata"]["name"] for i in response.json()["items"]] == ["a"]
    assert stored(demo, "Pod", "a") is None and stored(demo, "Pod", "b") is not None


# --- subresources ------------------------------------------------------------------------------


def test_scale_get_put_with_conflict(api: Client, demo: Cluster) -> None:
    scale = api.get(DEPLOYMENTS + "/nginx/scale").json()
    assert (scale["kind"], scale["apiVersion"]) == ("Scale", "autoscaling/v1")
    assert scale["spec"] == {"replicas": 6}
    assert scale["status"]["selector"] == "app=nginx"
    scale["spec"]["replicas"] = 8
    updated = send(api, "put", DEPLOYMENTS + "/nginx/scale", scale)
    assert updated.json()["spec"]["replicas"] == 8
    assert_status(send(api, "put", DEPLOYMENTS + "/nginx/scale", scale), 409, "Conflict")
    scale["spec"]["replicas"] = -1
    del scale["metadata"]["resourceVersion"]
    assert_status(send(api, "put", DEPLOYMENTS + "/nginx/scale", scale), 422, "Invalid")


def test_eviction_deletes_gracefully(api: Client, demo: Cluster) -> None:
    running = KubeObject.objects.filter(cluster=demo, kind="Pod", phase="Running").first()
    eviction = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": running.name, "namespace": "default"},
    }
    response = send(api, "post", PODS + f"/{running.name}/eviction", eviction)
    assert response.status_code == 201
    assert response.json()["status"] == "Success"
    assert stored(demo, "Pod", running.name).body["metadata"]["deletionTimestamp"]
    assert_status(send(api, "post", PODS + "/missing/eviction", eviction), 404, "NotFound")


def test_binding_assigns_a_node_once(api: Client, demo: Cluster) -> None:
    send(api, "post", PODS, pod(schedulerName="my-scheduler"))
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "web"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "node-2"},
    }
    assert send(api, "post", PODS + "/web/binding", binding).status_code == 201
    assert stored(demo, "Pod", "web").node_name == "node-2"
    assert_status(send(api, "post", PODS + "/web/binding", binding), 409, "Conflict")


def test_pod_log(api: Client, demo: Cluster) -> None:
    running = KubeObject.objects.filter(cluster=demo, kind="Pod", phase="Running").first()
    response = api.get(PODS + f"/{running.name}/log")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain"
    assert "start worker processes" in response.content.decode()
    tail = api.get(PODS + f"/{running.name}/log", {"tailLines": "1", "timestamps": "true"})
    (line,) = tail.content.decode().splitlines()
    assert line.endswith("start worker processes") and "T" in line.split()[0]
    send(api, "post", PODS, pod())
    body = assert_status(api.get(PODS + "/web/log"), 400, "BadRequest")
    assert body["message"] == 'container "app" in pod "web" is waiting to start: ContainerCreating'
