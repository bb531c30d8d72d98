"""Pure container-runtime arithmetic for the simulated kubelet (k8s-reference §2.2-2.4).

Everything here is a function of its arguments: no clock, no randomness, no database.

- **Behaviour**: the grammar of the ``k8sviz.io/behavior`` annotation that stages what the
  simulated application does (``parse_behavior``; ``BehaviorError`` carries the message shown
  as a 422 / toast).
- **Back-off**: the kubelet's crash-loop and image-pull back-off (client-go ``flowcontrol.Backoff``:
  first restart immediate, then initial doubling to max; reset once the last step is 2 x max old).
- **Registry**: which images exist in the simulated registry (``image_pull_error``).
- **Probes**: when a probe's consecutive results cross its thresholds, computed from the
  application's health as a piecewise-constant function of time (``probe_transitions``), so the
  kubelet schedules one wakeup for the next change instead of polling every period.
- **OOM**: when a leaking application's memory reaches its container's limit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cluster.scheduling.quantity import QuantityError, parse_cpu

BEHAVIOR_ANNOTATION = "k8sviz.io/behavior"
INF = math.inf

# --- behaviour -------------------------------------------------------------------------------

BEHAVIOR_HELP = (
    "expected clauses separated by ';': healthy | crash [after=30s] [exit=1] | "
    "liveness-fail [after=60s] | readiness-fail [after=30s] [for=20s] | never-ready | "
    "memory-leak rate=20Mi/s | slow-start 30s | cpu 300m"
)
MODES = (
    "healthy",
    "crash",
    "liveness-fail",
    "readiness-fail",
    "never-ready",
    "memory-leak",
    "slow-start",
    "cpu",
)
_ARGS = {
    "healthy": (),
    "crash": ("after", "exit"),
    "liveness-fail": ("after",),
    "readiness-fail": ("after", "for"),
    "never-ready": (),
    "memory-leak": ("rate",),
    "slow-start": ("after",),
    "cpu": ("burn",),
}
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?(?:/s)?$")
_MEM_UNITS = {
    None: 1,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
}
MAX_SECONDS = 86400.0
#: The largest constant CPU burn a behaviour may ask for (64 cores): beyond any simulated node.
MAX_CPU_BURN_MILLIS = 64_000


class BehaviorError(ValueError):
    """An invalid ``k8sviz.io/behavior`` value; the message says what is wrong."""


@dataclass(frozen=True)
class Behavior:
    """What the simulated application does, times counted from when it took effect (the
    container's start, or the moment the annotation changed on a running container)."""

    crash_after: float | None = None
    exit_code: int = 1
    liveness_fail_after: float | None = None
    readiness_fail_after: float | None = None
    readiness_fail_for: float = INF
    never_ready: bool = False
    leak_rate: float = 0.0  # bytes per second
    slow_start: float = 0.0  # seconds from the container's start until it answers
    cpu_burn: int = 0  # millicores the application burns on top of its load (capped by its limit)


def parse_duration(text: str, *, what: str) -> float:
    match = _DURATION.match(text.strip())
    if not match:
        raise BehaviorError(f'{what}: "{text}" is not a duration (e.g. 30s, 2m, 500ms)')
    value = float(match.group(1)) * _UNITS[match.group(2)]
    if value > MAX_SECONDS:
        raise BehaviorError(f"{what}: {text} is longer than a day")
    return value


def parse_rate(text: str) -> float:
    match = _MEMORY.match(text.strip())
    if not match:
        raise BehaviorError(f'rate: "{text}" is not a memory rate (e.g. 20Mi/s)')
    value = float(match.group(1)) * _MEM_UNITS[match.group(2)]
    if value <= 0:
        raise BehaviorError("rate: must be greater than 0")
    return value


def parse_cpu_burn(text: str) -> int:
    """A CPU quantity as in ``resources.requests.cpu`` (``300m``, ``0.5``, ``2``), in millicores."""
    try:
        value = parse_cpu(text.strip())
    except QuantityError:
        raise BehaviorError(f'cpu: "{text}" is not a CPU quantity (e.g. 300m, 0.5, 2)') from None
    if value <= 0:
        raise BehaviorError("cpu: must be greater than 0")
    if value > MAX_CPU_BURN_MILLIS:
        raise BehaviorError("cpu: must be at most 64 (cores)")
    return value


def parse_behavior(text: str | None) -> Behavior:
    """Parse the annotation's value; empty or missing means healthy.

    >>> parse_behavior("crash after=30s exit=2").crash_after
    30.0
    """
    if not text or not text.strip():
        return Behavior()
    fields: dict = {}
    seen: set[str] = set()
    for clause in text.split(";"):
        words = clause.split()
        if not words:
            continue
        mode, rest = words[0], words[1:]
        if mode not in _ARGS:
            raise BehaviorError(f'unknown behaviour "{mode}": {BEHAVIOR_HELP}')
        if mode in seen:
            raise BehaviorError(f'"{mode}" is given twice')
        seen.add(mode)
        args: dict[str, str] = {}
        for word in rest:
            key, eq, value = word.partition("=")
            if not eq:
                # A bare value is the clause's first parameter: "slow-start 30s".
                if not _ARGS[mode]:
                    raise BehaviorError(f'"{mode}" takes no parameters')
                key, value = _ARGS[mode][0], word
            if key not in _ARGS[mode]:
                allowed = ", ".join(_ARGS[mode]) or "none"
                raise BehaviorError(f'"{mode}" has no parameter "{key}" (allowed: {allowed})')
            if key in args:
                raise BehaviorError(f'"{mode}": {key} is given twice')
            args[key] = value
        if mode == "crash":
            fields["crash_after"] = parse_duration(args.get("after", "0s"), what="after")
            try:
                code = int(args.get("exit", "1"))
            except ValueError:
                raise BehaviorError(f'exit: "{args["exit"]}" is not a whole number') from None
            if not 0 <= code <= 255:
                raise BehaviorError("exit: must be between 0 and 255")
            fields["exit_code"] = code
        elif mode == "liveness-fail":
            fields["liveness_fail_after"] = parse_duration(args.get("after", "0s"), what="after")
        elif mode == "readiness-fail":
            fields["readiness_fail_after"] = parse_duration(args.get("after", "0s"), what="after")
            if "for" in args:
                fields["readiness_fail_for"] = parse_duration(args["for"], what="for")
        elif mode == "never-ready":
            fields["never_ready"] = True
        elif mode == "memory-leak":
            if "rate" not in args:
                raise BehaviorError('"memory-leak" needs rate=<memory>/s, e.g. rate=20Mi/s')
            fields["leak_rate"] = parse_rate(args["rate"])
        elif mode == "slow-start":
            if "after" not in args:
                raise BehaviorError('"slow-start" needs a duration, e.g. slow-start 30s')
            fields["slow_start"] = parse_duration(args["after"], what="slow-start")
        elif mode == "cpu":
            if "burn" not in args:
                raise BehaviorError('"cpu" needs a CPU quantity, e.g. cpu 300m')
            fields["cpu_burn"] = parse_cpu_burn(args["burn"])
    return Behavior(**fields)


def behavior_error(text: str | None) -> str | None:
    """The validation message for an annotation value, or None if it parses."""
    try:
        parse_behavior(text)
    except BehaviorError as exc:
        return str(exc)
    return None


# --- back-off --------------------------------------------------------------------------------


def backoff_delay(step: int, *, initial: float, maximum: float) -> float:
    """Delay before restart number ``step`` of a crash-looping container, counting steps of the
    current streak from 0: the first restart is immediate, then initial, 2 x initial, ... capped
    at maximum (kubelet containerBackOffPeriod 10 s, MaxContainerBackOff 300 s)."""
    if step <= 0:
        return 0.0
    return min(maximum, initial * 2.0 ** (step - 1))


def image_backoff_delay(failures: int, *, initial: float, maximum: float) -> float:
    """Wait after the ``failures``-th failed pull in a row before pulling again (imageBackOff
    10 s doubling to 300 s)."""
    return min(maximum, initial * 2.0 ** (max(failures, 1) - 1))


def backoff_expired(last_step: float | None, now: float, *, maximum: float) -> bool:
    """client-go's Backoff forgets an entry whose last step is older than 2 x max (600 s by
    default): a container that ran that long since its last restart starts a fresh streak."""
    return last_step is None or now - last_step > 2 * maximum


# --- registry --------------------------------------------------------------------------------

#: Repositories in the simulated registry (Docker Hub's official images a class meets).
CATALOGUE = frozenset(
    {
        "nginx",
        "httpd",
        "redis",
        "busybox",
        "alpine",
        "postgres",
        "mysql",
        "mariadb",
        "mongo",
        "python",
        "node",
        "golang",
        "ubuntu",
        "debian",
        "traefik",
        "memcached",
        "rabbitmq",
        "registry",
        "wordpress",
        "caddy",
        "haproxy",
        "openjdk",
        "eclipse-temurin",
        "ruby",
        "php",
        "pause",
        "hello-world",
    }
)
#: Registry hosts whose images exist: Docker Hub and the Kubernetes registries' demo images.
KNOWN_EXTRA = frozenset(
    {
        "registry.k8s.io/pause",
        "registry.k8s.io/echoserver",
        "registry.k8s.io/e2e-test-images/agnhost",
        "gcr.io/google-samples/hello-app",
    }
)
_TAG = re.compile(
    r"^(latest|stable|mainline|lts|alpine|slim|bookworm|bullseye|jammy|noble"
    r"|\d+(\.\d+){0,2}([-.](alpine|slim|bookworm|bullseye|jammy|noble|perl|otel|"
    r"alpine\d+(\.\d+)?|slim-bookworm|slim-bullseye|alpine-slim|alpine-perl|management))*)$"
)


def split_image(image: str) -> tuple[str, str]:
    """(repository, tag) with Docker's normalisation: no tag means latest; ``docker.io/`` and
    ``library/`` are dropped. A digest reference keeps ``@sha256:...`` as its tag."""
    if "@" in image:
        repo, _, digest = image.partition("@")
        return _normalise(repo.rsplit(":", 1)[0] if ":" in repo.rsplit("/", 1)[-1] else repo), (
            "@" + digest
        )
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        repo, _, tag = image.rpartition(":")
    else:
        repo, tag = image, "latest"
    return _normalise(repo), tag


def _normalise(repo: str) -> str:
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/", "library/"):
        if repo.startswith(prefix):
            repo = repo[len(prefix) :]
            break
    return repo


def image_pull_error(image: str) -> str | None:
    """Why pulling ``image`` fails in the simulated registry, or None if it exists.

    The rule: a repository exists if it is in CATALOGUE (Docker Hub official images, with or
    without ``docker.io/library/``) or KNOWN_EXTRA; its tags are ``latest``, version numbers of
    one to three parts (``1``, ``1.27``, ``1.27.3``) optionally followed by common variant
    suffixes (``-alpine``, ``-slim``, ``-bookworm``, ...), and a few named tags (``stable``,
    ``alpine``, ...). Any digest exists. The messages are containerd's."""
    repo, tag = split_image(image)
    if repo not in CATALOGUE and repo not in KNOWN_EXTRA:
        return (
            f'failed to pull and unpack image "{_reference(image)}": failed to resolve reference '
            f'"{_reference(image)}": pull access denied, repository does not exist or may '
            "require authorization: server message: insufficient_scope: authorization failed"
        )
    if tag.startswith("@") or _TAG.match(tag):
        return None
    return (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{_reference(image)}": '
        f'failed to resolve reference "{_reference(image)}": {_reference(image)}: not found'
    )


def _reference(image: str) -> str:
    repo, tag = split_image(image)
    host = repo.split("/", 1)[0]
    if "." not in host and ":" not in host:
        repo = f"docker.io/{repo}" if "/" in repo else f"docker.io/library/{repo}"
    return f"{repo}{tag}" if tag.startswith("@") else f"{repo}:{tag}"


# --- probes ----------------------------------------------------------------------------------

PROBE_DEFAULTS = {
    "timeoutSeconds": 1,
    "periodSeconds": 10,
    "successThreshold": 1,
    "failureThreshold": 3,
}


@dataclass(frozen=True)
class Probe:
    initial_delay: float = 0.0
    period: float = 10.0
    success_threshold: int = 1
    failure_threshold: int = 3

    @classmethod
    def from_spec(cls, spec: dict | None) -> Probe | None:
        if not spec:
            return None
        return cls(
            initial_delay=float(spec.get("initialDelaySeconds", 0) or 0),
            period=float(spec.get("periodSeconds", 10) or 10),
            success_threshold=int(spec.get("successThreshold", 1) or 1),
            failure_threshold=int(spec.get("failureThreshold", 3) or 3),
        )


def probe_apply_defaults(probe: dict) -> None:
    """SetDefaults_Probe (pkg/apis/core/v1/defaults.go) plus httpGet's path and scheme."""
    for key, value in PROBE_DEFAULTS.items():
        probe.setdefault(key, value)
    if "httpGet" in probe and isinstance(probe["httpGet"], dict):
        probe["httpGet"].setdefault("path", "/")
        probe["httpGet"].setdefault("scheme", "HTTP")


def probe_transitions(
    *,
    first: float,
    period: float,
    success_threshold: int,
    failure_threshold: int,
    initial: bool | None,
    health: Sequence[tuple[float, bool]],
    since: float = -INF,
    until: float = INF,
) -> list[tuple[float, bool]]:
    """The instants at which a prober's result flips, and to what.

    Probes run at ``first + k x period`` (k >= 0, not before ``since``, not after ``until``).
    The application's health is piecewise constant: ``health`` lists (from_time, healthy) in
    time order, the first entry covering everything before it. The prober's state starts at
    ``initial`` (None: neither, as a startup probe) and turns to success after
    ``success_threshold`` consecutive successes, to failure after ``failure_threshold``
    consecutive failures. Work is proportional to the number of health changes, not of probes.
    """
    out: list[tuple[float, bool]] = []
    state = initial
    run_value: bool | None = None
    run = 0
    start_k = 0 if since <= first else math.ceil((since - first) / period - 1e-9)
    for i, (seg_start, healthy) in enumerate(health):
        if seg_start == INF:
            break
        seg_end = health[i + 1][0] if i + 1 < len(health) else INF
        lo = max(
            start_k,
            0 if seg_start <= first else math.ceil((seg_start - first) / period - 1e-9),
        )
        if seg_end == INF:
            hi = INF
        else:
            hi = math.ceil((seg_end - first) / period - 1e-9)  # first probe index not in segment
        if until != INF:
            hi = min(hi, math.floor((until - first) / period + 1e-9) + 1)
        if hi <= lo:
            continue
        count = hi - lo
        if run_value is not healthy:
            run_value, run = healthy, 0
        threshold = success_threshold if healthy else failure_threshold
        if state is not healthy:
            needed = threshold - run
            if needed <= count:
                k = lo + needed - 1
                out.append((first + k * period, healthy))
                state = healthy
        run = run + count if count != INF else INF  # type: ignore[assignment]
    return out


def state_at(transitions: Sequence[tuple[float, bool]], t: float, initial: bool) -> bool:
    value = initial
    for at, v in transitions:
        if at <= t + 1e-9:
            value = v
    return value


def oom_instant(*, since: float, rate: float, limit: float | None, baseline: float = 0.0) -> float:
    """When memory use ``baseline + rate x (t - since)`` exceeds the container's limit (the
    kernel's OOM killer then kills it: exit code 137, reason OOMKilled). No limit or no leak:
    never."""
    if not limit or rate <= 0:
        return INF
    return since + max(0.0, (limit - baseline) / rate)


def behavior_with(text: str | None, mode: str, clause: str) -> str:
    """``text`` with its ``mode`` clause replaced by ``clause`` (an empty clause removes it),
    the other clauses kept in order: how the dashboard's CPU burn control edits a behaviour."""
    kept = [c.strip() for c in (text or "").split(";") if c.split() and c.split()[0] != mode]
    kept = [c for c in kept if c != "healthy"]
    if clause:
        kept.append(clause)
    return "; ".join(kept)
