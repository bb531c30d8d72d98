"""kubectl 1.32's protobuf request bodies: decoded into the JSON kubectl would have sent.

The bodies are real: a small capture server records what ``/usr/bin/kubectl create ...``
posts, and the decoded dict must equal kubectl's ``--dry-run=client -o json`` for the same
command. Hand-built messages cover the fields kubectl's shortcuts never set (a Pod's probes,
env sources, volumes, tolerations) and the malformed bodies. The end-to-end tests run the
shortcuts against the real server, with a worker where the pods must run."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from cluster.api.protobuf import MAGIC, ProtobufError, UnsupportedKind, decode
from cluster.api.status import PROTOBUF_REFUSED
from cluster.models import Cluster, KubeObject
from tests.api.test_api_views import BASE, assert_status
from tests.api.test_kubectl_writes import wait_for
from tests.api.test_writes import DEPLOYMENTS, send, stored
from tests.conftest import KUBECTL

PROTOBUF = "application/vnd.kubernetes.protobuf"


# --- a protobuf writer for hand-built messages ---------------------------------------------------


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative numbers as Go writes them: ten bytes, two's complement
    out = bytearray()
    while True:
        if n < 0x80:
            return bytes(out + bytes([n]))
        out.append(n & 0x7F | 0x80)
        n >>= 7


def num(field: int, n: int) -> bytes:
    return varint(field << 3) + varint(n)


def text(field: int, value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return varint(field << 3 | 2) + varint(len(raw)) + raw


def msg(field: int, *parts: bytes) -> bytes:
    return text(field, b"".join(parts))


def envelope(api_version: str, kind: str, raw: bytes = b"", encoding: str = "") -> bytes:
    """``k8s\\0`` + runtime.Unknown {typeMeta{apiVersion=1, kind=2}=1, raw=2, contentEncoding=3,
    contentType=4}, as client-go writes it."""
    type_meta = msg(1, text(1, api_version), text(2, kind))
    return MAGIC + type_meta + text(2, raw) + text(3, encoding) + text(4, "")


# --- real kubectl bodies -------------------------------------------------------------------------


class _Capture(BaseHTTPRequestHandler):
    """Just enough of an API server for ``kubectl create``: the dispatcher's /version (1.32, so
    it runs kubectl 1.32) and a 201 for any POST, whose body is kept."""

    bodies: list[tuple[str, str, bytes]]

    def _reply(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.startswith("/version"):
            self._reply(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.4"})
        else:
            self._reply(404, {"kind": "Status", "apiVersion": "v1", "code": 404})

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.bodies.append((self.path, self.headers.get("Content-Type", ""), raw))
        self._reply(201, {"metadata": {"name": "x"}})

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """``capture(*args)`` runs kubectl against the capture server and returns
    ``(content type, body it posted, its --dry-run=client -o json output)``."""
    if not KUBECTL.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("kubectl missing in CI: /usr/bin/kubectl is required", pytrace=False)
        pytest.skip("!!!!! kubectl missing: the capture tests need /usr/bin/kubectl !!!!!")
    home = tmp_path_factory.mktemp("capture")
    handler = type("Capture", (_Capture,), {"bodies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    config = home / "kubeconfig"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "c", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}
                ],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "KUBECONFIG": str(config),
    }

    def run(*args: str) -> tuple[str, bytes, dict]:
        def kubectl(*extra: str) -> str:
            result = subprocess.run(
                [str(KUBECTL), *args[:2], *extra, *args[2:]],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert result.returncode == 0, result.stderr
            return result.stdout

        handler.bodies.clear()
        kubectl()
        [(_path, content_type, raw)] = handler.bodies
        dry_run = json.loads(kubectl("--dry-run=client", "-o", "json"))
        return content_type, raw, dry_run

    yield run
    server.shutdown()
    thread.join()


SHORTCUTS = [
    pytest.param(["create", "deployment", "web", "--image=nginx:1.27"], id="deployment"),
    pytest.param(
        ["create", "deployment", "web", "--image=nginx:1.27", "--replicas=3", "--port=80"],
        id="deployment-replicas-port",
    ),
    pytest.param(
        ["create", "deployment", "idle", "--image=nginx", "--replicas=0"], id="zero-replicas"
    ),
    pytest.param(
        ["create", "deployment", "job", "--image=busybox", "--", "sh", "-c", "sleep 3600"],
        id="deployment-command",
    ),
    pytest.param(
        ["create", "deployment", "two", "--image=nginx", "--image=redis", "-n", "team-a"],
        id="deployment-two-images-namespace",
    ),
    pytest.param(["create", "namespace", "team-a"], id="namespace"),
    pytest.param(["create", "service", "nodeport", "x", "--tcp=80:8080"], id="service-nodeport"),
    pytest.param(
        ["create", "service", "clusterip", "web", "--tcp=80:http", "--tcp=443:8443"],
        id="service-two-ports-named-target",
    ),
    pytest.param(["create", "service", "clusterip", "hl", "--clusterip=None"], id="headless"),
    pytest.param(
        ["create", "service", "nodeport", "np", "--tcp=80", "--node-port=30080"],
        id="service-nodeport-fixed",
    ),
    pytest.param(
        ["create", "service", "loadbalancer", "lb", "--tcp=80:http"],
        id="service-loadbalancer",
    ),
]


@pytest.mark.parametrize("args", SHORTCUTS)
def test_kubectl_body_decodes_to_its_json(capture, args: list[str]) -> None:
    """What kubectl posts as protobuf decodes to exactly what it prints as JSON, including the
    zero values Go writes (``replicas: 0``, ``creationTimestamp: null``, ``status: {}``) and
    none of the ones it omits (``generateName: ""``, ``stdin: false``)."""
    content_type, raw, as_json = capture(*args)
    assert content_type == PROTOBUF
    assert raw.startswith(MAGIC)
    assert decode(raw) == as_json


# --- hand-built messages -------------------------------------------------------------------------

POD = (
    msg(
        1,  # metadata
        text(1, "web"),
        text(2, ""),
        num(7, 0),
        msg(8),  # creationTimestamp: the zero Time
        msg(9, num(1, 1_700_000_000), num(2, 5)),  # deletionTimestamp
        msg(11, text(1, "app"), text(2, "web")),
        msg(12, text(1, "note"), text(2, "")),
        msg(
            13,
            text(5, "apps/v1"),
            text(1, "ReplicaSet"),
            text(3, "web-1"),
            text(4, "u1"),
            num(6, 1),
        ),
    )
    + msg(
        2,  # spec
        msg(1, text(1, "data"), msg(2, msg(2, text(1, ""), msg(2, text(1, "1Gi"))))),
        msg(
            2,
            text(1, "app"),
            text(2, "nginx"),
            text(3, "sh"),
            text(3, "-c"),
            msg(6, text(1, ""), num(3, 0)),  # containerPort has no omitempty: 0 stays
            msg(7, text(1, "MODE"), text(2, "demo")),
            msg(7, text(1, "POD"), msg(3, msg(1, text(2, "metadata.name")))),
            msg(7, text(1, "PW"), msg(3, msg(4, msg(1, text(1, "db")), text(2, "pw")))),
            msg(
                8,
                msg(1, text(1, "cpu"), msg(2, text(1, "500m"))),
                msg(2, text(1, "memory"), msg(2, text(1, "64Mi"))),
            ),
            msg(9, text(1, "data"), num(2, 1), text(3, "/data")),
            msg(10, msg(1, msg(3, msg(1, num(1, 0), num(2, 8080)))), num(4, 10)),
            msg(11, msg(1, msg(2, text(1, "/healthz"), msg(2, num(1, 1), text(3, "http"))))),
            num(16, 0),
        ),
        text(3, "Always"),
        num(4, 0),  # terminationGracePeriodSeconds is a pointer: an explicit 0 stays
        msg(7, text(1, "disk"), text(2, "ssd")),
        msg(
            22,
            text(1, "node.kubernetes.io/unreachable"),
            text(2, "Exists"),
            text(4, "NoExecute"),
            num(5, 300),
        ),
        num(25, -5),
        num(99, 7),  # unknown fields are skipped, whatever their wire type or content
        text(98, b"\xff\xfe"),
        varint(97 << 3 | 5) + b"\x00\x00\x00\x00",
        varint(96 << 3 | 1) + b"\x00" * 8,
    )
    + msg(3, text(1, "Pending"))
)

POD_JSON = {
    "kind": "Pod",
    "apiVersion": "v1",
    "metadata": {
        "name": "web",
        "creationTimestamp": None,
        "deletionTimestamp": "2023-11-14T22:13:20Z",
        "labels": {"app": "web"},
        "annotations": {"note": ""},
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web-1",
                "uid": "u1",
                "controller": True,
            }
        ],
    },
    "spec": {
        "volumes": [{"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}],
        "containers": [
            {
                "name": "app",
                "image": "nginx",
                "command": ["sh", "-c"],
                "ports": [{"containerPort": 0}],
                "env": [
                    {"name": "MODE", "value": "demo"},
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
                ],
                "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}},
                "volumeMounts": [{"name": "data", "readOnly": True, "mountPath": "/data"}],
                "livenessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 10},
                "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
            }
        ],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 0,
        "nodeSelector": {"disk": "ssd"},
        "tolerations": [
            {
                "key": "node.kubernetes.io/unreachable",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            }
        ],
        "priority": -5,
    },
    "status": {"phase": "Pending"},
}


def test_pod_fields_kubectl_never_sets() -> None:
    """Probes with IntOrString ports, env from fields and secrets (an inlined
    LocalObjectReference), Quantity maps, volumes, tolerations, a Time, a negative int32."""
    assert decode(envelope("v1", "Pod", POD)) == POD_JSON


def test_replicaset_status_keeps_replicas_zero() -> None:
    """ReplicaSetStatus.replicas has no omitempty: Go's JSON says ``replicas: 0``."""
    body = envelope(
        "apps/v1",
        "ReplicaSet",
        msg(1, text(1, "web-1"))
        + msg(2, num(1, 2), msg(2, msg(2, text(1, "app"), text(2, "In"), text(3, "web"))))
        + msg(3, num(1, 0), num(2, 0)),
    )
    assert decode(body) == {
        "kind": "ReplicaSet",
        "apiVersion": "apps/v1",
        "metadata": {"name": "web-1"},
        "spec": {
            "replicas": 2,
            "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]},
        },
        "status": {"replicas": 0},
    }


def test_rolling_update_percentages_and_numbers() -> None:
    strategy = msg(
        4, text(1, "RollingUpdate"), msg(2, msg(1, num(1, 1), text(3, "25%")), msg(2, num(2, 2)))
    )
    decoded = decode(envelope("apps/v1", "Deployment", msg(2, strategy)))
    assert decoded["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 2},
    }


MALFORMED = [
    pytest.param(b'{"kind": "Pod"}', "does not start with", id="no-prefix"),
    pytest.param(MAGIC + b"\x0a\x05ab", "runs past the end", id="truncated"),
    pytest.param(MAGIC + b"\x0b", "wire type 3", id="group"),
    pytest.param(MAGIC + b"\x08" + b"\xff" * 11, "varint", id="long-varint"),
    pytest.param(MAGIC + b"\x08", "truncated varint", id="truncated-varint"),
    pytest.param(MAGIC + text(2, b""), "no apiVersion and kind", id="no-type-meta"),
    pytest.param(envelope("v1", "Pod", b"", encoding="gzip"), "content encoding", id="encoding"),
    pytest.param(envelope("v1", "Pod", num(1, 5)), "Pod.metadata: wire type 0", id="wire-type"),
    pytest.param(envelope("v1", "Pod", msg(1, text(1, b"\xff"))), "UTF-8", id="bad-utf8"),
    pytest.param(
        envelope("v1", "Pod", msg(2, msg(2, varint(1 << 3 | 2) + b"\x05ab"))),
        "runs past the end",
        id="truncated-nested",
    ),
]


@pytest.mark.parametrize(("body", "message"), MALFORMED)
def test_malformed_bodies_are_protobuf_errors(body: bytes, message: str) -> None:
    with pytest.raises(ProtobufError, match=message):
        decode(body)


def test_service_decodes_ports_selector_and_int_or_string_targets() -> None:
    """A Service as client-go writes it: ``port`` kept even when zero, a named ``targetPort``
    as a string, ``status: {loadBalancer: {}}`` from the always-written structs."""
    port = msg(1, text(1, "http"), text(2, "TCP"), num(3, 80), msg(4, num(1, 1), text(3, "web")))
    spec = msg(2, port, msg(2, text(1, "app"), text(2, "web")), text(4, "NodePort"))
    status = msg(3, msg(1))
    body = decode(envelope("v1", "Service", msg(1, text(1, "web")) + spec + status))
    assert body["spec"] == {
        "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": "web"}],
        "selector": {"app": "web"},
        "type": "NodePort",
    }
    assert body["status"] == {"loadBalancer": {}}


def test_kinds_without_a_schema_are_unsupported() -> None:
    with pytest.raises(UnsupportedKind) as raised:
        decode(envelope("v1", "ConfigMap", msg(1, text(1, "x"))))
    assert (raised.value.api_version, raised.value.kind) == ("v1", "ConfigMap")


# --- through the API -----------------------------------------------------------------------------


@pytest.fixture
def api(token: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {token}", "User-Agent": "kubectl/v1.32.4"})


def deployment_body(name: str) -> bytes:
    labels = msg(11, text(1, "app"), text(2, name))
    container = msg(2, text(1, "app"), text(2, "nginx:1.27"), msg(8))
    selector = msg(2, msg(1, text(1, "app"), text(2, name)))
    spec = msg(2, num(1, 2), selector, msg(3, msg(1, labels), msg(2, container)), msg(4))
    return envelope("apps/v1", "Deployment", msg(1, text(1, name), msg(8), labels) + spec)


@pytest.mark.django_db
def test_protobuf_create_is_stored(api: Client, demo: Cluster) -> None:
    response = send(api, "post", DEPLOYMENTS, deployment_body("web"), PROTOBUF)
    assert response.status_code == 201, response.content
    obj = stored(demo, "Deployment", "web")
    assert obj is not None
    assert obj.body["spec"]["replicas"] == 2
    assert obj.body["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"


@pytest.mark.django_db
def test_malformed_protobuf_is_400(api: Client, demo: Cluster) -> None:
    body = assert_status(
        send(api, "post", DEPLOYMENTS, MAGIC + b"\x0b", PROTOBUF), 400, "BadRequest"
    )
    assert body["message"] == "error decoding request body: unsupported wire type 3 for field 1"


@pytest.mark.django_db
def test_protobuf_of_other_kinds_is_415_with_the_json_route(api: Client, demo: Cluster) -> None:
    url = BASE + "/api/v1/namespaces/default/pods/web/eviction"
    body = envelope("policy/v1", "Eviction", msg(1, text(1, "web")))
    answer = assert_status(send(api, "post", url, body, PROTOBUF), 415, "UnsupportedMediaType")
    assert answer["message"] == PROTOBUF_REFUSED
    assert "--dry-run=client -o yaml | kubectl apply -f -" in answer["message"]


# --- real kubectl, real server -------------------------------------------------------------------


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def running_pods(cluster: Cluster, app: str) -> int:
    return sum(
        (b["metadata"].get("labels") or {}).get("app") == app
        for b in KubeObject.objects.filter(
            cluster=cluster, kind="Pod", phase="Running"
        ).values_list("body", flat=True)
    )


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_kubectl_create_deployment_runs_its_pods(kubectl, celery_worker_proc) -> None:
    cluster = Cluster.objects.get(name="demo")
    out = ok(kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=3"))
    assert out == "deployment.apps/web created"
    deployment = KubeObject.objects.get(cluster=cluster, kind="Deployment", name="web")
    assert deployment.body["spec"]["replicas"] == 3
    assert deployment.body["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    wait_for(lambda: running_pods(cluster, "web") == 3, what="3 web pods running")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_kubectl_create_namespace_then_a_deployment_in_it(kubectl) -> None:
    assert ok(kubectl("create", "namespace", "team-a")) == "namespace/team-a created"
    out = ok(kubectl("create", "deployment", "api", "--image=nginx", "-n", "team-a"))
    assert out == "deployment.apps/api created"
    assert ok(kubectl("get", "deploy", "-n", "team-a", "-o", "name")) == "deployment.apps/api"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_kubectl_create_refusals(kubectl) -> None:
    """An invalid name is the server's 422, which kubectl's typed create prints after "failed
    to create deployment:"; a kind the simulator does not serve is the 404 for an unknown path
    (the typed client posts without discovery, and the path fails before the body is read)."""
    bad = kubectl("create", "deployment", "Bad_Name", "--image=nginx")
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        'error: failed to create deployment: Deployment.apps "Bad_Name" is invalid: '
        'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist '
        "of lower case alphanumeric characters, '-' or '.', and must start and end with an "
        "alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    )
    configmap = kubectl("create", "configmap", "x", "--from-literal=a=b")
    assert configmap.returncode == 1
    assert configmap.stderr.strip() == (
        "error: failed to create configmap: the server could not find the requested resource"
    )


def test_hpa_bodies_decode_in_both_autoscaling_versions() -> None:
    """kubectl 1.32's ``autoscale`` posts an autoscaling/v1 HPA; a v2 one decodes its metrics
    and behaviour (minReplicas kept even when zero: it is a pointer)."""
    ref = msg(1, text(1, "Deployment"), text(2, "nginx"), text(3, "apps/v1"))
    v1 = decode(
        envelope(
            "autoscaling/v1",
            "HorizontalPodAutoscaler",
            msg(1, text(1, "nginx")) + msg(2, ref, num(2, 2), num(3, 10), num(4, 50)),
        )
    )
    assert v1["spec"] == {
        "scaleTargetRef": {"kind": "Deployment", "name": "nginx", "apiVersion": "apps/v1"},
        "minReplicas": 2,
        "maxReplicas": 10,
        "targetCPUUtilizationPercentage": 50,
    }
    target = msg(2, text(1, "Utilization"), num(4, 60))
    metric = msg(4, text(1, "Resource"), msg(4, text(1, "cpu"), target))
    policy = msg(2, text(1, "Pods"), num(2, 1), num(3, 60))
    behavior = msg(5, msg(2, text(1, "Min"), policy, num(3, 120)))
    v2 = decode(
        envelope(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            msg(1, text(1, "web")) + msg(2, ref, num(2, 0), num(3, 4), metric, behavior),
        )
    )
    assert v2["spec"]["minReplicas"] == 0
    assert v2["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 60},
            },
        }
    ]
    assert v2["spec"]["behavior"] == {
        "scaleDown": {
            "selectPolicy": "Min",
            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}],
            "stabilizationWindowSeconds": 120,
        }
    }
