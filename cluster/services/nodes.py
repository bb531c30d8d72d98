"""Node and machine actions: add, remove, power off/on, cordon/uncordon, and the failure modes:
kubelet stop/start, network partition/heal, memory/disk pressure, drain (docs/nodes.md).

A *Machine* is the simulated computer behind a node (kind ``Machine``, never served by the
Kubernetes API). Powering it off changes nothing in the API at that moment, exactly as pulling a
plug does: its kubelet simply stops renewing the Lease, and the node-lifecycle controller notices
later. Adding a machine does not create the Node either: its kubelet registers it on boot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
POWERED_OFF = "{name} is powered off"
KUBELET_ALREADY_STOPPED = "kubelet on {name} is already stopped"
KUBELET_ALREADY_RUNNING = "kubelet on {name} is already running"
ALREADY_PARTITIONED = "{name} is already cut off from the control plane"
NOT_PARTITIONED = "{name} is not partitioned"
PRESSURE_UNKNOWN = 'unknown pressure "{kind}": use memory or disk'
PRESSURE_ALREADY_ON = "{name} is already under {kind} pressure"
PRESSURE_ALREADY_OFF = "{name} is not under {kind} pressure"
NODE_NOT_REGISTERED = "{name} has no Node yet: its kubelet has not registered it"
#: The pressure a teacher can toggle -> the Machine spec field the kubelet reads.
PRESSURE_KINDS = {"memory": "memoryPressure", "disk": "diskPressure"}


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
    from cluster.services.clusters import cluster_limits  # noqa: PLC0415 - clusters imports us

    limit = int(cluster_limits(cluster)["nodes"])
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


def _toggle(
    *, cluster: Cluster, name: str, field: str, value: bool, already: str, actor: str, **fmt: str
) -> KubeObject:
    """Flip one switch of a powered-on machine, refusing a no-op with ``already``."""
    machine = machine_get(cluster=cluster, name=name)
    if not machine.spec.get("powered"):
        raise Invalid(POWERED_OFF.format(name=name))
    current = bool(machine.spec.get(field, field == "kubelet"))
    if current == value:
        raise Invalid(already.format(name=name, **fmt))
    machine.spec[field] = value
    return store.object_update(obj=machine, actor=actor, spec_changed=True)


def node_kubelet_stop(*, cluster: Cluster, name: str, actor: str = "user") -> KubeObject:
    """systemctl stop kubelet: the machine and its containers keep running, but nothing renews
    the Lease or posts status, so the node-lifecycle controller marks the node Unknown after
    the grace period and taint eviction follows."""
    return _toggle(
        cluster=cluster,
        name=name,
        field="kubelet",
        value=False,
        already=KUBELET_ALREADY_STOPPED,
        actor=actor,
    )


def node_kubelet_start(*, cluster: Cluster, name: str, actor: str = "user") -> KubeObject:
    """systemctl start kubelet: "Starting kubelet.", Ready again; running containers are kept
    and pods deleted meanwhile are killed."""
    return _toggle(
        cluster=cluster,
        name=name,
        field="kubelet",
        value=True,
        already=KUBELET_ALREADY_RUNNING,
        actor=actor,
    )


def node_partition(*, cluster: Cluster, name: str, actor: str = "user") -> KubeObject:
    """Cut the network between the node and the control plane: the kubelet runs but none of
    its Lease renewals or status updates arrive; its containers keep running."""
    return _toggle(
        cluster=cluster,
        name=name,
        field="partitioned",
        value=True,
        already=ALREADY_PARTITIONED,
        actor=actor,
    )


def node_heal(*, cluster: Cluster, name: str, actor: str = "user") -> KubeObject:
    """Restore the link: the kubelet re-posts its status and kills pods deleted meanwhile."""
    return _toggle(
        cluster=cluster,
        name=name,
        field="partitioned",
        value=False,
        already=NOT_PARTITIONED,
        actor=actor,
    )


def node_pressure_set(
    *, cluster: Cluster, name: str, kind: str, on: bool, actor: str = "user"
) -> KubeObject:
    """Put the node under (or relieve it of) memory or disk pressure: the kubelet reports the
    condition, the node-lifecycle controller taints the node NoSchedule, and the kubelet's
    eviction manager evicts pods (cluster/controllers/eviction.py says which)."""
    if kind not in PRESSURE_KINDS:
        raise Invalid(PRESSURE_UNKNOWN.format(kind=kind))
    return _toggle(
        cluster=cluster,
        name=name,
        field=PRESSURE_KINDS[kind],
        value=on,
        already=PRESSURE_ALREADY_ON if on else PRESSURE_ALREADY_OFF,
        actor=actor,
        kind=kind,
    )


# --- drain -----------------------------------------------------------------------------------

DS_FATAL = "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DS_WARNING = "ignoring DaemonSet-managed Pods"
LOCAL_FATAL = "cannot delete Pods with local storage (use --delete-emptydir-data to override)"
LOCAL_WARNING = "deleting Pods with local storage"
UNMANAGED_FATAL = "cannot delete Pods that declare no controller (use --force to override)"
UNMANAGED_WARNING = "deleting Pods that declare no controller"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


@dataclass
class DrainResult:
    """What ``kubectl drain`` prints, line by line, and what it evicted."""

    node: str
    lines: list[str] = field(default_factory=list)
    evicted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def drain_plan(
    pods: list[dict], *, force: bool, ignore_daemonsets: bool, delete_emptydir_data: bool
) -> tuple[list[dict], dict[str, list[str]], dict[str, list[str]]]:
    """kubectl drain's pod filters (k8s-reference §1.6), pure: which pods to evict, and the
    refusals and warnings, each listing ns/name. Finished pods are always deletable; mirror
    pods are skipped silently (the kubelet owns them)."""
    evict: list[dict] = []
    fatal: dict[str, list[str]] = {}
    warn: dict[str, list[str]] = {}
    for pod in pods:
        meta = pod["metadata"]
        ref = f"{meta.get('namespace', 'default')}/{meta['name']}"
        if pod.get("status", {}).get("phase") in k8s.TERMINAL_PHASES:
            evict.append(pod)
            continue
        if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
            continue
        owner = next(
            (o for o in meta.get("ownerReferences") or [] if o.get("controller")),
            None,
        )
        if owner is not None and owner.get("kind") == "DaemonSet":
            (warn if ignore_daemonsets else fatal).setdefault(
                DS_WARNING if ignore_daemonsets else DS_FATAL, []
            ).append(ref)
            continue
        if any("emptyDir" in v for v in pod.get("spec", {}).get("volumes") or []):
            if delete_emptydir_data:
                warn.setdefault(LOCAL_WARNING, []).append(ref)
            else:
                fatal.setdefault(LOCAL_FATAL, []).append(ref)
                continue
        if owner is None:
            if force:
                warn.setdefault(UNMANAGED_WARNING, []).append(ref)
            else:
                fatal.setdefault(UNMANAGED_FATAL, []).append(ref)
                continue
        evict.append(pod)
    return evict, fatal, warn


def node_drain(
    *,
    cluster: Cluster,
    name: str,
    force: bool = False,
    ignore_daemonsets: bool = True,
    delete_emptydir_data: bool = True,
    actor: str = "user",
) -> DrainResult:
    """``kubectl drain --ignore-daemonsets --delete-emptydir-data`` (``--force`` optional):
    cordon, refuse if any pod cannot be evicted (the node stays cordoned, as with kubectl), else
    evict every pod through the Eviction API's path (graceful deletion); the ReplicaSets replace
    them elsewhere. Returns kubectl's lines; the pods then terminate on the node."""
    from cluster.services import pods as pod_services

    node = node_get(cluster=cluster, name=name)
    result = DrainResult(node=name)
    with transaction.atomic():
        if node.spec.get("unschedulable"):
            result.lines.append(f"node/{name} already cordoned")
        else:
            node_cordon(cluster=cluster, name=name, actor=actor)
            result.lines.append(f"node/{name} cordoned")
        on_node = [
            o.body
            for o in KubeObject.objects.filter(cluster=cluster, kind="Pod", node_name=name)
            .filter(deleting=False)
            .order_by("namespace", "name")
        ]
        evict, fatal, warn = drain_plan(
            on_node,
            force=force,
            ignore_daemonsets=ignore_daemonsets,
            delete_emptydir_data=delete_emptydir_data,
        )
        if fatal:
            result.errors = [f"{msg}: {', '.join(refs)}" for msg, refs in fatal.items()]
            result.lines.append(
                f'error: unable to drain node "{name}" due to error: '
                + ", ".join(result.errors)
                + ", continuing command..."
            )
            return result
        for msg, refs in warn.items():
            result.lines.append(f"Warning: {msg}: {', '.join(refs)}")
        for body in evict:
            ns, pod_name = body["metadata"].get("namespace", "default"), body["metadata"]["name"]
            result.lines.append(f"evicting pod {ns}/{pod_name}")
            pod_services.pod_evict(cluster=cluster, namespace=ns, name=pod_name, actor=actor)
            result.evicted.append(f"{ns}/{pod_name}")
        for ref in result.evicted:
            result.lines.append(f"pod/{ref.split('/', 1)[1]} evicted")
        result.lines.append(f"node/{name} drained")
    return result
