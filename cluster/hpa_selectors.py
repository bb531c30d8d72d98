"""Reads for the dashboard's autoscaling panel: one Deployment's HorizontalPodAutoscaler (bounds,
CPU target vs current, replicas, conditions, the controller's last decisions in words) and the
Deployment's CPU burn (the ``cpu`` clause of its pod template's behaviour)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cluster import containers as rt
from cluster import k8s
from cluster.models import Cluster, KubeObject

HPA = "HorizontalPodAutoscaler"


@dataclass(frozen=True)
class Decision:
    time: str
    ago: str  # "45s ago" on the simulated clock
    rescale: bool
    change: str  # "2 -> 5" or "stays at 2"
    reason: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class HpaPanel:
    namespace: str
    deployment: str
    exists: bool
    replicas: int  # the Deployment's spec.replicas
    cpu_request: str
    cpu_burn: str  # the template's cpu clause ("" when none)
    hpa_name: str = ""
    min_replicas: int = 1
    max_replicas: int = 10
    target: int = 50
    current: int | None = None  # percent of request, None before the first sample
    current_replicas: int = 0
    desired_replicas: int = 0
    conditions: tuple[dict, ...] = ()
    decisions: tuple[Decision, ...] = field(default=())

    @property
    def meter_max(self) -> int:
        """The meter's scale: the target x 2, or the current value if it is higher."""
        return max(self.target * 2, self.current or 0, 1)

    @property
    def target_position(self) -> int:
        """Where the target sits on the meter, in percent of its width."""
        return round(100 * self.target / self.meter_max)


def _burn(template: dict) -> str:
    text = ((template.get("metadata") or {}).get("annotations") or {}).get(
        rt.BEHAVIOR_ANNOTATION, ""
    )
    for clause in text.split(";"):
        words = clause.split()
        if words and words[0] == "cpu" and len(words) > 1:
            return words[1].removeprefix("burn=")
    return ""


def hpa_panel(*, cluster: Cluster, namespace: str, deployment: str) -> HpaPanel | None:
    """The panel of ``deployment``, or None if the Deployment does not exist."""
    dep = KubeObject.objects.filter(
        cluster=cluster, kind="Deployment", namespace=namespace, name=deployment
    ).first()
    if dep is None:
        return None
    template = dep.spec.get("template") or {}
    first = ((template.get("spec") or {}).get("containers") or [{}])[0]
    base = {
        "namespace": namespace,
        "deployment": deployment,
        "replicas": int(dep.spec.get("replicas", 1)),
        "cpu_request": ((first.get("resources") or {}).get("requests") or {}).get("cpu", ""),
        "cpu_burn": _burn(template),
    }
    hpa = next(
        (
            h
            for h in KubeObject.objects.filter(cluster=cluster, kind=HPA, namespace=namespace)
            if (h.spec.get("scaleTargetRef") or {}).get("name") == deployment
            and (h.spec.get("scaleTargetRef") or {}).get("kind") == "Deployment"
        ),
        None,
    )
    if hpa is None:
        return HpaPanel(exists=False, **base)
    spec, status = hpa.spec, hpa.status
    cpu = next(
        (
            m["resource"]
            for m in spec.get("metrics") or []
            if (m.get("resource") or {}).get("name") == "cpu"
        ),
        {},
    )
    current = next(
        (
            (m["resource"].get("current") or {}).get("averageUtilization")
            for m in status.get("currentMetrics") or []
            if (m.get("resource") or {}).get("name") == "cpu"
        ),
        None,
    )
    decisions = tuple(
        Decision(
            time=k8s.rfc3339(d["time"]),
            ago=f"{k8s.human_duration(max(0.0, cluster.sim_now - d['time']))} ago",
            rescale=bool(d.get("rescale")),
            change=(f"{d['from']} → {d['to']}" if d.get("rescale") else f"stays at {d['from']}"),
            reason=d.get("reason", ""),
            lines=tuple(d.get("lines") or ()),
        )
        for d in reversed((hpa.sim or {}).get("decisions") or [])
    )
    return HpaPanel(
        exists=True,
        hpa_name=hpa.name,
        min_replicas=int(spec.get("minReplicas", 1)),
        max_replicas=int(spec.get("maxReplicas", 1)),
        target=int((cpu.get("target") or {}).get("averageUtilization", 80)),
        current=current,
        current_replicas=int(status.get("currentReplicas", 0)),
        desired_replicas=int(status.get("desiredReplicas", 0)),
        conditions=tuple(status.get("conditions") or ()),
        decisions=decisions,
        **base,
    )
