"""Filter plugins and the request arithmetic they read (pod requests, node usage)."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.scheduling.filters import (
    node_affinity,
    node_name,
    node_resources_fit,
    node_unschedulable,
    taint_toleration,
)
from cluster.scheduling.quantity import QUANTITY_FORMAT_ERROR, QuantityError
from cluster.scheduling.types import (
    NodeInfo,
    PodInfo,
    Resources,
    Taint,
    Toleration,
    node_info_from_body,
    pod_info_from_body,
    pod_requests,
)

MI = 2**20
GI = 2**30
UNREACHABLE = "node.kubernetes.io/unreachable"


def node(name: str = "node-1", **kw: Any) -> NodeInfo:
    kw.setdefault("allocatable", Resources(2000, 4 * GI, 110))
    return NodeInfo(name=name, **kw)


def pod(cpu: int = 0, memory: int = 0, **kw: Any) -> PodInfo:
    return PodInfo("default", "web", requests=Resources(cpu, memory, 1), **kw)


UNSCHEDULABLE = [
    ("schedulable node", node(), pod(), None),
    ("cordoned node", node(unschedulable=True), pod(), "node(s) were unschedulable"),
    (
        "tolerates the unschedulable taint",
        node(unschedulable=True),
        pod(
            tolerations=(
                Toleration("node.kubernetes.io/unschedulable", "Exists", effect="NoSchedule"),
            )
        ),
        None,
    ),
    (
        "tolerates everything",
        node(unschedulable=True),
        pod(tolerations=(Toleration(operator="Exists"),)),
        None,
    ),
    (
        "wrong effect",
        node(unschedulable=True),
        pod(
            tolerations=(
                Toleration("node.kubernetes.io/unschedulable", "Exists", effect="NoExecute"),
            )
        ),
        "node(s) were unschedulable",
    ),
]


@pytest.mark.parametrize(
    ("n", "p", "reason"), [c[1:] for c in UNSCHEDULABLE], ids=[c[0] for c in UNSCHEDULABLE]
)
def test_node_unschedulable(n: NodeInfo, p: PodInfo, reason: str | None) -> None:
    """A cordoned node rejects pods unless they tolerate node.kubernetes.io/unschedulable."""
    assert node_unschedulable(p, n) == reason


NODE_NAME = [
    ("no nodeName", pod(), None),
    ("same node", pod(node_name="node-1"), None),
    ("other node", pod(node_name="node-2"), "node(s) didn't match the requested node name"),
]


@pytest.mark.parametrize(("p", "reason"), [c[1:] for c in NODE_NAME], ids=[c[0] for c in NODE_NAME])
def test_node_name(p: PodInfo, reason: str | None) -> None:
    """A pre-set spec.nodeName only fits that node."""
    assert node_name(p, node("node-1")) == reason


TAINTS = [
    ("no taints", (), (), None),
    (
        "unreachable NoSchedule, empty value",
        (Taint(UNREACHABLE, effect="NoSchedule"),),
        (),
        "node(s) had untolerated taint {node.kubernetes.io/unreachable: }",
    ),
    (
        "value shown",
        (Taint("dedicated", "gpu"),),
        (),
        "node(s) had untolerated taint {dedicated: gpu}",
    ),
    (
        "NoExecute blocks too",
        (Taint("k", "v", "NoExecute"),),
        (),
        "node(s) had untolerated taint {k: v}",
    ),
    ("PreferNoSchedule does not block", (Taint("k", "v", "PreferNoSchedule"),), (), None),
    (
        "first untolerated reported",
        (Taint("a", "1"), Taint("b", "2"), Taint("c", "3")),
        (Toleration("a", "Exists"),),
        "node(s) had untolerated taint {b: 2}",
    ),
    (
        "tolerated",
        (Taint(UNREACHABLE, effect="NoExecute"),),
        (Toleration(UNREACHABLE, "Exists", effect="NoExecute", toleration_seconds=300),),
        None,
    ),
]


@pytest.mark.parametrize(
    ("taints", "tolerations", "reason"), [c[1:] for c in TAINTS], ids=[c[0] for c in TAINTS]
)
def test_taint_toleration(
    taints: tuple[Taint, ...], tolerations: tuple[Toleration, ...], reason: str | None
) -> None:
    """The first NoSchedule/NoExecute taint the pod does not tolerate, as ``{key: value}``."""
    assert taint_toleration(pod(tolerations=tolerations), node(taints=taints)) == reason


AFFINITY = [
    ("no selector", {}, {"disk": "ssd"}, None),
    ("matching", {"disk": "ssd"}, {"disk": "ssd", "zone": "a"}, None),
    (
        "value differs",
        {"disk": "ssd"},
        {"disk": "hdd"},
        "node(s) didn't match Pod's node affinity/selector",
    ),
    ("label missing", {"disk": "ssd"}, {}, "node(s) didn't match Pod's node affinity/selector"),
    (
        "all must match",
        {"disk": "ssd", "zone": "b"},
        {"disk": "ssd", "zone": "a"},
        "node(s) didn't match Pod's node affinity/selector",
    ),
]


@pytest.mark.parametrize(
    ("selector", "labels", "reason"), [c[1:] for c in AFFINITY], ids=[c[0] for c in AFFINITY]
)
def test_node_affinity(
    selector: dict[str, str], labels: dict[str, str], reason: str | None
) -> None:
    """Every nodeSelector label must be on the node with the same value."""
    assert node_affinity(pod(node_selector=selector), node(labels=labels)) == reason


FIT = [
    ("fits", Resources(1000, GI, 3), pod(500, GI), ()),
    ("exactly full", Resources(1000, GI, 3), pod(1000, 3 * GI), ()),
    ("cpu short", Resources(1500, 0, 1), pod(600), ("Insufficient cpu",)),
    ("memory short", Resources(0, 3 * GI, 1), pod(100, 2 * GI), ("Insufficient memory",)),
    (
        "both short",
        Resources(1900, 4 * GI, 1),
        pod(200, MI),
        ("Insufficient cpu", "Insufficient memory"),
    ),
    ("pod slots full", Resources(0, 0, 110), pod(), ("Too many pods",)),
    (
        "everything short",
        Resources(2000, 4 * GI, 110),
        pod(1, 1),
        ("Too many pods", "Insufficient cpu", "Insufficient memory"),
    ),
    ("request-less pod fits a full node", Resources(2000, 4 * GI, 5), pod(), ()),
    ("overcommitted node, request-less pod", Resources(5000, 8 * GI, 5), pod(), ()),
]


@pytest.mark.parametrize(
    ("requested", "p", "reasons"), [c[1:] for c in FIT], ids=[c[0] for c in FIT]
)
def test_node_resources_fit(requested: Resources, p: PodInfo, reasons: tuple[str, ...]) -> None:
    """Every resource the node lacks is reported (pods, cpu, memory); real requests only."""
    assert node_resources_fit(p, node(requested=requested)) == reasons


def test_node_resources_fit_ignores_nonzero_defaults() -> None:
    """Filtering uses real requests: a request-less pod fits where its 100m default would not."""
    full = node(allocatable=Resources(100, GI, 10), requested=Resources(100, GI, 1))
    assert node_resources_fit(PodInfo("default", "web"), full) == ()


# --- the requests the filters read -------------------------------------------------------------


def container(
    requests: dict[str, Any] | None = None, limits: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if requests is not None:
        resources["requests"] = requests
    if limits is not None:
        resources["limits"] = limits
    return {"name": "c", "image": "nginx", "resources": resources, **extra}


NZ_CPU, NZ_MEM = 100, 200 * MI

REQUESTS = [
    (
        "one container",
        {"containers": [container({"cpu": "250m", "memory": "64Mi"})]},
        Resources(250, 64 * MI, 1),
        Resources(250, 64 * MI, 1),
    ),
    (
        "no requests at all",
        {"containers": [container()]},
        Resources(0, 0, 1),
        Resources(NZ_CPU, NZ_MEM, 1),
    ),
    (
        "limits default requests",
        {"containers": [container(limits={"cpu": "1", "memory": "1Gi"})]},
        Resources(1000, GI, 1),
        Resources(1000, GI, 1),
    ),
    (
        "request wins over limit",
        {"containers": [container({"cpu": "200m"}, {"cpu": "1"})]},
        Resources(200, 0, 1),
        Resources(200, NZ_MEM, 1),
    ),
    (
        "non-zero default per container",
        {"containers": [container({"cpu": "500m"}), container({"memory": "1Gi"}), container()]},
        Resources(500, GI, 1),
        Resources(500 + 2 * NZ_CPU, GI + 2 * NZ_MEM, 1),
    ),
    (
        "explicit zero stays zero",
        {"containers": [container({"cpu": "0", "memory": "0"})]},
        Resources(0, 0, 1),
        Resources(0, 0, 1),
    ),
    (
        "init container larger than app sum",
        {
            "initContainers": [container({"cpu": "2", "memory": "10Mi"})],
            "containers": [
                container({"cpu": "500m", "memory": "64Mi"}),
                container({"cpu": "500m", "memory": "64Mi"}),
            ],
        },
        Resources(2000, 128 * MI, 1),
        Resources(2000, 128 * MI, 1),
    ),
    (
        "largest init container, not their sum",
        {
            "initContainers": [container({"cpu": "1"}), container({"cpu": "1500m"})],
            "containers": [container({"cpu": "100m"})],
        },
        Resources(1500, 0, 1),
        Resources(1500, NZ_MEM, 1),
    ),
    (
        "sidecar adds to the app containers",
        {
            "initContainers": [container({"cpu": "100m"}, restartPolicy="Always")],
            "containers": [container({"cpu": "300m"})],
        },
        Resources(400, 0, 1),
        Resources(400, 2 * NZ_MEM, 1),
    ),
    (
        "init container runs beside earlier sidecars",
        {
            "initContainers": [
                container({"cpu": "200m"}, restartPolicy="Always"),
                container({"cpu": "1"}),
            ],
            "containers": [container({"cpu": "300m"})],
        },
        Resources(1200, 0, 1),
        Resources(1200, 2 * NZ_MEM, 1),
    ),
    (
        "overhead is added",
        {"containers": [container({"cpu": "100m"})], "overhead": {"cpu": "50m", "memory": "10Mi"}},
        Resources(150, 10 * MI, 1),
        Resources(150, NZ_MEM + 10 * MI, 1),
    ),
    (
        "JSON numbers",
        {"containers": [container({"cpu": 1, "memory": 1024})]},
        Resources(1000, 1024, 1),
        Resources(1000, 1024, 1),
    ),
]


@pytest.mark.parametrize(
    ("spec", "real", "nonzero"), [c[1:] for c in REQUESTS], ids=[c[0] for c in REQUESTS]
)
def test_pod_requests(spec: dict[str, Any], real: Resources, nonzero: Resources) -> None:
    """Requests sum over containers (limits default them), init containers take the max,
    and the non-zero variant counts each missing cpu/memory request as 100m/200Mi."""
    assert pod_requests(spec) == (real, nonzero)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"containers": [container({"cpu": "-1"})]},
            'spec.containers[0].resources.requests[cpu]: Invalid value: "-1": '
            "must be greater than or equal to 0",
        ),
        (
            {"containers": [container()], "initContainers": [container({"memory": "-1Mi"})]},
            'spec.initContainers[0].resources.requests[memory]: Invalid value: "-1Mi": '
            "must be greater than or equal to 0",
        ),
        (
            {"containers": [container({"cpu": "lots"})]},
            QUANTITY_FORMAT_ERROR,
        ),
    ],
    ids=["negative cpu", "negative init memory", "malformed"],
)
def test_invalid_requests_are_rejected(spec: dict[str, Any], message: str) -> None:
    """Requests the API server would refuse raise QuantityError with its wording."""
    with pytest.raises(QuantityError) as excinfo:
        pod_requests(spec)
    assert str(excinfo.value) == message


def test_pod_info_from_body() -> None:
    """A pod body gives its requests, tolerations, nodeName and nodeSelector."""
    body = {
        "metadata": {"name": "web-1", "namespace": "shop"},
        "spec": {
            "containers": [container({"cpu": "250m"})],
            "tolerations": [
                {
                    "key": UNREACHABLE,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                }
            ],
            "nodeSelector": {"disk": "ssd"},
            "nodeName": "node-2",
        },
    }
    info = pod_info_from_body(body)
    assert info == PodInfo(
        namespace="shop",
        name="web-1",
        requests=Resources(250, 0, 1),
        nonzero_requests=Resources(250, NZ_MEM, 1),
        tolerations=(Toleration(UNREACHABLE, "Exists", "", "NoExecute", 300),),
        node_name="node-2",
        node_selector={"disk": "ssd"},
    )


def test_node_info_from_body_skips_terminal_pods() -> None:
    """Allocatable, taints, cordon and labels come from the node; usage from its live pods."""
    body = {
        "metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"}},
        "spec": {"unschedulable": True, "taints": [{"key": UNREACHABLE, "effect": "NoSchedule"}]},
        "status": {"allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"}},
    }

    def bound(cpu: str, phase: str) -> dict[str, Any]:
        return {"spec": {"containers": [container({"cpu": cpu})]}, "status": {"phase": phase}}

    pods = [
        bound("500m", "Running"),
        bound("1", "Succeeded"),
        bound("1", "Failed"),
        bound("250m", "Pending"),
    ]
    info = node_info_from_body(body, pods)
    assert info == NodeInfo(
        name="node-1",
        allocatable=Resources(2000, 4 * GI, 110),
        requested=Resources(750, 0, 2),
        nonzero_requested=Resources(750, 2 * NZ_MEM, 2),
        taints=(Taint(UNREACHABLE, "", "NoSchedule"),),
        unschedulable=True,
        labels={"kubernetes.io/hostname": "node-1"},
    )


def test_with_pod_adds_both_request_kinds() -> None:
    """Binding a pod adds its real and non-zero requests and one pod to the node."""
    n = node().with_pod(PodInfo("default", "web", requests=Resources(100, MI, 1)))
    assert n.requested == Resources(100, MI, 1)
    assert n.nonzero_requested == Resources(NZ_CPU, NZ_MEM, 1)
