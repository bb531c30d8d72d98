"""Pod writes: creation with the API server's defaulting and admission, binding, deletion."""

from __future__ import annotations

import random

from django.db import transaction

from cluster import containers as runtime
from cluster import k8s, timings
from cluster.models import Cluster, KubeObject
from cluster.services import store
from cluster.services.errors import Conflict, Invalid
from cluster.services.k8s_events import event_record

DEFAULT_TOLERATION_KEYS = (k8s.TAINT_NOT_READY, k8s.TAINT_UNREACHABLE)


def _default_container(container: dict) -> None:
    image = container.get("image", "")
    tag = image.rsplit("/", 1)[-1]
    untagged = ":" not in tag and "@" not in image
    container.setdefault(
        "imagePullPolicy", "Always" if untagged or tag.endswith(":latest") else "IfNotPresent"
    )
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(container.get(probe), dict):
            runtime.probe_apply_defaults(container[probe])
    container.setdefault("terminationMessagePolicy", "File")
    resources = container.setdefault("resources", {})
    limits = resources.get("limits") or {}
    if limits:
        # SetDefaults_Pod: a resource with only a limit gets an equal request.
        requests = resources.setdefault("requests", {})
        for name, value in limits.items():
            requests.setdefault(name, value)


def pod_apply_defaults(spec: dict, *, toleration_seconds: float) -> None:
    """SetDefaults_PodSpec plus the DefaultTolerationSeconds admission plugin."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 0)
    for container in spec.get("containers") or []:
        _default_container(container)
    tolerations = spec.setdefault("tolerations", [])
    for key in DEFAULT_TOLERATION_KEYS:
        already = any(
            (t.get("operator") == "Exists" and not t.get("key"))
            or (t.get("key") == key and t.get("effect") in (None, "", "NoExecute"))
            for t in tolerations
        )
        if not already:
            tolerations.append(
                {
                    "key": key,
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": int(toleration_seconds),
                }
            )


def pod_validate(body: dict) -> None:
    name = body["metadata"].get("name") or body["metadata"].get("generateName", "x")
    causes = []
    for msg in k8s.name_errors(name.rstrip("-") or "x"):
        causes.append({"field": "metadata.name", "message": msg})
    containers = body.get("spec", {}).get("containers") or []
    if not containers:
        causes.append({"field": "spec.containers", "message": "Required value"})
    for i, container in enumerate(containers):
        if not container.get("name"):
            causes.append({"field": f"spec.containers[{i}].name", "message": "Required value"})
        if not container.get("image"):
            causes.append({"field": f"spec.containers[{i}].image", "message": "Required value"})
        causes.extend(probe_errors(container, f"spec.containers[{i}]"))
    causes.extend(behavior_errors(body.get("metadata") or {}, "metadata"))
    causes.extend(restart_policy_errors(body.get("spec") or {}, "spec", RESTART_POLICIES))
    if causes:
        detail = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
        raise Invalid(f'Pod "{name}" is invalid: {detail}', causes=causes)


def behavior_errors(meta: dict, path: str) -> list[dict]:
    """The ``k8sviz.io/behavior`` annotation must parse (cluster/containers.py's grammar)."""
    value = (meta.get("annotations") or {}).get(runtime.BEHAVIOR_ANNOTATION)
    if value is None:
        return []
    error = runtime.behavior_error(str(value))
    if error is None:
        return []
    return [
        {
            "field": f"{path}.annotations[{runtime.BEHAVIOR_ANNOTATION}]",
            "message": f"Invalid value: {k8s.compact_json(value)}: {error}",
        }
    ]


RESTART_POLICIES = ("Always", "OnFailure", "Never")


def restart_policy_errors(spec: dict, path: str, allowed: tuple[str, ...]) -> list[dict]:
    """ValidateRestartPolicy; workload templates (Deployment, ReplicaSet) allow only Always."""
    policy = spec.get("restartPolicy")
    if policy is None or policy in allowed:
        return []
    supported = ", ".join(f'"{p}"' for p in allowed)
    return [
        {
            "field": f"{path}.restartPolicy",
            "message": f"Unsupported value: {k8s.compact_json(policy)}: supported values: "
            f"{supported}",
        }
    ]


def template_validate(body: dict) -> None:
    """A workload's pod template: the behaviour annotation, probes and restartPolicy."""
    template = (body.get("spec") or {}).get("template") or {}
    causes = behavior_errors(template.get("metadata") or {}, "spec.template.metadata")
    causes.extend(
        restart_policy_errors(template.get("spec") or {}, "spec.template.spec", ("Always",))
    )
    for i, container in enumerate((template.get("spec") or {}).get("containers") or []):
        causes.extend(probe_errors(container, f"spec.template.spec.containers[{i}]"))
    if causes:
        group = "Deployment.apps" if body.get("kind") == "Deployment" else "ReplicaSet.apps"
        name = (body.get("metadata") or {}).get("name", "")
        detail = ", ".join(f"{c['field']}: {c['message']}" for c in causes)
        raise Invalid(f'{group} "{name}" is invalid: {detail}', causes=causes)


def probe_errors(container: dict, path: str) -> list[dict]:
    """ValidateProbe's numeric rules; liveness and startup probes need successThreshold 1."""
    causes = []
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(kind)
        if probe is None:
            continue
        if not isinstance(probe, dict):
            causes.append({"field": f"{path}.{kind}", "message": "must be an object"})
            continue
        for key, minimum in (
            ("initialDelaySeconds", 0),
            ("timeoutSeconds", 1),
            ("periodSeconds", 1),
            ("successThreshold", 1),
            ("failureThreshold", 1),
        ):
            value = probe.get(key)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                causes.append(
                    {
                        "field": f"{path}.{kind}.{key}",
                        "message": f"Invalid value: {k8s.compact_json(value)}: must be greater "
                        f"than or equal to {minimum}",
                    }
                )
        if kind != "readinessProbe" and probe.get("successThreshold", 1) != 1:
            causes.append(
                {
                    "field": f"{path}.{kind}.successThreshold",
                    "message": f"Invalid value: {k8s.compact_json(probe.get('successThreshold'))}"
                    ": must be 1",
                }
            )
    return causes


def pod_create(
    *, cluster: Cluster, body: dict, actor: str, rng: random.Random | None = None
) -> KubeObject:
    body["kind"] = "Pod"
    body["apiVersion"] = "v1"
    spec = body.setdefault("spec", {})
    t = timings.resolve(cluster.profile, cluster.timings)
    pod_apply_defaults(spec, toleration_seconds=t["default_toleration_seconds"])
    pod_validate(body)
    body["status"] = {"phase": "Pending", "qosClass": _qos_class(spec)}
    return store.object_create(cluster=cluster, body=body, actor=actor, rng=rng)


def _qos_class(spec: dict) -> str:
    containers = spec.get("containers") or []
    any_set = False
    guaranteed = True
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        any_set = any_set or bool(req) or bool(lim)
        for name in ("cpu", "memory"):
            if name not in lim or req.get(name, lim.get(name)) != lim.get(name):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def pod_get(*, cluster: Cluster, namespace: str, name: str) -> KubeObject:
    return store.object_get(cluster=cluster, kind="Pod", namespace=namespace, name=name)


def pod_bind(*, pod: KubeObject, node_name: str, actor: str = "default-scheduler") -> KubeObject:
    """The Binding subresource: set spec.nodeName and PodScheduled=True, emit Scheduled. A pod
    already bound cannot be bound again (409, as the binding REST storage refuses it)."""
    cluster = pod.cluster
    if pod.node_name:
        raise Conflict(
            f'Operation cannot be fulfilled on pods/binding "{pod.name}": pod {pod.name} is '
            f'already assigned to node "{pod.node_name}"'
        )
    with transaction.atomic():
        pod.body["spec"]["nodeName"] = node_name
        k8s.set_condition(
            pod.body.setdefault("status", {}), "PodScheduled", "True", now=cluster.sim_now
        )
        cond = k8s.get_condition(pod.body["status"], "PodScheduled")
        if cond is not None:
            cond.pop("reason", None)
            cond.pop("message", None)
        store.object_update(obj=pod, actor=actor)
        event_record(
            cluster=cluster,
            involved=pod.body,
            reason="Scheduled",
            message=f"Successfully assigned {pod.namespace}/{pod.name} to {node_name}",
            component=actor,
        )
    return pod


def pod_delete(
    *,
    cluster: Cluster,
    namespace: str | None = None,
    name: str | None = None,
    pod: KubeObject | None = None,
    actor: str = "user",
    grace_period: int | None = None,
) -> KubeObject | None:
    """Graceful deletion as the API server does it: a pod bound to a node gets a
    deletionTimestamp and stays (Terminating) until its kubelet confirms the containers are gone;
    an unscheduled pod, or grace period 0, is removed at once. Returns the pod if it remains."""
    if pod is None:
        pod = pod_get(cluster=cluster, namespace=namespace or "default", name=name or "")
    pod.cluster = cluster
    meta = pod.body["metadata"]
    grace = (
        grace_period
        if grace_period is not None
        else pod.body["spec"].get("terminationGracePeriodSeconds", 30)
    )
    if grace == 0 or not pod.node_name or pod.phase in k8s.TERMINAL_PHASES:
        store.object_remove(obj=pod, actor=actor)
        return None
    if meta.get("deletionTimestamp"):
        current = int(meta.get("deletionGracePeriodSeconds", grace))
        if grace >= current:
            return pod  # A second delete may only shorten the grace period.
    meta["deletionTimestamp"] = k8s.rfc3339(cluster.sim_now + grace)
    meta["deletionGracePeriodSeconds"] = int(grace)
    store.object_update(obj=pod, actor=actor)
    return pod


def pod_evict(
    *,
    cluster: Cluster,
    namespace: str,
    name: str,
    actor: str = "user",
    grace_period: int | None = None,
    preconditions: dict | None = None,
    dry_run: bool = False,
) -> KubeObject | None:
    """The Eviction API (``pods/eviction``, what kubectl drain posts): the API server marks the
    pod ``DisruptionTarget=True`` (reason ``EvictionByEvictionAPI``) and deletes it gracefully
    with the eviction's options. PodDisruptionBudgets are not simulated: nothing is refused
    with 429. Returns the pod if it remains (Terminating)."""
    from cluster.services import objects

    with transaction.atomic():
        obj, gone = objects.object_delete(
            cluster=cluster,
            kind="Pod",
            namespace=namespace,
            name=name,
            actor=actor,
            grace_period=grace_period,
            preconditions=preconditions,
            dry_run=dry_run,
        )
        if gone or dry_run:
            return None if gone else obj
        # The API server adds the condition in the same request (after the preconditions
        # held); written after the delete here so a resourceVersion precondition still holds.
        if k8s.set_condition(
            obj.status,
            "DisruptionTarget",
            "True",
            now=cluster.sim_now,
            reason="EvictionByEvictionAPI",
            message="Eviction API: evicting",
        ):
            store.object_update(obj=obj, actor=actor)
    return obj


# --- simulated application behaviour ------------------------------------------------------------


def _behavior_checked(behavior: str) -> str:
    behavior = " ".join(behavior.split())
    error = runtime.behavior_error(behavior)
    if error is not None:
        raise Invalid(
            f"{runtime.BEHAVIOR_ANNOTATION}: {error}",
            causes=[
                {
                    "field": f"metadata.annotations[{runtime.BEHAVIOR_ANNOTATION}]",
                    "message": error,
                }
            ],
        )
    return behavior


def _annotate(meta: dict, behavior: str) -> bool:
    annotations = meta.setdefault("annotations", {})
    before = annotations.get(runtime.BEHAVIOR_ANNOTATION)
    if behavior:
        annotations[runtime.BEHAVIOR_ANNOTATION] = behavior
    else:
        annotations.pop(runtime.BEHAVIOR_ANNOTATION, None)
        if not annotations:
            meta.pop("annotations")
    return annotations.get(runtime.BEHAVIOR_ANNOTATION) != before


def pod_behavior_set(
    *, cluster: Cluster, namespace: str, name: str, behavior: str, actor: str = "user"
) -> KubeObject:
    """Stage what a pod's simulated application does (``kubectl annotate pod NAME
    k8sviz.io/behavior=...``); an empty behaviour removes the annotation. The kubelet applies it
    to the running container from now on."""
    behavior = _behavior_checked(behavior)
    with transaction.atomic():
        pod = pod_get(cluster=cluster, namespace=namespace, name=name)
        pod.cluster = cluster
        if _annotate(pod.body["metadata"], behavior):
            store.object_update(obj=pod, actor=actor)
    return pod


def deployment_behavior_set(
    *, cluster: Cluster, namespace: str, name: str, behavior: str, actor: str = "user"
) -> KubeObject:
    """Stage the behaviour of every pod of a Deployment: the annotation goes on the pod
    template, so, as any template change in Kubernetes, it rolls out a new ReplicaSet."""
    behavior = _behavior_checked(behavior)
    with transaction.atomic():
        deployment = store.object_get(
            cluster=cluster, kind="Deployment", namespace=namespace, name=name
        )
        deployment.cluster = cluster
        template = deployment.body["spec"].setdefault("template", {})
        if _annotate(template.setdefault("metadata", {}), behavior):
            store.object_update(obj=deployment, actor=actor, spec_changed=True)
    return deployment
