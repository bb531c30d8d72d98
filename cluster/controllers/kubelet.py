"""The kubelets: one per Machine, simulated together (the actor is ``kubelet/<node>``).

Models the node agent (k8s-reference §1.1, §2):

- On boot it registers its Node (capacity, allocatable, labels, ``--register-with-taints`` for a
  control-plane node) or, after a reboot, re-posts its status; events ``Starting`` and, on a reboot,
  ``Rebooted``.
- While powered on it renews its Lease in ``kube-node-lease`` every ``lease_renew_interval``
  (0.25 × lease duration) and posts node status when it changes or every
  ``node_status_report_frequency``; it re-asserts Ready=True (reason ``KubeletReady``) if the
  node-lifecycle controller marked the node Unknown while it was actually alive.
- It takes each pod bound to its node through Pending/ContainerCreating (``Pulling`` and ``Pulled``
  events; an image already on the node is "already present on machine") to Running and Ready
  (``Created``, ``Started``), and, for a pod with a deletionTimestamp, ``Killing`` → containers
  exit → terminal phase → the object is removed (the kubelet's final grace-0 delete).
- Every ``syncFrequency`` (1m) each kubelet re-syncs the pods on its node; its Lease renewals are
  jittered by up to 4% as component-helpers' lease controller does.
- A powered-off machine does nothing at all: no Lease renewals, no status, pods left exactly as
  the API last saw them. After a reboot (a boot ID differing from the Node's) its containers
  restart (``SandboxChanged``, restartCount + 1) and pods deleted meanwhile are finalised at once.
- A stopped kubelet (``spec.kubelet`` false) or a partitioned machine (``spec.partitioned``)
  leaves the containers running but sends nothing to the API, so the node-lifecycle controller
  sees the same silence as a power-off. When the kubelet starts again ("Starting kubelet.") or
  the partition heals, it re-posts Ready on the same boot (containers kept, no restart) and
  kills the pods deleted meanwhile (docs/nodes.md).
- Memory/disk pressure (``spec.memoryPressure``/``spec.diskPressure``): the kubelet reports the
  condition (held for evictionPressureTransitionPeriod after relief), its eviction manager
  evicts one pod per monitoring interval, and its admission refuses pods the pressure forbids
  (``cluster/controllers/eviction.py``).
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterable

from cluster import k8s, networking
from cluster.controllers import eviction, kubelet_containers
from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change, KubeObject
from cluster.services import store
from cluster.services.k8s_events import WARNING, event_record

KUBELET_VERSION = "v1.32.4"
SYNC_FREQUENCY = 60.0  # kubelet syncFrequency (1m)
LEASE_JITTER = 0.04  # jitter factor of the node lease controller's renew loop
NODE_LEASE_NS = "kube-node-lease"
POD_WORKER_BACKOFF = 10.0  # pod workers' backOffPeriod: a failed SyncPod is retried after it
# What the kubelet reports while the runtime's CNI has no config (no pod CIDR yet), and the
# runtime's error when host-local's range is exhausted.
NETWORK_NOT_READY = (
    "network is not ready: container runtime network not ready: NetworkReady=false "
    "reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"
)
SANDBOX_NETWORK_FAILED = (
    "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network "
    'for sandbox "{sandbox}": plugin type="ptp" failed (add): failed to allocate for range 0: '
    "{error}"
)
# Simulated image sizes (bytes) for the Pulled event; unknown images get a plausible size.
IMAGE_SIZES = {"nginx": 72_099_410, "busybox": 2_156_518, "redis": 45_398_342, "httpd": 58_012_880}


def actor_for(node_name: str) -> str:
    return f"kubelet/{node_name}"


def next_renewal(node_name: str, renewed: float, interval: float) -> float:
    """When the kubelet renews a Lease last renewed at ``renewed``: component-helpers' lease
    controller loops with wait.JitterUntil(sync, renewInterval, 0.04, ...), i.e. every interval
    plus up to 4%. The jitter is a fixed function of (node, renewal) so the schedule needs no
    stored state and replays identically; nodes that booted together drift apart."""
    spread = zlib.crc32(f"{node_name}@{renewed:.6f}".encode()) % 10_000 / 10_000
    return renewed + interval * (1.0 + LEASE_JITTER * spread)


def image_size(image: str) -> int:
    repo = image.rsplit("/", 1)[-1].split(":", maxsplit=1)[0].split("@", maxsplit=1)[0]
    return IMAGE_SIZES.get(repo, 30_000_000 + (sum(map(ord, repo)) % 50) * 1_000_000)


def node_conditions_ready(status: dict, now: float, *, pressure: dict | None = None) -> None:
    """The conditions a live kubelet posts; ``pressure`` says which pressure conditions it
    reports True (see cluster/controllers/eviction.py)."""
    pressure = pressure or {}
    for ctype, texts in eviction.CONDITION_TEXT.items():
        on = bool(pressure.get(ctype))
        reason, message = texts[0] if on else texts[1]
        k8s.set_condition(
            status,
            ctype,
            "True" if on else "False",
            now=now,
            reason=reason,
            message=message,
            heartbeat=True,
        )
    k8s.set_condition(
        status,
        "PIDPressure",
        "False",
        now=now,
        reason="KubeletHasSufficientPID",
        message="kubelet has sufficient PID available",
        heartbeat=True,
    )
    k8s.set_condition(
        status,
        "Ready",
        "True",
        now=now,
        reason="KubeletReady",
        message="kubelet is posting ready status",
        heartbeat=True,
    )


def node_body(machine: dict, now: float, node_index: int) -> dict:
    spec = machine["spec"]
    name = machine["metadata"]["name"]
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
    }
    taints = []
    if spec.get("controlPlane"):
        labels["node-role.kubernetes.io/control-plane"] = ""
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
        taints.append({"key": k8s.TAINT_CONTROL_PLANE, "effect": "NoSchedule"})
    capacity = dict(spec["capacity"])
    capacity.setdefault("ephemeral-storage", "61202244Ki")
    status: dict = {
        "capacity": capacity,
        "allocatable": dict(capacity),
        "addresses": [
            {"type": "InternalIP", "address": f"172.18.0.{node_index + 2}"},
            {"type": "Hostname", "address": name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "architecture": "amd64",
            "bootID": machine.get("_boot_id", ""),
            "containerRuntimeVersion": "containerd://1.7.24",
            "kernelVersion": "6.1.0-28-amd64",
            "kubeProxyVersion": KUBELET_VERSION,
            "kubeletVersion": KUBELET_VERSION,
            "machineID": uuid.uuid5(uuid.NAMESPACE_DNS, name).hex,
            "operatingSystem": "linux",
            "osImage": "Debian GNU/Linux 12 (bookworm)",
            "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
        },
        "images": [],
    }
    node_conditions_ready(status, now)
    body: dict = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        # spec.podCIDR(s) are written by the node-ipam controller (controllers/node_ipam.py).
        "spec": {},
        "status": status,
    }
    if taints:
        body["spec"]["taints"] = taints
    return body


#: Machine spec field the teacher toggles -> the node condition the kubelet reports.
PRESSURE_FIELDS = {eviction.MEMORY: "memoryPressure", eviction.DISK: "diskPressure"}


def kubelet_serving(machine: KubeObject) -> bool:
    """Whether this machine's kubelet is running and talking to the API server."""
    sim, spec = machine.sim, machine.spec
    return (
        bool(sim.get("running"))
        and bool(sim.get("kubelet_up", True))
        and bool(spec.get("kubelet", True))
        and not spec.get("partitioned")
        and not sim.get("partitioned")
    )


def pressure_posted(node: dict) -> dict[str, bool]:
    """Which pressure conditions the Node currently says are True."""
    status = node.get("status", {})
    return {
        ctype: (k8s.get_condition(status, ctype) or {}).get("status") == "True"
        for ctype in PRESSURE_FIELDS
    }


def pressure_reported(machine: KubeObject, now: float, timings) -> dict[str, bool]:
    """Which pressure conditions the kubelet reports: while the signal is over its threshold,
    and for evictionPressureTransitionPeriod after it was last seen over it."""
    seen = machine.sim.get("pressure") or {}
    hold = timings["eviction_pressure_transition_period"]
    out = {}
    for ctype in PRESSURE_FIELDS:
        state = seen.get(ctype) or {}
        cleared = state.get("cleared")
        out[ctype] = bool(state.get("on")) or (
            cleared is not None and now < float(cleared) + hold - 1e-6
        )
    return out


def pressure_relief_due(machine: KubeObject, now: float, timings) -> float | None:
    """When a held pressure condition lapses (the kubelet must post it False then)."""
    hold = timings["eviction_pressure_transition_period"]
    dues = [
        float(state["cleared"]) + hold
        for state in (machine.sim.get("pressure") or {}).values()
        if state and not state.get("on") and state.get("cleared") is not None
    ]
    dues = [d for d in dues if d > now + 1e-6]
    return min(dues) if dues else None


def admission_refusal(pod: dict, pressure: dict[str, bool]) -> str:
    """The eviction manager's pod admission (its Admit handler): under DiskPressure no new pod
    is admitted; under MemoryPressure only a BestEffort pod is refused, unless it tolerates the
    memory-pressure taint. Returns the refusal message, or "" to admit."""
    on = [c for c in PRESSURE_FIELDS if pressure.get(c)]
    if not on:
        return ""
    message = f"The node had condition: [{', '.join(on)}]. "
    if eviction.DISK in on:
        return message
    if pod.get("status", {}).get("qosClass") != "BestEffort":
        return ""
    tolerated = any(
        t.get("operator") == "Exists"
        and t.get("key") in ("", None, "node.kubernetes.io/memory-pressure")
        and t.get("effect") in ("", None, "NoSchedule")
        for t in pod.get("spec", {}).get("tolerations") or []
    )
    return "" if tolerated else message


class Kubelet(Controller):
    name = "kubelet"
    component = "kubelet"
    watches = ("Machine", "Pod", "Node")
    #: No cluster-wide resync: like each real kubelet, every node re-syncs its own pods every
    #: syncFrequency (see ``_periodic_pod_sync``), at its own phase.
    resync_period = 0.0

    def keys_for(self, change: Change) -> Iterable[str]:
        if change.kind in ("Machine", "Node"):
            yield f"machine:{change.name}"
        elif change.kind == "Pod" and change.node_name and change.type != Change.Type.DELETED:
            if not change.actor.startswith("kubelet/"):
                yield f"pod:{change.namespace}/{change.name}"

    def all_keys(self, ctx: SyncContext) -> Iterable[str]:
        # In creation order on every database (PostgreSQL's heap order moves updated rows).
        for name in ctx.objects("Machine").order_by("pk").values_list("name", flat=True):
            yield f"machine:{name}"
        pods = ctx.objects("Pod").exclude(node_name="").order_by("pk")
        for ns, name in pods.values_list("namespace", "name"):
            yield f"pod:{ns}/{name}"

    def sync(self, ctx: SyncContext, key: str) -> None:
        kind, _, rest = key.partition(":")
        if kind == "machine":
            self.sync_machine(ctx, rest)
        elif kind == "pod":
            ns, _, name = rest.partition("/")
            self.sync_pod(ctx, ns, name)

    # --- the node ------------------------------------------------------------------------------
    def sync_machine(self, ctx: SyncContext, name: str) -> None:
        machine = ctx.get("Machine", name)
        if machine is None:
            return
        if not machine.spec.get("powered"):
            if machine.sim.get("running") or machine.sim.get("kubelet_up"):
                machine.sim["running"] = False
                machine.sim["kubelet_up"] = False
                store.object_sim_update(obj=machine)
            return
        actor = actor_for(name)
        node = ctx.get("Node", name)
        # A machine saved before kubelet_up existed had its kubelet running with it.
        kubelet_was_up = bool(machine.sim.get("kubelet_up", machine.sim.get("running")))
        booting = not machine.sim.get("running")
        if booting:
            machine.sim["running"] = True
            machine.sim["kubelet_up"] = kubelet_was_up = False
            machine.sim["boot_id"] = str(uuid.UUID(int=ctx.rng.getrandbits(128)))
            machine.sim["boots"] = int(machine.sim.get("boots", 0)) + 1
            machine.sim.setdefault("images", [])
            store.object_sim_update(obj=machine)
        if not machine.spec.get("kubelet", True):
            # kubelet stopped, machine running: containers carry on, nobody talks to the API.
            if kubelet_was_up:
                machine.sim["kubelet_up"] = False
                store.object_sim_update(obj=machine)
            return
        kubelet_starting = not kubelet_was_up
        if kubelet_starting:
            machine.sim["kubelet_up"] = True
            store.object_sim_update(obj=machine)
        if machine.spec.get("partitioned"):
            # The kubelet runs but reaches no API server: no Lease, no status, no pod updates.
            if not machine.sim.get("partitioned"):
                machine.sim["partitioned"] = True
                store.object_sim_update(obj=machine)
            return
        healing = bool(machine.sim.get("partitioned"))
        if healing:
            machine.sim.pop("partitioned", None)
            store.object_sim_update(obj=machine)
        self._observe_pressure(ctx, machine)
        if node is None:
            index = ctx.objects("Machine").filter(pk__lt=machine.pk).count()
            body = node_body({**machine.body, "_boot_id": machine.sim["boot_id"]}, ctx.now, index)
            node = store.object_create(cluster=ctx.cluster, body=body, actor=actor)
            event_record(
                cluster=ctx.cluster,
                involved=node.body,
                reason="Starting",
                message="Starting kubelet.",
                component="kubelet",
                host=name,
            )
            event_record(
                cluster=ctx.cluster,
                involved=node.body,
                reason="NodeReady",
                message=f"Node {name} status is now: NodeReady",
                component="kubelet",
                host=name,
            )
            node.sim["status_posted"] = ctx.now
            store.object_sim_update(obj=node)
        elif booting or kubelet_starting or healing:
            # As the kubelet does: a boot ID differing from the one the Node shows is a reboot
            # (also when the kubelet was stopped across the power cycle).
            rebooted = (
                node.status.get("nodeInfo", {}).get("bootID") != machine.sim.get("boot_id")
                and int(machine.sim.get("boots", 0)) > 1
            )
            # Boot: containers restart (SandboxChanged). A kubelet restart or a healed
            # partition: same boot, containers kept; pods deleted meanwhile are killed now.
            self._post_status(
                ctx,
                node,
                machine,
                rebooted=rebooted,
                started=kubelet_starting and not rebooted,
            )
            for pod_key in (
                ctx.objects("Pod").filter(node_name=name).values_list("namespace", "name")
            ):
                ctx.wake(f"pod:{pod_key[0]}/{pod_key[1]}", ctx.now)
        else:
            ready = k8s.node_ready_status(node.body)
            last = float(node.sim.get("status_posted", 0.0))
            if (
                ready != "True"
                or ctx.now - last >= ctx.timings["node_status_report_frequency"]
                or pressure_posted(node.body) != pressure_reported(machine, ctx.now, ctx.timings)
            ):
                self._post_status(ctx, node, machine, rebooted=False)
        renewed = self._renew_lease(ctx, name, node)
        self._periodic_pod_sync(ctx, machine)
        report = (
            float(node.sim.get("status_posted", ctx.now))
            + ctx.timings["node_status_report_frequency"]
        )
        renew = next_renewal(name, renewed, ctx.timings["lease_renew_interval"]) - ctx.now
        wake = min(ctx.now + renew, max(report, ctx.now + 0.5))
        for due in (
            self._evict_for_pressure(ctx, machine),
            pressure_relief_due(machine, ctx.now, ctx.timings),
        ):
            if due is not None:
                wake = min(wake, due)
        ctx.reschedule(f"machine:{name}", wake)

    def _post_status(
        self,
        ctx: SyncContext,
        node: KubeObject,
        machine: KubeObject,
        *,
        rebooted: bool,
        started: bool = False,
    ) -> None:
        was_ready = k8s.node_ready_status(node.body) == "True"
        before = pressure_posted(node.body)
        status = node.status
        pressure = pressure_reported(machine, ctx.now, ctx.timings)
        node_conditions_ready(status, ctx.now, pressure=pressure)
        status.setdefault("nodeInfo", {})["bootID"] = machine.sim.get("boot_id", "")
        status["images"] = [
            {"names": [img], "sizeBytes": image_size(img)} for img in machine.sim.get("images", [])
        ]
        node.sim["status_posted"] = ctx.now
        store.object_update(obj=node, actor=actor_for(node.name))
        if started:
            event_record(
                cluster=ctx.cluster,
                involved=node.body,
                reason="Starting",
                message="Starting kubelet.",
                component="kubelet",
                host=node.name,
            )
        for ctype, (on_reason, off_reason) in eviction.NODE_EVENTS.items():
            if pressure[ctype] != before[ctype]:
                event_record(
                    cluster=ctx.cluster,
                    involved=node.body,
                    reason=on_reason if pressure[ctype] else off_reason,
                    message=f"Node {node.name} status is now: "
                    + (on_reason if pressure[ctype] else off_reason),
                    component="kubelet",
                    host=node.name,
                )
        if rebooted:
            event_record(
                cluster=ctx.cluster,
                involved=node.body,
                reason="Starting",
                message="Starting kubelet.",
                component="kubelet",
                host=node.name,
            )
            event_record(
                cluster=ctx.cluster,
                involved=node.body,
                reason="Rebooted",
                type_=WARNING,
                message=f"Node {node.name} has been rebooted, boot id: {machine.sim.get('boot_id')}",
                component="kubelet",
                host=node.name,
            )
        if not was_ready:
            event_record(
                cluster=ctx.cluster,
                involved=node.body,
                reason="NodeReady",
                message=f"Node {node.name} status is now: NodeReady",
                component="kubelet",
                host=node.name,
            )

    def _observe_pressure(self, ctx: SyncContext, machine: KubeObject) -> None:
        """The eviction manager's signals: the teacher's pressure switches stand for
        memory.available / nodefs.available crossing their thresholds."""
        seen = machine.sim.setdefault("pressure", {})
        changed = False
        for ctype, field in PRESSURE_FIELDS.items():
            on = bool(machine.spec.get(field))
            was = bool((seen.get(ctype) or {}).get("on"))
            if on and not was:
                seen[ctype] = {"on": True}
                changed = True
            elif was and not on:
                seen[ctype] = {"on": False, "cleared": ctx.now}
                changed = True
        if changed:
            store.object_sim_update(obj=machine)

    def _evict_for_pressure(self, ctx: SyncContext, machine: KubeObject) -> float | None:
        """One eviction per monitoring interval while a threshold is met (memory first, as
        the eviction manager orders thresholds); returns when to look again."""
        over = [c for c, field in PRESSURE_FIELDS.items() if machine.spec.get(field)]
        if not over:
            return None
        period = ctx.timings["eviction_monitoring_period"]
        last = machine.sim.get("evicted_at")
        if last is not None and ctx.now < float(last) + period - 1e-6:
            return float(last) + period
        pods = {
            (p.namespace, p.name): p
            for p in ctx.objects("Pod")
            .filter(node_name=machine.name, deleting=False)
            .exclude(phase__in=k8s.TERMINAL_PHASES)
        }
        for condition in over:
            ranked = eviction.rank([eviction.candidate(p.body, condition) for p in pods.values()])
            if ranked:
                victim = ranked[0]
                pod = pods[(victim.namespace, victim.name)]
                pod.cluster = ctx.cluster
                self._evict(ctx, pod, machine, condition, victim)
                machine.sim["evicted_at"] = ctx.now
                store.object_sim_update(obj=machine)
                return ctx.now + period
        return None

    def _evict(
        self,
        ctx: SyncContext,
        pod: KubeObject,
        machine: KubeObject,
        condition: str,
        victim: eviction.Candidate,
    ) -> None:
        """Kill the pod (hard threshold: grace 0) and mark it Failed/Evicted; it stays in the
        API as a Failed pod."""
        message = eviction.eviction_message(condition, victim)
        self._event(ctx, pod, "Evicted", message, type_=WARNING)
        for c in self._container_names(pod):
            self._event(ctx, pod, "Killing", f"Stopping container {c}", container=c)
        status = pod.status
        # Container states are left as last seen (kubectl then prints the pod's reason,
        # "Evicted", as it does for the evicted pods of most releases); they are not ready.
        for cs in status.get("containerStatuses") or []:
            cs["ready"] = False
            cs["started"] = False
        status["phase"] = "Failed"
        status["reason"] = "Evicted"
        status["message"] = message
        k8s.set_condition(
            status,
            "DisruptionTarget",
            "True",
            now=ctx.now,
            reason="TerminationByKubelet",
            message=message,
        )
        for ctype in ("Ready", "ContainersReady"):
            k8s.set_condition(status, ctype, "False", now=ctx.now, reason="PodFailed")
        pod.sim["kubelet"] = {"stage": "evicted", "boot_id": machine.sim.get("boot_id")}
        store.object_update(obj=pod, actor=actor_for(pod.node_name))
        ctx.cancel(f"pod:{pod.key}")

    def _periodic_pod_sync(self, ctx: SyncContext, machine: KubeObject) -> None:
        """The kubelet's syncFrequency (1m) loop: re-sync this node's pods. A pod that is
        Running and not being deleted would come out of SyncPod unchanged, so only the others
        are queued: the pass costs what is unsettled on this node, not the node's pod count."""
        last = machine.sim.get("pods_synced")
        if last is not None and ctx.now - float(last) < SYNC_FREQUENCY:
            return
        machine.sim["pods_synced"] = ctx.now
        store.object_sim_update(obj=machine)
        unsettled = (
            ctx.objects("Pod")
            .filter(node_name=machine.name)
            .exclude(phase="Running", deleting=False)
            .exclude(phase__in=k8s.TERMINAL_PHASES, deleting=False)
            .values_list("namespace", "name")
        )
        for namespace, pod_name in unsettled:
            ctx.wake(f"pod:{namespace}/{pod_name}", ctx.now)

    def _renew_lease(self, ctx: SyncContext, name: str, node: KubeObject) -> float:
        """Create or renew the node's Lease when its renewal is due; returns its renewTime."""
        lease = ctx.get("Lease", name, NODE_LEASE_NS)
        duration = int(ctx.timings["lease_duration"])
        if lease is None:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {
                    "name": name,
                    "namespace": NODE_LEASE_NS,
                    "ownerReferences": [
                        {
                            "apiVersion": "v1",
                            "kind": "Node",
                            "name": name,
                            "uid": node.body["metadata"]["uid"],
                        }
                    ],
                },
                "spec": {
                    "holderIdentity": name,
                    "leaseDurationSeconds": duration,
                    "renewTime": k8s.micro_time(ctx.now),
                },
            }
            store.object_create(cluster=ctx.cluster, body=body, actor=actor_for(name))
            return ctx.now
        renewed = k8s.parse_micro_time(lease.spec.get("renewTime")) or 0.0
        if ctx.now >= next_renewal(name, renewed, ctx.timings["lease_renew_interval"]) - 1e-6:
            lease.spec["renewTime"] = k8s.micro_time(ctx.now)
            lease.spec["leaseDurationSeconds"] = duration
            store.object_update(obj=lease, actor=actor_for(name))
            return ctx.now
        return renewed

    # --- pods ----------------------------------------------------------------------------------
    def sync_pod(self, ctx: SyncContext, namespace: str, name: str) -> None:
        pod = ctx.get("Pod", name, namespace)
        if pod is None or not pod.node_name:
            return
        machine = ctx.get("Machine", pod.node_name)
        if machine is None or not kubelet_serving(machine):
            return  # Nobody is there to act on it, or it cannot hear the API server.
        if pod.phase in k8s.TERMINAL_PHASES and not pod.deleting:
            return  # Finished (e.g. evicted): nothing to run.
        if pod.deleting:
            self._terminate(ctx, pod, machine)
        else:
            self._advance(ctx, pod, machine)

    def _container_names(self, pod: KubeObject) -> list[str]:
        return [c["name"] for c in pod.spec.get("containers") or []]

    def _event(
        self,
        ctx: SyncContext,
        pod: KubeObject,
        reason: str,
        message: str,
        *,
        container: str | None = None,
        type_: str = "Normal",
    ) -> None:
        event_record(
            cluster=ctx.cluster,
            involved=pod.body,
            reason=reason,
            message=message,
            component="kubelet",
            host=pod.node_name,
            type_=type_,
            field_path=f"spec.containers{{{container}}}" if container else "",
        )

    def _advance(self, ctx: SyncContext, pod: KubeObject, machine: KubeObject) -> None:
        """Pending status on first sight (or after a reboot), then the container lifecycle of
        ``kubelet_containers`` (pulls, starts, crashes, probes, restarts)."""
        state = pod.sim.get("kubelet") or {}
        boot_id = machine.sim.get("boot_id")
        if state.get("boot_id") == boot_id and state.get("stage"):
            kubelet_containers.PodRuntime(self, ctx, pod, machine).run()
            return
        if state.get("stage") != "running":
            refusal = admission_refusal(pod.body, pressure_reported(machine, ctx.now, ctx.timings))
            if refusal:
                self._reject(ctx, pod, refusal)
                return
        restarted = state.get("stage") == "running"  # running before the reboot
        if not pod.status.get("podIP") and not self._setup_network(ctx, pod, machine):
            return
        self._pending_status(ctx, pod, machine, restarted=restarted)
        if restarted:
            self._event(
                ctx,
                pod,
                "SandboxChanged",
                "Pod sandbox changed, it will be killed and re-created.",
            )
        pod.sim["kubelet"] = {"boot_id": boot_id, "instances": 0}
        kubelet_containers.PodRuntime(self, ctx, pod, machine).begin()

    def _reject(self, ctx: SyncContext, pod: KubeObject, message: str) -> None:
        """The kubelet's admission refused the pod: Failed, reason Evicted, never started."""
        self._event(ctx, pod, "Evicted", message, type_=WARNING)
        status = pod.status
        status["phase"] = "Failed"
        status["reason"] = "Evicted"
        status["message"] = message
        pod.sim["kubelet"] = {"stage": "evicted", "boot_id": None}
        store.object_update(obj=pod, actor=actor_for(pod.node_name))
        ctx.cancel(f"pod:{pod.key}")

    def _setup_network(self, ctx: SyncContext, pod: KubeObject, machine: KubeObject) -> bool:
        """The pod sandbox's network (CNI ADD, host-local IPAM): the next free address of each
        of the node's ``spec.podCIDRs`` (one per family, dual-stack) after the last one handed out (host-local's
        ``last_reserved_ip``, kept with the machine as host-local keeps it on the node's
        disk), skipping the addresses of the pods still running here. Sets
        ``status.podIP(s)`` and returns True; otherwise records why (no CIDR yet: the
        runtime's network is not ready; range full: ``FailedCreatePodSandBox``), shows the
        pod ContainerCreating and retries after the pod worker's back-off, as the kubelet
        does (docs/addressing.md)."""
        node = ctx.get("Node", pod.node_name)
        cidrs = list((node.spec.get("podCIDRs") or [node.spec.get("podCIDR")]) if node else [])
        cidrs = [c for c in cidrs if c]
        failure: tuple[str, str] | None = None
        if not cidrs:
            failure = ("NetworkNotReady", NETWORK_NOT_READY)
        else:
            ipam = machine.sim.get("ipam") or {}
            last_by_range = dict(ipam.get("ranges") or {})
            if ipam.get("range"):  # the single-range form older rows hold
                last_by_range.setdefault(ipam["range"], ipam.get("last"))
            used = [
                entry.get("ip", "")
                for ips in ctx.objects("Pod")
                .filter(node_name=pod.node_name)
                .exclude(pk=pod.pk)
                .exclude(phase__in=k8s.TERMINAL_PHASES)
                .values_list("body__status__podIPs", flat=True)
                for entry in ips or []
                if isinstance(entry, dict)
            ]
            ips: list[str] = []
            try:
                for cidr in cidrs:  # one address per family, IPv4 first (the podCIDRs order)
                    ip = networking.allocate_pod_ip(
                        node_cidr=cidr, used=[u for u in used if u], last=last_by_range.get(cidr)
                    )
                    last_by_range[cidr] = ip
                    ips.append(ip)
            except networking.AllocationError as exc:
                sandbox = uuid.UUID(int=ctx.rng.getrandbits(128)).hex
                failure = (
                    "FailedCreatePodSandBox",
                    SANDBOX_NETWORK_FAILED.format(sandbox=sandbox * 2, error=exc),
                )
            else:
                machine.sim["ipam"] = {"ranges": {c: last_by_range[c] for c in cidrs}}
                store.object_sim_update(obj=machine)
                pod.status["podIP"] = ips[0]
                pod.status["podIPs"] = [{"ip": ip} for ip in ips]
                return True
        self._event(ctx, pod, failure[0], failure[1], type_=WARNING)
        if not (pod.sim.get("kubelet") or {}).get("sandbox_failed"):
            self._pending_status(ctx, pod, machine, restarted=False)
            pod.sim["kubelet"] = {"sandbox_failed": True}
            store.object_update(obj=pod, actor=actor_for(pod.node_name))
        ctx.reschedule(f"pod:{pod.key}", ctx.now + POD_WORKER_BACKOFF)
        return False

    def _pending_status(
        self, ctx: SyncContext, pod: KubeObject, machine: KubeObject, *, restarted: bool
    ) -> None:
        status = pod.status
        names = self._container_names(pod)
        node = ctx.get("Node", pod.node_name)
        host_ip = ""
        if node is not None:
            host_ip = next(
                (
                    a["address"]
                    for a in node.status.get("addresses", [])
                    if a["type"] == "InternalIP"
                ),
                "",
            )
        status["hostIP"] = host_ip
        status["hostIPs"] = [{"ip": host_ip}] if host_ip else []
        status.setdefault("startTime", k8s.rfc3339(ctx.now))
        status["phase"] = "Pending" if not restarted else status.get("phase", "Running")
        previous = {cs["name"]: cs for cs in status.get("containerStatuses") or []}
        statuses = []
        for c in pod.spec.get("containers") or []:
            old = previous.get(c["name"], {})
            cs = {
                "name": c["name"],
                "image": c.get("image", ""),
                "imageID": "",
                "ready": False,
                "restartCount": int(old.get("restartCount", 0)) + (1 if restarted else 0),
                "started": False,
                "state": {"waiting": {"reason": "ContainerCreating"}},
            }
            if restarted:
                cs["lastState"] = {
                    "terminated": {
                        "exitCode": 255,
                        "reason": "Unknown",
                        "startedAt": (old.get("state", {}).get("running") or {}).get("startedAt"),
                        "finishedAt": k8s.rfc3339(ctx.now),
                    }
                }
            statuses.append(cs)
        status["containerStatuses"] = statuses
        not_ready = f"containers with unready status: [{' '.join(names)}]"
        k8s.set_condition(
            status, "PodReadyToStartContainers", "True" if restarted else "False", now=ctx.now
        )
        k8s.set_condition(status, "Initialized", "True", now=ctx.now)
        k8s.set_condition(
            status, "Ready", "False", now=ctx.now, reason="ContainersNotReady", message=not_ready
        )
        k8s.set_condition(
            status,
            "ContainersReady",
            "False",
            now=ctx.now,
            reason="ContainersNotReady",
            message=not_ready,
        )
        k8s.set_condition(status, "PodScheduled", "True", now=ctx.now)

    def _terminate(self, ctx: SyncContext, pod: KubeObject, machine: KubeObject) -> None:
        actor = actor_for(pod.node_name)
        state = pod.sim.get("kubelet") or {}
        containers_gone = (
            state.get("boot_id") != machine.sim.get("boot_id") or state.get("stage") != "running"
        )
        if state.get("stage") == "stopping" and state.get("boot_id") == machine.sim.get("boot_id"):
            if float(state.get("due", 0.0)) > ctx.now:
                ctx.reschedule(f"pod:{pod.key}", float(state["due"]))
                return
            containers_gone = True
        if not containers_gone:
            grace = int(pod.body["metadata"].get("deletionGracePeriodSeconds", 30))
            for c in self._container_names(pod):
                self._event(ctx, pod, "Killing", f"Stopping container {c}", container=c)
            due = ctx.now + min(ctx.timings["container_stop_seconds"], float(grace))
            pod.sim["kubelet"] = {**state, "stage": "stopping", "due": due}
            store.object_sim_update(obj=pod)
            ctx.reschedule(f"pod:{pod.key}", due)
            return
        # Containers are gone: report the terminal phase, then the final (grace 0) delete.
        status = pod.status
        finished = k8s.rfc3339(ctx.now)
        for cs in status.get("containerStatuses") or []:
            started = (cs.get("state", {}).get("running") or {}).get("startedAt")
            cs["state"] = {
                "terminated": {
                    "exitCode": 0,
                    "reason": "Completed",
                    "startedAt": started,
                    "finishedAt": finished,
                }
            }
            cs["ready"] = False
            cs["started"] = False
        status["phase"] = "Succeeded" if status.get("phase") == "Running" else "Failed"
        for ctype in ("Ready", "ContainersReady"):
            k8s.set_condition(status, ctype, "False", now=ctx.now, reason="PodCompleted")
        store.object_update(obj=pod, actor=actor)
        store.object_remove(obj=pod, actor=actor)
        ctx.cancel(f"pod:{pod.key}")
