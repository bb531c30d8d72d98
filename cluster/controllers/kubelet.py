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
  the API last saw them. After a reboot its containers restart (``SandboxChanged``,
  restartCount + 1) and pods deleted meanwhile are finalised at once.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterable

from cluster import k8s
from cluster.controllers import kubelet_containers
from cluster.controllers.base import Controller, SyncContext
from cluster.models import Change, KubeObject
from cluster.services import store
from cluster.services.k8s_events import WARNING, event_record

KUBELET_VERSION = "v1.32.4"
SYNC_FREQUENCY = 60.0  # kubelet syncFrequency (1m)
LEASE_JITTER = 0.04  # jitter factor of the node lease controller's renew loop
NODE_LEASE_NS = "kube-node-lease"
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


def node_conditions_ready(status: dict, now: float) -> None:
    for ctype, reason, message in (
        ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ):
        k8s.set_condition(
            status, ctype, "False", now=now, reason=reason, message=message, heartbeat=True
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
        "spec": {"podCIDR": f"10.244.{node_index}.0/24", "podCIDRs": [f"10.244.{node_index}.0/24"]},
        "status": status,
    }
    if taints:
        body["spec"]["taints"] = taints
    return body


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
        for name in ctx.objects("Machine").values_list("name", flat=True):
            yield f"machine:{name}"
        for ns, name in ctx.objects("Pod").exclude(node_name="").values_list("namespace", "name"):
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
        alive = bool(machine.spec.get("powered")) and bool(machine.spec.get("kubelet", True))
        if not alive:
            if machine.sim.get("running"):
                machine.sim["running"] = False
                store.object_sim_update(obj=machine)
            return
        actor = actor_for(name)
        node = ctx.get("Node", name)
        booting = not machine.sim.get("running")
        if booting:
            machine.sim["running"] = True
            machine.sim["boot_id"] = str(uuid.UUID(int=ctx.rng.getrandbits(128)))
            machine.sim["boots"] = int(machine.sim.get("boots", 0)) + 1
            machine.sim.setdefault("images", [])
            store.object_sim_update(obj=machine)
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
        elif booting:
            self._post_status(ctx, node, machine, rebooted=machine.sim["boots"] > 1)
            for pod_key in (
                ctx.objects("Pod").filter(node_name=name).values_list("namespace", "name")
            ):
                ctx.wake(f"pod:{pod_key[0]}/{pod_key[1]}", ctx.now)
        else:
            ready = k8s.node_ready_status(node.body)
            last = float(node.sim.get("status_posted", 0.0))
            if ready != "True" or ctx.now - last >= ctx.timings["node_status_report_frequency"]:
                self._post_status(ctx, node, machine, rebooted=False)
        renewed = self._renew_lease(ctx, name, node)
        self._periodic_pod_sync(ctx, machine)
        report = (
            float(node.sim.get("status_posted", ctx.now))
            + ctx.timings["node_status_report_frequency"]
        )
        renew = next_renewal(name, renewed, ctx.timings["lease_renew_interval"]) - ctx.now
        ctx.reschedule(f"machine:{name}", min(ctx.now + renew, max(report, ctx.now + 0.5)))

    def _post_status(
        self, ctx: SyncContext, node: KubeObject, machine: KubeObject, *, rebooted: bool
    ) -> None:
        was_ready = k8s.node_ready_status(node.body) == "True"
        status = node.status
        node_conditions_ready(status, ctx.now)
        status.setdefault("nodeInfo", {})["bootID"] = machine.sim.get("boot_id", "")
        status["images"] = [
            {"names": [img], "sizeBytes": image_size(img)} for img in machine.sim.get("images", [])
        ]
        node.sim["status_posted"] = ctx.now
        store.object_update(obj=node, actor=actor_for(node.name))
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
        if machine is None or not machine.sim.get("running"):
            return  # Nobody is there to act on it.
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
        restarted = state.get("stage") == "running"  # running before the reboot
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
        cidr = (node.spec.get("podCIDR") if node else "") or "10.244.0.0/24"
        prefix = cidr.rsplit(".", 1)[0]
        if not status.get("podIP"):
            ip = f"{prefix}.{2 + (ctx.objects('Pod').filter(node_name=pod.node_name).count() + ctx.rng.randrange(200)) % 250}"
            status["podIP"] = ip
            status["podIPs"] = [{"ip": ip}]
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
