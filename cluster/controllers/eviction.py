"""The kubelet's eviction manager (node-pressure eviction), run by the kubelet controller.

Models ``pkg/kubelet/eviction`` (k8s-reference §1, §8.3; kubernetes.io "Node-pressure Eviction"):

- When a signal crosses its hard threshold (``memory.available<100Mi``,
  ``nodefs.available<10%``) the kubelet reports the node condition ``MemoryPressure`` /
  ``DiskPressure`` True and keeps reporting it for ``evictionPressureTransitionPeriod`` (5m)
  after the signal is back under the threshold.
- Each monitoring interval (10s) while a threshold is met it evicts **one** pod, the first in
  this ranking: pods whose usage exceeds their request of the starved resource first, then by
  ``spec.priority`` (lowest first), then by how far usage exceeds the request (largest first).
  A BestEffort pod requests nothing, so it always exceeds its request.
- The evicted pod is killed (hard threshold: grace period 0) and its status becomes phase
  ``Failed``, reason ``Evicted``, message "The node was low on resource: memory. Threshold
  quantity: 100Mi, available: ... Container x was using ..., request is 0, has larger consumption
  of memory. ", with the ``DisruptionTarget`` condition (reason ``TerminationByKubelet``) and a
  Warning ``Evicted`` event. The object stays in the API (a Failed pod), so its ReplicaSet,
  which only counts active pods, creates a replacement at once.

What the simulation decides (there is no real memory or disk use to measure): the pressure is
set by the teacher and stands for pods using more than they asked for. A pod counts as
*exceeding its request* when one of its containers has no request for the starved resource:
for memory a BestEffort pod or a Burstable pod without a memory request; for disk a pod with
no ``ephemeral-storage`` request that writes to the node's disk (an ``emptyDir`` volume) or a
BestEffort pod (its logs and writable layer are unbounded). Such a pod is taken to use 150Mi
(memory) or 1Gi (disk) above its request. Only those pods are evicted, one per monitoring
interval, in the ranking above; pods within their requests (Guaranteed pods, and Burstable
pods that requested the resource) are never evicted, since evicting them would not relieve
what the simulation says causes the pressure. The condition stays until the teacher clears it
(plus the transition period).
"""

from __future__ import annotations

from dataclasses import dataclass

MEMORY, DISK = "MemoryPressure", "DiskPressure"
#: condition -> (resource in the message, request key, hard threshold as kubelet prints it)
SIGNALS = {
    MEMORY: ("memory", "memory", "100Mi"),
    DISK: ("ephemeral-storage", "ephemeral-storage", "6120224Ki"),
}
#: Simulated use above the request of a pod that exceeds it, in the units the message prints.
EXCESS = {MEMORY: "150Mi", DISK: "1Gi"}
#: Simulated "available" figure the message reports while the threshold is met.
AVAILABLE = {MEMORY: "92160Ki", DISK: "5242880Ki"}
#: condition -> (reason, message) the kubelet posts, True then False.
CONDITION_TEXT = {
    MEMORY: (
        ("KubeletHasInsufficientMemory", "kubelet has insufficient memory available"),
        ("KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ),
    DISK: (
        ("KubeletHasDiskPressure", "kubelet has disk pressure"),
        ("KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ),
}
#: condition -> (node event when it turns True, when it turns False)
NODE_EVENTS = {
    MEMORY: ("NodeHasInsufficientMemory", "NodeHasSufficientMemory"),
    DISK: ("NodeHasDiskPressure", "NodeHasNoDiskPressure"),
}
QOS_ORDER = {"BestEffort": 0, "Burstable": 1, "Guaranteed": 2}


@dataclass(frozen=True)
class Candidate:
    namespace: str
    name: str
    priority: int
    qos: str
    #: containers using more than they request of the starved resource
    exceeding: tuple[str, ...]


def exceeding_containers(pod: dict, condition: str) -> tuple[str, ...]:
    """Containers the simulation takes to use more than their request (see module docstring)."""
    spec = pod.get("spec", {})
    _, key, _ = SIGNALS[condition]
    qos = pod.get("status", {}).get("qosClass", "")
    if condition == DISK:
        writes = qos == "BestEffort" or any("emptyDir" in v for v in spec.get("volumes") or [])
        if not writes:
            return ()
    return tuple(
        c["name"]
        for c in spec.get("containers") or []
        if key not in ((c.get("resources") or {}).get("requests") or {})
    )


def candidate(pod: dict, condition: str) -> Candidate:
    meta = pod["metadata"]
    return Candidate(
        namespace=meta.get("namespace", "default"),
        name=meta["name"],
        priority=int(pod.get("spec", {}).get("priority") or 0),
        qos=pod.get("status", {}).get("qosClass", "BestEffort"),
        exceeding=exceeding_containers(pod, condition),
    )


def rank(candidates: list[Candidate]) -> list[Candidate]:
    """The eviction order among pods exceeding their requests: lowest priority first, then
    the largest use above the request (a BestEffort pod's whole use is above its request of
    zero, so it precedes a Burstable one), then by name for a stable order."""
    return sorted(
        (c for c in candidates if c.exceeding),
        key=lambda c: (c.priority, QOS_ORDER.get(c.qos, 1), c.namespace, c.name),
    )


def eviction_message(condition: str, victim: Candidate) -> str:
    """The kubelet's eviction message (evictionMessage in pkg/kubelet/eviction/helpers.go)."""
    resource, _, threshold = SIGNALS[condition]
    text = (
        f"The node was low on resource: {resource}. "
        f"Threshold quantity: {threshold}, available: {AVAILABLE[condition]}. "
    )
    for container in victim.exceeding:
        text += (
            f"Container {container} was using {EXCESS[condition]}, request is 0, "
            f"has larger consumption of {resource}. "
        )
    return text
