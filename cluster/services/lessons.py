"""Running lessons (docs/lessons.md): start a cluster from a lesson's spec, run a step's actions
through the same services the dashboard and kubectl use, and check the lesson's goal against
the cluster's state. The clock is the caller's: ``advance(seconds)`` and ``settle()`` are passed
in (the live dashboard steps the paused clock; tests run the reconcile loop in-process)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import yaml
from django.db import transaction

from cluster import broadcast, k8s
from cluster.api import manifests
from cluster.api.selection import parse_label_selector
from cluster.lesson import LESSONS_DIR, Action, Check, Lesson, LessonError, Step, lesson_parse
from cluster.lesson_catalog import lesson_find
from cluster.models import Cluster, KubeObject, LessonFile
from cluster.services import components, nodes, rollouts, workloads
from cluster.services.clusters import cluster_create
from cluster.services.errors import Invalid, LimitExceeded, ServiceError

ACTOR = "lesson"
MAX_UPLOADED = 200
ERR_UPLOAD = "{source}: not a valid lesson ({count} problem{s}; nothing was saved)"
ERR_SHIPPED = 'a shipped lesson is called "{name}": give yours another metadata.name'
ERR_NOT_YOURS = (
    'a lesson called "{name}" was uploaded by someone else: give yours another metadata.name'
)
ERR_TOO_MANY = "at most {max} uploaded lessons on this server: delete one first"
ERR_SAVED_BUT = 'lesson "{name}" saved (Start from lists it), but the cluster: {error}'


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    text: str


def lesson_start(
    *,
    lesson: Lesson,
    name: str,
    owner_id: int | None = None,
    wall_now: float | None = None,
) -> Cluster:
    """A new cluster as the lesson describes it: its nodes, then its manifests (applied like
    ``kubectl apply -f``). The caller settles it (or not)."""
    cluster = cluster_create(
        name=name,
        profile=lesson.profile,
        dual_stack=lesson.dual_stack,
        owner_id=owner_id,
        wall_now=wall_now,
    )
    for spec in lesson.nodes:
        nodes.node_add(
            cluster=cluster,
            name=spec.name,
            cpu=spec.cpu,
            memory=spec.memory,
            control_plane=spec.control_plane,
            actor=ACTOR,
        )
    Cluster.objects.filter(pk=cluster.pk).update(lesson=lesson.name, lesson_step=0)
    if lesson.manifests:
        report = manifests.manifest_apply(
            cluster=cluster, text=yaml.safe_dump_all(list(lesson.manifests)), actor=ACTOR
        )
        if report.failed:
            errors = [line.text for line in report.lines if line.level == "error"]
            raise Invalid(f"lesson {lesson.name}: its objects failed: " + "; ".join(errors))
    return Cluster.objects.get(pk=cluster.pk)


def lesson_upload(*, text: str, source: str, owner_id: int | None = None) -> LessonFile:
    """Store a lesson written elsewhere (the dashboard's upload), named by its metadata.name,
    once it is completely valid: every problem is reported (as causes, each with its path) and
    nothing is saved otherwise. Uploading a lesson of the same name again replaces it, if it is
    the uploader's; a shipped lesson's name is never taken."""
    try:
        lesson = lesson_parse(text, source=source)
    except LessonError as err:
        count = len(err.problems)
        prefix = f"{source}: "
        causes = [{"field": source, "message": line.removeprefix(prefix)} for line in err.problems]
        message = ERR_UPLOAD.format(source=source, count=count, s="" if count == 1 else "s")
        raise Invalid(message, causes=causes) from None
    if (LESSONS_DIR / f"{lesson.name}.yaml").is_file():
        raise Invalid(ERR_SHIPPED.format(name=lesson.name))
    with transaction.atomic():
        existing = LessonFile.objects.select_for_update().filter(name=lesson.name).first()
        if existing is not None:
            if existing.owner_id != owner_id:
                raise Invalid(ERR_NOT_YOURS.format(name=lesson.name))
            existing.text = text
            existing.save(update_fields=["text", "uploaded_at"])
            return existing
        if LessonFile.objects.count() >= MAX_UPLOADED:
            raise LimitExceeded(ERR_TOO_MANY.format(max=MAX_UPLOADED))
        return LessonFile.objects.create(name=lesson.name, text=text, owner_id=owner_id)


def lesson_upload_start(
    *, text: str, source: str, cluster_name: str, owner_id: int | None = None
) -> Cluster:
    """The dashboard's "Upload and start": store the lesson (``lesson_upload``), then start a
    cluster from it. If the cluster cannot be made (its name is taken) the lesson stays stored
    and the error says so."""
    stored = lesson_upload(text=text, source=source, owner_id=owner_id)
    try:
        return lesson_cluster_create(name=cluster_name, lesson_name=stored.name, owner_id=owner_id)
    except ServiceError as err:
        message = ERR_SAVED_BUT.format(name=stored.name, error=err)
        raise type(err)(message, causes=err.causes) from err


def lesson_cluster_create(*, name: str, lesson_name: str, owner_id: int | None = None) -> Cluster:
    """A cluster started from a lesson (shipped or uploaded) and settled (the dashboard's
    "Start from")."""
    from cluster import reconcile  # noqa: PLC0415 - the runner depends on the services

    try:
        lesson = lesson_find(lesson_name)
    except LessonError as err:
        raise Invalid(str(err)) from None
    cluster = lesson_start(lesson=lesson, name=name, owner_id=owner_id)
    reconcile.run_until_settled(cluster_id=cluster.pk)
    return Cluster.objects.get(pk=cluster.pk)


def _deployment(target: str) -> tuple[str, str]:
    namespace, _, name = target.rpartition("/")
    return namespace or "default", name


def _mapping_action(cluster: Cluster, action: Action) -> None:
    """The actions that take a mapping (``MAPPING_ACTIONS``), through the usual services."""
    from cluster.services import autoscaling, networking, traffic  # noqa: PLC0415

    args = action.value
    namespace, target = _deployment(action.target)
    if action.name == "scale":
        workloads.deployment_scale(
            cluster=cluster,
            namespace=namespace,
            name=target,
            replicas=args["replicas"],
            actor=ACTOR,
        )
    elif action.name == "setImage":
        rollouts.deployment_update(
            cluster=cluster, namespace=namespace, name=target, image=args["image"], actor=ACTOR
        )
    elif action.name == "expose":
        networking.service_expose_deployment(
            cluster=cluster, namespace=namespace, deployment=target, port=args["port"], actor=ACTOR
        )
    elif action.name == "traffic":
        traffic.service_traffic_set(
            cluster=cluster, namespace=namespace, name=target, rps=args["rps"]
        )
    elif action.name == "autoscale":
        autoscaling.hpa_create(
            cluster=cluster,
            namespace=namespace,
            deployment=target,
            min_replicas=args["min"],
            max_replicas=args["max"],
            cpu_percent=args["cpuPercent"],
            actor=ACTOR,
        )
    elif action.name == "cpuBurn":
        autoscaling.deployment_cpu_burn_set(
            cluster=cluster, namespace=namespace, name=target, cpu=args["cpu"], actor=ACTOR
        )


def action_run(
    *,
    cluster: Cluster,
    action: Action,
    advance: Callable[[float], None],
    settle: Callable[[], None],
) -> str:
    """Run one action; returns what it did, for the narration's log."""
    node_actions = {
        "powerOff": nodes.node_power_off,
        "powerOn": nodes.node_power_on,
        "stopKubelet": nodes.node_kubelet_stop,
        "startKubelet": nodes.node_kubelet_start,
        "cordon": nodes.node_cordon,
        "uncordon": nodes.node_uncordon,
    }
    name = action.name
    if isinstance(action.value, dict):
        _mapping_action(cluster, action)
        shown = ", ".join(f"{k}={v}" for k, v in action.value.items() if v != action.target)
        return f"{name} {action.target} {shown}".strip()
    if name in node_actions:
        node_actions[name](cluster=cluster, name=action.target, actor=ACTOR)
    elif name == "drain":
        nodes.node_drain(cluster=cluster, name=action.target, actor=ACTOR)
    elif name == "stopComponent":
        components.component_stop(cluster=cluster, name=action.target, actor=ACTOR)
    elif name == "startComponent":
        components.component_start(cluster=cluster, name=action.target, actor=ACTOR)
    elif name == "rollback":
        namespace, deployment = _deployment(action.target)
        rollouts.deployment_rollback(
            cluster=cluster, namespace=namespace, name=deployment, actor=ACTOR
        )
    elif name == "wait":
        advance(float(action.value))
    elif name == "settle":
        settle()
    value = "" if action.value in (None, True) else f" {action.value:g}s"
    return f"{name} {action.target}{value}".strip()


def step_run(
    *,
    cluster: Cluster,
    step: Step,
    advance: Callable[[float], None],
    settle: Callable[[], None],
) -> list[str]:
    return [
        action_run(cluster=cluster, action=a, advance=advance, settle=settle) for a in step.actions
    ]


def _ready_pods(cluster: Cluster, args: dict) -> list[KubeObject]:
    matches = parse_label_selector(args.get("selector"))
    pods = KubeObject.objects.filter(
        cluster=cluster, kind="Pod", namespace=args.get("namespace", "default"), deleting=False
    )
    return [
        p
        for p in pods
        if matches(p.body["metadata"].get("labels") or {})
        and p.phase == "Running"
        and k8s.pod_is_ready(p.body)
    ]


def check_run(*, cluster: Cluster, check: Check) -> CheckResult:
    args = check.args
    if check.kind == "readyPods":
        ready = _ready_pods(cluster, args)
        misplaced = [p.name for p in ready if p.node_name in set(args.get("notOn") or [])]
        want = args.get("count")
        ok = (want is None or len(ready) == want) and not misplaced
        where = f", none on {', '.join(args['notOn'])}" if args.get("notOn") else ""
        wanted = "all" if want is None else want
        selector = args.get("selector") or "any"
        text = f"{wanted} Ready pods of {selector}{where}: {len(ready)} Ready"
        if misplaced:
            text += f" ({', '.join(misplaced)} on {', '.join(args['notOn'])})"
        return CheckResult(ok, text)
    if check.kind == "nodeStatus":
        node = KubeObject.objects.filter(cluster=cluster, kind="Node", name=args["node"]).first()
        status = k8s.node_ready_status(node.body) if node else "missing"
        want = str(args.get("ready", "True"))
        return CheckResult(status == want, f"node {args['node']} Ready={want}: it is {status}")
    if check.kind == "podsPending":
        matches = parse_label_selector(args.get("selector"))
        pending = [
            p
            for p in KubeObject.objects.filter(cluster=cluster, kind="Pod", phase="Pending")
            if matches(p.body["metadata"].get("labels") or {}) and not p.deleting
        ]
        want = int(args.get("count", 0))
        return CheckResult(len(pending) == want, f"{want} pods Pending: {len(pending)} are")
    if check.kind == "nodeSchedulable":
        node = KubeObject.objects.filter(cluster=cluster, kind="Node", name=args["node"]).first()
        schedulable = node is not None and not node.body.get("spec", {}).get("unschedulable")
        want = bool(args.get("schedulable", True))
        return CheckResult(
            schedulable == want,
            f"node {args['node']} {'schedulable' if want else 'cordoned'}: it is "
            f"{'schedulable' if schedulable else 'cordoned'}",
        )
    if check.kind == "endpoints":
        return _endpoints_check(cluster, args)
    return _deployment_check(cluster, check)


def _endpoints_check(cluster: Cluster, args: dict) -> CheckResult:
    namespace, name = _deployment(str(args.get("service", "")))
    ready = 0
    for body in KubeObject.objects.filter(
        cluster=cluster, kind="EndpointSlice", namespace=namespace
    ).values_list("body", flat=True):
        labels = body["metadata"].get("labels") or {}
        if labels.get("kubernetes.io/service-name") != name or body.get("addressType") == "IPv6":
            continue
        ready += sum(
            1 for e in body.get("endpoints") or [] if (e.get("conditions") or {}).get("ready")
        )
    want = int(args.get("ready", 0))
    return CheckResult(ready == want, f"Service {name} has {want} ready endpoints: {ready}")


def _deployment_check(cluster: Cluster, check: Check) -> CheckResult:
    args = check.args
    namespace, name = _deployment(str(args.get("deployment", "")))
    deploy = KubeObject.objects.filter(
        cluster=cluster, kind="Deployment", namespace=namespace, name=name
    ).first()
    if deploy is None:
        return CheckResult(False, f"deployment {name}: it does not exist")
    spec, status = deploy.body.get("spec", {}), deploy.body.get("status", {})
    replicas = int(spec.get("replicas") or 0)
    if check.kind == "deploymentRevision":
        annotations = deploy.body["metadata"].get("annotations") or {}
        revision = annotations.get("deployment.kubernetes.io/revision", "?")
        want = str(args.get("revision"))
        return CheckResult(
            revision == want, f"deployment {name} at revision {want}: it is at {revision}"
        )
    if check.kind == "replicas":
        low = int(args.get("atLeast", 0))
        high = int(args.get("atMost", 10**6))
        ok = low <= replicas <= high
        return CheckResult(
            ok,
            f"deployment {name} wants {low} to {high if high < 10**6 else 'any'} replicas: {replicas}",
        )
    available = int(status.get("availableReplicas") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    ok = available == replicas and updated == replicas
    return CheckResult(
        ok, f"deployment {name} available: {available}/{replicas} available, {updated} updated"
    )


def goal_check(*, cluster: Cluster, lesson: Lesson) -> list[CheckResult]:
    """Each of the goal's checks against the cluster as it is now."""
    return [check_run(cluster=cluster, check=c) for c in lesson.checks]


# --- the live runner (the dashboard's Lesson panel) ---------------------------------------------

ERR_NO_LESSON = "this cluster was not started from a lesson"
ERR_FINISHED = "the lesson is finished: every step has run"
ERR_NO_CHECKPOINT = "there is no question open right now"
ERR_CHOICE = "choose one of the {count} answers"
ERR_NOT_STUDENT = "only students of a class following this cluster answer its questions"


def _live_clock(cluster: Cluster) -> tuple[Callable[[float], None], Callable[[], None]]:
    """On the live dashboard a ``wait`` steps a paused clock (a running one is already moving)
    and ``settle`` is "Until settled"."""
    from cluster.services.clusters import cluster_settle, cluster_step  # noqa: PLC0415

    def advance(seconds: float) -> None:
        current = Cluster.objects.get(pk=cluster.pk)
        if current.paused:
            cluster_step(cluster=current, seconds=min(seconds, 3600))

    def settle() -> None:
        cluster_settle(cluster=Cluster.objects.get(pk=cluster.pk))

    return advance, settle


def lesson_of(cluster: Cluster) -> Lesson:
    if not cluster.lesson:
        raise Invalid(ERR_NO_LESSON)
    try:
        return lesson_find(cluster.lesson)
    except LessonError as err:
        raise Invalid(str(err)) from None


def lesson_next(*, cluster: Cluster) -> tuple[Step, list[str]]:
    """Run the current step's actions (revealing its checkpoint's answer) and move on. The
    clock pauses when the next step asks a question (nothing moves while the class predicts)
    and runs again at the reveal."""
    from django.db import transaction  # noqa: PLC0415

    lesson = lesson_of(cluster)
    with transaction.atomic():
        current = Cluster.objects.select_for_update().get(pk=cluster.pk)
        index = current.lesson_step
        if index >= len(lesson.steps):
            raise Invalid(ERR_FINISHED)
        Cluster.objects.filter(pk=cluster.pk).update(lesson_step=index + 1)
    step = lesson.steps[index]
    from cluster.services.clusters import cluster_clock_update  # noqa: PLC0415

    if step.checkpoint is not None and Cluster.objects.get(pk=cluster.pk).paused:
        # The reveal: the clock runs again so the class watches the prediction play out.
        cluster_clock_update(cluster=cluster, paused=False)
    advance, settle = _live_clock(cluster)
    done = step_run(cluster=cluster, step=step, advance=advance, settle=settle)
    following = lesson.steps[index + 1] if index + 1 < len(lesson.steps) else None
    if following is not None and following.checkpoint is not None:
        # A prediction comes next: freeze the cluster while the class thinks.
        cluster_clock_update(cluster=Cluster.objects.get(pk=cluster.pk), paused=True)
        done.append("paused for the question")
    broadcast.send_lesson(cluster.pk)
    return step, done


def answer_submit(*, cluster: Cluster, student_id: int, choice: int) -> None:
    """A student's answer to the open checkpoint (the current step's); answering again
    changes it."""
    from cluster.models import Answer, Classroom  # noqa: PLC0415

    lesson = lesson_of(cluster)
    if not Classroom.objects.filter(cluster=cluster, students__pk=student_id).exists():
        raise Invalid(ERR_NOT_STUDENT)
    index = Cluster.objects.filter(pk=cluster.pk).values_list("lesson_step", flat=True).get()
    step = lesson.steps[index] if index < len(lesson.steps) else None
    if step is None or step.checkpoint is None:
        raise Invalid(ERR_NO_CHECKPOINT)
    if not 0 <= choice < len(step.checkpoint.choices):
        raise Invalid(ERR_CHOICE.format(count=len(step.checkpoint.choices)))
    Answer.objects.update_or_create(
        cluster=cluster, step=index, student_id=student_id, defaults={"choice": choice}
    )
    broadcast.send_lesson(cluster.pk, tally_only=True)
