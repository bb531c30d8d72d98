"""Node and machine actions: add, remove, power off/on, cordon/uncordon.

A *Machine* is the simulated computer behind a node (kind ``Machine``, never served by the
Kubernetes API). Powering it off changes nothing in the API at that moment, exactly as pulling a
plug does: its kubelet simply stops renewing the Lease, and the node-lifecycle controller notices
later. Adding a machine does not create the Node either: its kubelet registers it on boot.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from cluster import k8s
from cluster.models import Cluster, KubeObject
from cluster.scheduling.quantity import (
    QuantityError,
    format_cpu,
    format_memory,
    parse_cpu,
    parse_memory,
)
from cluster.services import store
from cluster.services.errors import Invalid, LimitExceeded, not_found

TOO_MANY_NODES = "this cluster already has {count} nodes, the limit is {limit}"
ALREADY_OFF = "{name} is already powered off"
ALREADY_ON = "{name} is already powered on"


def machine_get(*, cluster: Cluster, name: str) -> KubeObject:
    obj = KubeObject.objects.filter(cluster=cluster, kind="Machine", name=name).first()
    if obj is None:
        raise not_found("Node", name)
    obj.cluster = cluster
    return obj


def node_get(*, cluster: Cluster, name: str) -> KubeObject:
    obj = KubeObject.objects.filter(cluster=cluster, kind="Node", name=name).first()
    if obj is None:
        raise not_found("Node", name)
    obj.cluster = cluster
    return obj


def _next_node_name(cluster: Cluster) -> str:
    taken = set(
        KubeObject.objects.filter(cluster=cluster, kind="Machine").values_list("name", flat=True)
    )
    i = 1
    while f"node-{i}" in taken:
        i += 1
    return f"node-{i}"


def node_add(
    *,
    cluster: Cluster,
    name: str | None = None,
    cpu: str = "2",
    memory: str = "4Gi",
    pods: int = 110,
    control_plane: bool = False,
    actor: str = "user",
) -> KubeObject:
    """Add a powered-on machine; its kubelet registers the Node on its first sync."""
    name = (name or "").strip() or _next_node_name(cluster)
    causes = [{"field": "name", "message": m} for m in k8s.name_errors(name)]
    try:
        cpu_m = parse_cpu(cpu)
        mem_b = parse_memory(memory)
    except QuantityError as exc:
        causes.append({"field": "capacity", "message": str(exc)})
        cpu_m = mem_b = 0
    if not causes and (cpu_m <= 0 or mem_b <= 0):
        causes.append({"field": "capacity", "message": "CPU and memory must be greater than zero"})
    if not 1 <= int(pods) <= 1000:
        causes.append({"field": "pods", "message": "must be between 1 and 1000"})
    if causes:
        raise Invalid(
            f'Node "{name}" is invalid: ' + "; ".join(c["message"] for c in causes), causes=causes
        )
    limit = settings.K8SVIZ_MAX_NODES
    count = KubeObject.objects.filter(cluster=cluster, kind="Machine").count()
    if count >= limit:
        raise LimitExceeded(TOO_MANY_NODES.format(count=count, limit=limit))
    body = {
        "kind": "Machine",
        "metadata": {"name": name},
        "spec": {
            "powered": True,
            "kubelet": True,
            "controlPlane": control_plane,
            "capacity": {
                "cpu": format_cpu(cpu_m),
                "memory": format_memory(mem_b),
                "pods": str(int(pods)),
            },
        },
    }
    return store.object_create(cluster=cluster, body=body, actor=actor)


def _set_power(*, cluster: Cluster, name: str, powered: bool, actor: str) -> KubeObject:
    machine = machine_get(cluster=cluster, name=name)
    if bool(machine.spec.get("powered")) == powered:
        raise Invalid((ALREADY_ON if powered else ALREADY_OFF).format(name=name))
    machine.spec["powered"] = powered
    return store.object_update(obj=machine, actor=actor, spec_changed=True)


def node_power_off(*, cluster: Cluster, name: str, actor: str = "user") -> KubeObject:
    return _set_power(cluster=cluster, name=name, powered=False, actor=actor)


def node_power_on(*, cluster: Cluster, name: str, actor: str = "user") -> KubeObject:
    return _set_power(cluster=cluster, name=name, powered=True, actor=actor)


def _set_unschedulable(*, cluster: Cluster, name: str, value: bool, actor: str) -> KubeObject:
    node = node_get(cluster=cluster, name=name)
    if bool(node.spec.get("unschedulable")) == value:
        return node
    if value:
        node.spec["unschedulable"] = True
    else:
        node.spec.pop("unschedulable", None)
    return store.object_update(obj=node, actor=actor, spec_changed=True)


def node_cordon(*, cluster: Cluster, name: str, actor: str = "user") -> KubeObject:
    """kubectl cordon: spec.unschedulable=true; running pods are not touched."""
    return _set_unschedulable(cluster=cluster, name=name, value=True, actor=actor)


def node_uncordon(*, cluster: Cluster, name: str, actor: str = "user") -> KubeObject:
    return _set_unschedulable(cluster=cluster, name=name, value=False, actor=actor)


def node_remove(*, cluster: Cluster, name: str, actor: str = "user") -> None:
    """Decommission a machine: it is switched off and its Node object deleted. The pod
    garbage collector then removes the pods still bound to the vanished node."""
    with transaction.atomic():
        machine = machine_get(cluster=cluster, name=name)
        node = KubeObject.objects.filter(cluster=cluster, kind="Node", name=name).first()
        store.object_remove(obj=machine, actor=actor)
        if node is not None:
            node.cluster = cluster
            store.object_remove(obj=node, actor=actor)
