"""The kubelet's container lifecycle for one pod (called from ``Kubelet._advance``).

Models k8s-reference §2.2-2.4 and the kubelet events of §8.3:

- **Images**: each image not on the node is pulled (``Pulling``/``Pulled``). An image missing
  from the simulated registry (``containers.image_pull_error``) fails: Warning ``Failed``
  "Failed to pull image ..." and "Error: ErrImagePull" (waiting reason ErrImagePull), then
  ``BackOff`` "Back-off pulling image" / "Error: ImagePullBackOff" (ImagePullBackOff) until the
  image back-off (10 s doubling to 300 s) lets it pull again.
- **Start**: ``Created``/``Started``; the container runs until the simulated application (the
  ``k8sviz.io/behavior`` annotation) crashes, leaks memory past its limit (OOMKilled, 137) or
  stops answering its liveness/startup probe (``Unhealthy`` then ``Killing`` "Container x failed
  liveness probe, will be restarted"). Readiness follows the readiness probe (ContainersReady /
  Ready conditions). A container without a readiness probe is ready once started, as in
  Kubernetes, so ``never-ready``, ``readiness-fail`` and ``slow-start`` show only with probes.
- **Restart**: by ``restartPolicy`` (Always; OnFailure only after a non-zero exit; Never). The
  first restart is immediate, then CrashLoopBackOff (waiting message "back-off 20s restarting
  failed container=..."; Warning ``BackOff``) for 10 s doubling to 300 s, forgotten once the last
  restart is 600 s old. A container that is not restarted leaves the pod Succeeded (all exit 0)
  or Failed.
- **Definition change**: a changed ``spec.containers[*].image`` kills the container ("Container x
  definition changed, will be restarted") and starts the new image (restartCount + 1).

Simplification: a pod's containers share one lifecycle (the first container's probes and
memory limit drive it), which is exact for the usual one-container pod.

No probe is polled: ``containers.container_outcome`` computes when the next thing happens and
the kubelet schedules one wakeup for that instant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cluster import containers as rt
from cluster import k8s
from cluster.controllers.base import SyncContext
from cluster.models import KubeObject
from cluster.scheduling.quantity import QuantityError, parse_memory
from cluster.services import store
from cluster.services.k8s_events import WARNING

if TYPE_CHECKING:
    from cluster.controllers.kubelet import Kubelet

#: How long ErrImagePull shows before the pod worker's next sync reports ImagePullBackOff.
IMAGE_ERROR_SHOWN = 2.0
PROBE_FAILURES = {
    "liveness": "Liveness probe failed: HTTP probe failed with statuscode: 500",
    "startup": "Startup probe failed: HTTP probe failed with statuscode: 503",
    "readiness": "Readiness probe failed: HTTP probe failed with statuscode: 503",
}
EXIT_OOM = 137
EXIT_KILLED = 137


# --- the pure timeline -------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    started_at: float  # when the container counts as started (startup probe passed)
    end_at: float  # when it stops (inf: never)
    end_cause: str  # "", "crash", "oom", "liveness", "startup"
    exit_code: int
    ready: list[tuple[float, bool]]  # readiness flips after ``reset_at``
    failure_threshold: int  # of the probe that killed it, for the Unhealthy count


def _health(points: list[tuple[float, bool]]) -> list[tuple[float, bool]]:
    points.sort(key=lambda p: p[0])
    merged: list[tuple[float, bool]] = []
    for at, value in points:
        if merged and merged[-1][0] == at:
            merged[-1] = (at, value)
        elif not merged or merged[-1][1] != value:
            merged.append((at, value))
    return merged


def container_outcome(
    *,
    behavior: rt.Behavior,
    started: float,
    origin: float,
    reset_at: float,
    ready_at_reset: bool,
    liveness: rt.Probe | None,
    readiness: rt.Probe | None,
    startup: rt.Probe | None,
    memory_limit: float | None,
) -> Outcome:
    """What happens to a container started at ``started`` whose application behaves as
    ``behavior`` since ``origin`` (probe counts restart at ``reset_at``, when readiness was
    ``ready_at_reset``)."""
    answers_from = started + behavior.slow_start
    live_until = (
        origin + behavior.liveness_fail_after
        if behavior.liveness_fail_after is not None
        else math.inf
    )
    answers = _health([(-math.inf, False), (answers_from, True), (live_until, False)])
    ends: list[tuple[float, str, int, int]] = []
    if behavior.crash_after is not None:
        ends.append((origin + behavior.crash_after, "crash", behavior.exit_code, 0))
    oom = rt.oom_instant(since=origin, rate=behavior.leak_rate, limit=memory_limit)
    if oom != math.inf:
        ends.append((oom, "oom", EXIT_OOM, 0))
    started_at = started
    if startup is not None:
        flips = rt.probe_transitions(
            first=started + startup.initial_delay,
            period=startup.period,
            success_threshold=1,
            failure_threshold=startup.failure_threshold,
            initial=None,
            health=answers,
        )
        if flips and flips[0][1]:
            started_at = flips[0][0]
        else:
            started_at = math.inf
            if flips:
                ends.append((flips[0][0], "startup", EXIT_KILLED, startup.failure_threshold))
    if liveness is not None and started_at != math.inf:
        flips = rt.probe_transitions(
            first=started + liveness.initial_delay,
            period=liveness.period,
            success_threshold=1,
            failure_threshold=liveness.failure_threshold,
            initial=True,
            health=answers,
            since=max(started_at, reset_at),
        )
        kills = [at for at, ok in flips if not ok]
        if kills:
            ends.append((kills[0], "liveness", EXIT_KILLED, liveness.failure_threshold))
    end_at, cause, code, threshold = min(ends, default=(math.inf, "", 0, 0), key=lambda e: e[0])
    ready: list[tuple[float, bool]] = []
    if started_at != math.inf:
        if readiness is None:
            if not ready_at_reset:
                ready = [(max(started_at, reset_at), True)]
        else:
            serving = [(-math.inf, False), (answers_from, not behavior.never_ready)]
            if behavior.readiness_fail_after is not None and not behavior.never_ready:
                fail_from = origin + behavior.readiness_fail_after
                serving.append((max(fail_from, answers_from), False))
                back = fail_from + behavior.readiness_fail_for
                if back != math.inf and back > answers_from:
                    serving.append((back, True))
            serving.append((live_until, False))
            ready = rt.probe_transitions(
                first=started + readiness.initial_delay,
                period=readiness.period,
                success_threshold=readiness.success_threshold,
                failure_threshold=readiness.failure_threshold,
                initial=ready_at_reset,
                health=_health(serving),
                since=max(started_at, reset_at),
                until=end_at,
            )
    ready = [(at, v) for at, v in ready if at < end_at]
    return Outcome(started_at, end_at, cause, code, ready, threshold)


# --- reading the pod ---------------------------------------------------------------------------


def _memory_limit(container: dict) -> float | None:
    value = ((container.get("resources") or {}).get("limits") or {}).get("memory")
    if not value:
        return None
    try:
        return float(parse_memory(str(value)))
    except QuantityError:
        return None


def _behavior(pod: KubeObject) -> tuple[str, rt.Behavior]:
    text = (pod.body["metadata"].get("annotations") or {}).get(rt.BEHAVIOR_ANNOTATION, "")
    try:
        return text, rt.parse_behavior(text)
    except rt.BehaviorError:
        return text, rt.Behavior()


def _pod_ref(pod: KubeObject) -> str:
    return f"{pod.name}_{pod.namespace}({pod.body['metadata'].get('uid', '')})"


def outcome_for(pod: KubeObject, state: dict, behavior: rt.Behavior | None = None) -> Outcome:
    """The running container's outcome under the pod's current behaviour (or ``behavior``)."""
    first = (pod.spec.get("containers") or [{}])[0]
    return container_outcome(
        behavior=_behavior(pod)[1] if behavior is None else behavior,
        started=float(state["started"]),
        origin=float(state.get("origin", state["started"])),
        reset_at=float(state.get("reset_at", state["started"])),
        ready_at_reset=bool(state.get("ready_at_reset", False)),
        liveness=rt.Probe.from_spec(first.get("livenessProbe")),
        readiness=rt.Probe.from_spec(first.get("readinessProbe")),
        startup=rt.Probe.from_spec(first.get("startupProbe")),
        memory_limit=_memory_limit(first),
    )


# --- the state machine -------------------------------------------------------------------------


class PodRuntime:
    """One sync of one pod's containers; ``state`` is ``pod.sim["kubelet"]``."""

    def __init__(self, kubelet: Kubelet, ctx: SyncContext, pod: KubeObject, machine: KubeObject):
        self.k, self.ctx, self.pod, self.machine = kubelet, ctx, pod, machine
        self.state: dict = pod.sim["kubelet"]
        self.containers: list[dict] = pod.spec.get("containers") or []
        self.actor = f"kubelet/{pod.node_name}"
        self.now = ctx.now

    # helpers
    def event(self, reason: str, message: str, *, container: str | None = None, warn=False):
        self.k._event(
            self.ctx,
            self.pod,
            reason,
            message,
            container=container,
            type_=WARNING if warn else "Normal",
        )

    def statuses(self) -> list[dict]:
        return self.pod.status.setdefault("containerStatuses", [])

    def save(self, *, status: bool = True) -> None:
        if status:
            store.object_update(obj=self.pod, actor=self.actor)
        else:
            store.object_sim_update(obj=self.pod)

    def wake(self, at: float) -> None:
        self.ctx.reschedule(f"pod:{self.pod.key}", max(at, self.now))

    def spec_images(self) -> dict[str, str]:
        return {c["name"]: c.get("image", "") for c in self.containers}

    def set_ready(self, ready: bool) -> bool:
        status = self.pod.status
        changed = False
        for cs in self.statuses():
            if cs.get("ready") != ready:
                cs["ready"] = ready
                changed = True
        if ready:
            for ctype in ("ContainersReady", "Ready"):
                changed |= k8s.set_condition(status, ctype, "True", now=self.now)
                cond = k8s.get_condition(status, ctype) or {}
                cond.pop("reason", None)
                cond.pop("message", None)
        else:
            names = " ".join(c["name"] for c in self.containers)
            for ctype in ("ContainersReady", "Ready"):
                changed |= k8s.set_condition(
                    status,
                    ctype,
                    "False",
                    now=self.now,
                    reason="ContainersNotReady",
                    message=f"containers with unready status: [{names}]",
                )
        return changed

    def set_waiting(self, reason: str, message: str = "") -> None:
        for cs in self.statuses():
            waiting = {"reason": reason}
            if message:
                waiting["message"] = message.replace("container=?", f"container={cs['name']}")
            cs["state"] = {"waiting": waiting}
            cs["ready"] = False
            cs["started"] = False

    # entry point
    def run(self) -> None:
        stage = self.state.get("stage")
        running_images = self.state.get("images")
        if running_images is not None and running_images != self.spec_images():
            self.definition_changed()
            return
        due = float(self.state.get("due", 0.0))
        if stage in ("pulling", "image-error", "image-backoff", "starting", "crash-backoff"):
            if due > self.now + 1e-9:
                self.wake(due)
                return
            getattr(self, "at_" + stage.replace("-", "_"))()
        elif stage == "running":
            self.running()
        # "exited": a container that is not restarted; nothing to do.

    def begin(self) -> None:
        """From the pending status: pull what is missing, else create the containers."""
        self.state["images"] = self.spec_images()
        self.state.setdefault("instances", 0)
        self.pull_or_start()

    def pull_or_start(self) -> None:
        images = self.machine.sim.setdefault("images", [])
        missing = [
            c
            for c in self.containers
            if c.get("image", "") not in images or c.get("imagePullPolicy") == "Always"
        ]
        for c in self.containers:
            if c not in missing:
                self.event(
                    "Pulled",
                    f'Container image "{c.get("image", "")}" already present on machine',
                    container=c["name"],
                )
        if missing:
            for c in missing:
                self.event("Pulling", f'Pulling image "{c.get("image", "")}"', container=c["name"])
            due = self.now + self.ctx.timings["image_pull_seconds"]
            self.state.update(stage="pulling", due=due, pull_started=self.now)
        else:
            due = self.now + self.ctx.timings["container_start_seconds"]
            self.state.update(stage="starting", due=due)
        self.save(status=True)
        self.wake(due)

    def at_pulling(self) -> None:
        took = self.now - float(self.state.get("pull_started", self.now))
        images = self.machine.sim.setdefault("images", [])
        for c in self.containers:
            image = c.get("image", "")
            error = rt.image_pull_error(image)
            if error is not None:
                self.pull_failed(c, error)
                return
        for c in self.containers:
            image = c.get("image", "")
            if image in images and c.get("imagePullPolicy") != "Always":
                continue
            self.event(
                "Pulled",
                f'Successfully pulled image "{image}" in {took:.3g}s ({took:.3g}s including '
                f"waiting). Image size: {_image_size(image)} bytes.",
                container=c["name"],
            )
            if image not in images:
                images.append(image)
        store.object_sim_update(obj=self.machine)
        due = self.now + self.ctx.timings["container_start_seconds"]
        self.state.update(stage="starting", due=due, pull_failures=0)
        self.save(status=False)
        self.wake(due)

    def pull_failed(self, container: dict, error: str) -> None:
        image = container.get("image", "")
        name = container["name"]
        self.event("Failed", f'Failed to pull image "{image}": {error}', container=name, warn=True)
        self.event("Failed", "Error: ErrImagePull", container=name, warn=True)
        failures = int(self.state.get("pull_failures", 0)) + 1
        delay = rt.image_backoff_delay(
            failures,
            initial=self.ctx.timings["image_backoff_initial"],
            maximum=self.ctx.timings["image_backoff_max"],
        )
        self.set_waiting("ErrImagePull", f'Failed to pull image "{image}": {error}')
        shown = min(IMAGE_ERROR_SHOWN, delay)
        self.state.update(
            stage="image-error",
            due=self.now + shown,
            retry_at=self.now + delay,
            pull_failures=failures,
            failed_image=image,
            failed_container=name,
        )
        self.save(status=True)
        self.wake(self.now + shown)

    def at_image_error(self) -> None:
        image = self.state.get("failed_image", "")
        name = self.state.get("failed_container")
        self.event("BackOff", f'Back-off pulling image "{image}"', container=name)
        self.event("Failed", "Error: ImagePullBackOff", container=name, warn=True)
        self.set_waiting("ImagePullBackOff", f'Back-off pulling image "{image}"')
        due = float(self.state.get("retry_at", self.now))
        self.state.update(stage="image-backoff", due=due)
        self.save(status=True)
        self.wake(due)

    def at_image_backoff(self) -> None:
        self.pull_or_start()

    def at_starting(self) -> None:
        text, _ = _behavior(self.pod)
        restarted = int(self.state.get("instances", 0)) > 0
        for c in self.containers:
            self.event("Created", f"Created container: {c['name']}", container=c["name"])
            self.event("Started", f"Started container {c['name']}", container=c["name"])
        started = k8s.rfc3339(self.now)
        for cs in self.statuses():
            old = cs.get("state") or {}
            if restarted:
                cs["restartCount"] = int(cs.get("restartCount", 0)) + 1
                if "terminated" in old:
                    cs["lastState"] = {"terminated": old["terminated"]}
                elif self.state.get("last_terminated"):
                    cs["lastState"] = {"terminated": dict(self.state["last_terminated"])}
            cs["state"] = {"running": {"startedAt": started}}
            cs["ready"] = False
            cs["started"] = False
            cs["image"] = self.spec_images().get(cs["name"], cs.get("image", ""))
        status = self.pod.status
        status["phase"] = "Running"
        for ctype in ("PodReadyToStartContainers", "Initialized"):
            k8s.set_condition(status, ctype, "True", now=self.now)
        self.state.update(
            stage="running",
            started=self.now,
            origin=self.now,
            reset_at=self.now,
            ready_at_reset=False,
            behavior=text,
            instances=int(self.state.get("instances", 0)) + 1,
            images=self.spec_images(),
        )
        self.state.pop("due", None)
        self.running(force_save=True)

    def running(self, *, force_save: bool = False) -> None:
        text, _ = _behavior(self.pod)
        changed = force_save
        if text != self.state.get("behavior", ""):
            # The application's new behaviour counts from now; so do the probes' runs, from
            # the readiness the old behaviour had reached.
            try:
                old = rt.parse_behavior(self.state.get("behavior", ""))
            except rt.BehaviorError:
                old = rt.Behavior()
            outcome = outcome_for(self.pod, self.state, old)
            was_ready = rt.state_at(
                outcome.ready, self.now - 1e-6, bool(self.state.get("ready_at_reset"))
            )
            self.state.update(
                behavior=text, origin=self.now, reset_at=self.now, ready_at_reset=was_ready
            )
            changed = True
        outcome = outcome_for(self.pod, self.state)
        if self.now + 1e-9 >= outcome.end_at:
            self.container_exited(outcome)
            return
        ready = rt.state_at(outcome.ready, self.now, bool(self.state.get("ready_at_reset")))
        started = self.now + 1e-9 >= outcome.started_at
        was_ready = all(cs.get("ready") for cs in self.statuses())
        for cs in self.statuses():
            if cs.get("started") != started:
                cs["started"] = started
                changed = True
        if self.set_ready(ready):
            changed = True
            if was_ready and not ready:
                for c in self.containers[:1]:
                    self.event(
                        "Unhealthy", PROBE_FAILURES["readiness"], container=c["name"], warn=True
                    )
        if changed:
            self.save(status=True)
        upcoming = [at for at, _ in outcome.ready if at > self.now + 1e-9]
        if outcome.started_at > self.now + 1e-9:
            upcoming.append(outcome.started_at)
        upcoming.append(outcome.end_at)
        nxt = min(upcoming)
        if nxt == math.inf:
            self.ctx.cancel(f"pod:{self.pod.key}")
        else:
            self.wake(nxt)

    def container_exited(self, outcome: Outcome) -> None:
        cause, code = outcome.end_cause, outcome.exit_code
        if cause in ("liveness", "startup"):
            for c in self.containers[:1]:
                for _ in range(max(outcome.failure_threshold, 1)):
                    self.event("Unhealthy", PROBE_FAILURES[cause], container=c["name"], warn=True)
                self.event(
                    "Killing",
                    f"Container {c['name']} failed {cause} probe, will be restarted",
                    container=c["name"],
                )
        reason = "OOMKilled" if cause == "oom" else ("Completed" if code == 0 else "Error")
        self.terminate_containers(code, reason, at=outcome.end_at)
        policy = self.pod.spec.get("restartPolicy", "Always")
        restart = policy == "Always" or (policy == "OnFailure" and code != 0)
        if not restart:
            self.finish(code)
            return
        maximum = self.ctx.timings["crash_backoff_max"]
        last = self.state.get("last_restart")
        streak = int(self.state.get("streak", 0))
        if rt.backoff_expired(None if last is None else float(last), self.now, maximum=maximum):
            streak = 0
        delay = rt.backoff_delay(
            streak, initial=self.ctx.timings["crash_backoff_initial"], maximum=maximum
        )
        self.state.update(streak=streak + 1, last_restart=self.now)
        if delay > 0:
            name = self.containers[0]["name"]
            pod_ref = _pod_ref(self.pod)
            self.state["last_terminated"] = dict(
                (self.statuses()[0].get("state") or {}).get("terminated") or {}
            )
            for cs in self.statuses():
                term = (cs.get("state") or {}).get("terminated")
                cs["lastState"] = {"terminated": term} if term else cs.get("lastState", {})
            self.set_waiting(
                "CrashLoopBackOff",
                f"back-off {delay:g}s restarting failed container=? pod={pod_ref}",
            )
            self.event(
                "BackOff",
                f"Back-off restarting failed container {name} in pod {pod_ref}",
                container=name,
                warn=True,
            )
        self.state.update(stage="crash-backoff", due=self.now + delay)
        self.save(status=True)
        self.wake(self.now + delay)

    def at_crash_backoff(self) -> None:
        self.pull_or_start_restart()

    def pull_or_start_restart(self) -> None:
        for c in self.containers:
            self.event(
                "Pulled",
                f'Container image "{c.get("image", "")}" already present on machine',
                container=c["name"],
            )
        due = self.now + self.ctx.timings["container_start_seconds"]
        self.state.update(stage="starting", due=due)
        self.save(status=False)
        self.wake(due)

    def terminate_containers(self, code: int, reason: str, *, at: float) -> None:
        finished = k8s.rfc3339(at)
        for cs in self.statuses():
            started = ((cs.get("state") or {}).get("running") or {}).get("startedAt")
            cs["state"] = {
                "terminated": {
                    "exitCode": code,
                    "reason": reason,
                    "startedAt": started,
                    "finishedAt": finished,
                }
            }
            cs["ready"] = False
            cs["started"] = False
        self.set_ready(False)

    def finish(self, code: int) -> None:
        """restartPolicy keeps the container terminated: the pod reaches its terminal phase."""
        status = self.pod.status
        status["phase"] = "Succeeded" if code == 0 else "Failed"
        reason = "PodCompleted" if code == 0 else "PodFailed"
        for ctype in ("Ready", "ContainersReady"):
            k8s.set_condition(status, ctype, "False", now=self.now, reason=reason)
        self.state.update(stage="exited")
        self.state.pop("due", None)
        self.save(status=True)
        self.ctx.cancel(f"pod:{self.pod.key}")

    def definition_changed(self) -> None:
        """A new image: kill the running container, then pull/start the new one. The image
        back-off is per image, so a new image is pulled at once."""
        if self.state.get("stage") == "running":
            old = self.state.get("images") or {}
            for c in self.containers:
                if old.get(c["name"]) != c.get("image"):
                    self.event(
                        "Killing",
                        f"Container {c['name']} definition changed, will be restarted",
                        container=c["name"],
                    )
            self.terminate_containers(0, "Completed", at=self.now)
        self.state["images"] = self.spec_images()
        self.state["pull_failures"] = 0
        for cs in self.statuses():
            cs["image"] = self.spec_images().get(cs["name"], cs.get("image", ""))
        if int(self.state.get("instances", 0)) == 0:
            for cs in self.statuses():
                cs["state"] = {"waiting": {"reason": "ContainerCreating"}}
        self.pull_or_start()


def _image_size(image: str) -> int:
    from cluster.controllers.kubelet import image_size

    return image_size(image)
