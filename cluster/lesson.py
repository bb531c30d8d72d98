"""Lesson files, pure (docs/lessons.md): parse a YAML lesson and validate it into a
:class:`Lesson`, or raise :class:`LessonError` listing every problem with its path
(``steps[2].actions[0]: unknown action "powerof"; one of: ...``).

A lesson is a cluster to start from (nodes, timing profile, manifests), steps (a title,
narration, actions to run, an optional prediction checkpoint) and a goal checked against the
cluster's state. Nothing here touches the database: :mod:`cluster.services.lessons` runs them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cluster import k8s, timings
from cluster.api.selection import SelectorError, parse_label_selector
from cluster.scheduling.quantity import QuantityError, parse_cpu, parse_memory

API_VERSION = "k8sviz.io/v1"
KIND = "Lesson"
LESSONS_DIR = Path(__file__).resolve().parent / "lessons"
MAX_BYTES = 256 * 1024
MAX_NODES = 20
MAX_STEPS = 50
MAX_CHECKS = 20
COMPONENTS = (
    "kube-scheduler",
    "kube-controller-manager",
    "etcd",
    "kube-apiserver",
    "cloud-controller-manager",
)

#: Actions taking one value: a node name, a control-plane component, a deployment, a duration.
ACTIONS = {
    "powerOff": "node",
    "powerOn": "node",
    "stopKubelet": "node",
    "startKubelet": "node",
    "cordon": "node",
    "uncordon": "node",
    "drain": "node",
    "stopComponent": "component",
    "startComponent": "component",
    "rollback": "deployment",
    "wait": "seconds",
    "settle": "flag",
}
#: Actions taking a mapping: field -> (type, low, high) for numbers, (str,) for text.
MAPPING_ACTIONS: dict[str, dict[str, tuple]] = {
    "scale": {"deployment": (str,), "replicas": (int, 0, 100)},
    "setImage": {"deployment": (str,), "image": (str,)},
    "expose": {"deployment": (str,), "port": (int, 1, 65535)},
    "traffic": {"service": (str,), "rps": (float, 0, 1000)},
    "autoscale": {
        "deployment": (str,),
        "min": (int, 1, 100),
        "max": (int, 1, 100),
        "cpuPercent": (int, 1, 1000),
    },
    "cpuBurn": {"deployment": (str,), "cpu": (str,)},
}
CHECKS = (
    "readyPods",
    "nodeStatus",
    "nodeSchedulable",
    "deploymentAvailable",
    "deploymentRevision",
    "replicas",
    "podsPending",
    "endpoints",
)
DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m)?$")


class LessonError(ValueError):
    """Every problem found in a lesson file, one per line, each with its path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class NodeSpec:
    name: str
    cpu: str = "2"
    memory: str = "4Gi"
    control_plane: bool = False


@dataclass(frozen=True)
class Action:
    name: str
    target: str = ""  # a node, a component or a deployment ("namespace/name" or "name")
    value: Any = None  # replicas, an image, seconds


@dataclass(frozen=True)
class Checkpoint:
    question: str
    choices: tuple[str, ...]
    answer: int  # the index of the right choice


@dataclass(frozen=True)
class Step:
    title: str
    narration: str = ""
    actions: tuple[Action, ...] = ()
    checkpoint: Checkpoint | None = None


@dataclass(frozen=True)
class Check:
    kind: str
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    summary: str
    profile: str
    dual_stack: bool
    nodes: tuple[NodeSpec, ...]
    manifests: tuple[dict, ...]
    steps: tuple[Step, ...]
    goal: str
    checks: tuple[Check, ...]


# --- parsing ------------------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.lines.append(f"{path}: {message}")


def _str(value: Any, path: str, problems: _Problems, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        problems.add(path, "must be a non-empty string" if required else "must be a string")
        return ""
    return value.strip()


def _seconds(value: Any, path: str, problems: _Problems) -> float:
    text = str(value).strip() if isinstance(value, (str, int, float)) else ""
    match = DURATION.match(text)
    if not match or isinstance(value, bool):
        problems.add(path, f'must be a duration such as 30s or 5m, not "{value}"')
        return 0.0
    seconds = float(match[1]) * (60 if match[2] == "m" else 1)
    if not 0 < seconds <= 3600:
        problems.add(path, "must be between 1s and 60m")
    return seconds


def _entries(
    raw: Any, where: str, problems: _Problems, *, noun: str, limit: int, shape: str
) -> Iterator[tuple[str, dict]]:
    """The mappings a list field holds, each with its path (``where[i]``); an empty or missing
    list, one over ``limit`` and an entry that is not a mapping are reported."""
    if not isinstance(raw, list) or not raw:
        problems.add(where, f"must list at least one {noun}")
        return
    if len(raw) > limit:
        problems.add(where, f"at most {limit} {noun}s")
    for i, entry in enumerate(raw):
        path = f"{where}[{i}]"
        if not isinstance(entry, dict):
            problems.add(path, f"must be a mapping with {shape}")
            continue
        yield path, entry


def _nodes(raw: Any, problems: _Problems) -> tuple[NodeSpec, ...]:
    nodes = []
    entries = _entries(raw, "cluster.nodes", problems, noun="node", limit=MAX_NODES, shape="a name")
    for path, entry in entries:
        name = _str(entry.get("name"), f"{path}.name", problems)
        for message in k8s.name_errors(name) if name else []:
            problems.add(f"{path}.name", message)
        cpu, memory = str(entry.get("cpu", "2")), str(entry.get("memory", "4Gi"))
        try:
            parse_cpu(cpu)
            parse_memory(memory)
        except QuantityError as err:
            problems.add(path, str(err))
        nodes.append(NodeSpec(name, cpu, memory, bool(entry.get("controlPlane", False))))
    names = [n.name for n in nodes]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.add("cluster.nodes", f'node "{name}" is listed twice')
    return tuple(nodes)


def _mapping_action(name: str, arg: Any, path: str, problems: _Problems) -> Action | None:
    fields = MAPPING_ACTIONS[name]
    if not isinstance(arg, dict):
        problems.add(path, f"must be a mapping with {', '.join(fields)}")
        return None
    for key in sorted(set(arg) - set(fields)):
        problems.add(f"{path}.{key}", "unknown field")
    values: dict[str, Any] = {}
    for key, spec in fields.items():
        value = arg.get(key)
        if spec[0] is str:
            values[key] = _str(value, f"{path}.{key}", problems)
            continue
        kind, low, high = spec
        number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if (
            number is None
            or (kind is int and not isinstance(number, int))
            or not low <= number <= high
        ):
            whole = "a whole number" if kind is int else "a number"
            problems.add(f"{path}.{key}", f"must be {whole} from {low} to {high}")
        values[key] = number
    if name == "autoscale" and all(isinstance(values.get(k), int) for k in ("min", "max")):
        if values["min"] > values["max"]:
            problems.add(f"{path}.min", "must not be more than max")
    if name == "cpuBurn" and values.get("cpu"):
        try:
            parse_cpu(values["cpu"])
        except QuantityError as err:
            problems.add(f"{path}.cpu", str(err))
    target = values.get("deployment") or values.get("service") or ""
    return Action(name, target, values)


def _action(raw: Any, path: str, nodes: set[str], problems: _Problems) -> Action | None:
    if not isinstance(raw, dict) or len(raw) != 1:
        problems.add(path, "must be a mapping with exactly one action, e.g. {powerOff: node-2}")
        return None
    ((name, arg),) = raw.items()
    if name in MAPPING_ACTIONS:
        return _mapping_action(name, arg, f"{path}.{name}", problems)
    kind = ACTIONS.get(name)
    if kind is None:
        known = ", ".join([*ACTIONS, *MAPPING_ACTIONS])
        problems.add(path, f'unknown action "{name}"; one of: {known}')
        return None
    if kind == "node":
        node = _str(arg, f"{path}.{name}", problems)
        if node and node not in nodes:
            problems.add(f"{path}.{name}", f'no node "{node}" in cluster.nodes')
        return Action(name, node)
    if kind == "component":
        if arg not in COMPONENTS:
            choices = ", ".join(COMPONENTS)
            problems.add(f"{path}.{name}", f'unknown component "{arg}"; one of: {choices}')
        return Action(name, str(arg))
    if kind == "seconds":
        return Action(name, value=_seconds(arg, f"{path}.{name}", problems))
    if kind == "flag":
        return Action(name, value=True)
    return Action(name, _str(arg, f"{path}.{name}", problems))


def _checkpoint(raw: Any, path: str, problems: _Problems) -> Checkpoint | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.add(path, "must be a mapping with question, choices and answer")
        return None
    question = _str(raw.get("question"), f"{path}.question", problems)
    choices = raw.get("choices")
    if not isinstance(choices, list) or not 2 <= len(choices) <= 6:
        problems.add(f"{path}.choices", "must list 2 to 6 choices")
        choices = []
    texts = tuple(_str(c, f"{path}.choices[{i}]", problems) for i, c in enumerate(choices))
    answer = raw.get("answer")
    if (
        not isinstance(answer, int)
        or isinstance(answer, bool)
        or not 0 <= answer < max(len(texts), 1)
    ):
        problems.add(
            f"{path}.answer", f"must be the index of the right choice (0 to {len(texts) - 1})"
        )
        answer = 0
    return Checkpoint(question, texts, answer)


def _steps(raw: Any, nodes: set[str], problems: _Problems) -> tuple[Step, ...]:
    steps = []
    for path, entry in _entries(
        raw, "steps", problems, noun="step", limit=MAX_STEPS, shape="a title"
    ):
        unknown = set(entry) - {"title", "narration", "actions", "checkpoint"}
        for key in sorted(unknown):
            problems.add(f"{path}.{key}", "unknown field")
        actions_raw = entry.get("actions") or []
        if not isinstance(actions_raw, list):
            problems.add(f"{path}.actions", "must be a list")
            actions_raw = []
        actions = [
            _action(a, f"{path}.actions[{j}]", nodes, problems) for j, a in enumerate(actions_raw)
        ]
        steps.append(
            Step(
                title=_str(entry.get("title"), f"{path}.title", problems),
                narration=_str(
                    entry.get("narration"), f"{path}.narration", problems, required=False
                ),
                actions=tuple(a for a in actions if a is not None),
                checkpoint=_checkpoint(entry.get("checkpoint"), f"{path}.checkpoint", problems),
            )
        )
    return tuple(steps)


def _checks(raw: Any, nodes: set[str], problems: _Problems) -> tuple[Check, ...]:
    checks = []
    shape = "exactly one check"
    for path, entry in _entries(
        raw, "goal.checks", problems, noun="check", limit=MAX_CHECKS, shape=shape
    ):
        if len(entry) != 1:
            problems.add(path, f"must be a mapping with {shape}")
            continue
        ((kind, args),) = entry.items()
        if kind not in CHECKS:
            problems.add(path, f'unknown check "{kind}"; one of: {", ".join(CHECKS)}')
            continue
        if not isinstance(args, dict):
            problems.add(f"{path}.{kind}", "must be a mapping")
            continue
        for node in args.get("notOn") or []:
            if node not in nodes:
                problems.add(f"{path}.{kind}.notOn", f'no node "{node}" in cluster.nodes')
        if kind in ("nodeStatus", "nodeSchedulable") and args.get("node") not in nodes:
            problems.add(f"{path}.{kind}.node", f'no node "{args.get("node")}" in cluster.nodes')
        if "count" in args and (not isinstance(args["count"], int) or args["count"] < 0):
            problems.add(f"{path}.{kind}.count", "must be a whole number")
        try:
            parse_label_selector(args.get("selector"))
        except SelectorError as err:
            problems.add(f"{path}.{kind}.selector", str(err))
        checks.append(Check(kind, dict(args)))
    return tuple(checks)


def lesson_parse(text: str, *, source: str = "lesson") -> Lesson:
    """The lesson in ``text`` (YAML), validated; raises :class:`LessonError`."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise LessonError([f"{source}: larger than {MAX_BYTES // 1024} KiB"])
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise LessonError(
            [f"{source}: not valid YAML{where}: {getattr(err, 'problem', err)}"]
        ) from None
    problems = _Problems()
    if not isinstance(doc, dict):
        raise LessonError([f"{source}: must be a mapping with apiVersion: {API_VERSION}"])
    if doc.get("apiVersion") != API_VERSION or doc.get("kind") != KIND:
        problems.add("apiVersion/kind", f"must be {API_VERSION} / {KIND}")
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    name = _str(meta.get("name"), "metadata.name", problems)
    for message in k8s.name_errors(name) if name else []:
        problems.add("metadata.name", message)
    cluster = doc.get("cluster") if isinstance(doc.get("cluster"), dict) else {}
    if not cluster:
        problems.add("cluster", "must be a mapping with nodes")
    profile = cluster.get("profile", "classroom")
    if profile not in timings.TIMING_PROFILES:
        problems.add(
            "cluster.profile",
            f'unknown profile "{profile}"; one of: {", ".join(timings.TIMING_PROFILES)}',
        )
    nodes = _nodes(cluster.get("nodes"), problems)
    node_names = {n.name for n in nodes}
    manifests = cluster.get("objects") or []
    if not isinstance(manifests, list) or not all(isinstance(m, dict) for m in manifests):
        problems.add("cluster.objects", "must be a list of Kubernetes manifests")
        manifests = []
    for i, manifest in enumerate(manifests):
        if not manifest.get("kind") or not manifest.get("apiVersion"):
            problems.add(f"cluster.objects[{i}]", "needs apiVersion and kind")
    steps = _steps(doc.get("steps"), node_names, problems)
    goal = doc.get("goal") if isinstance(doc.get("goal"), dict) else {}
    if not goal:
        problems.add("goal", "must be a mapping with description and checks")
    checks = _checks(goal.get("checks"), node_names, problems)
    if problems.lines:
        raise LessonError(problems.lines)
    return Lesson(
        name=name,
        title=_str(meta.get("title") or name, "metadata.title", problems),
        summary=str(meta.get("summary") or ""),
        profile=profile,
        dual_stack=bool(cluster.get("dualStack", False)),
        nodes=nodes,
        manifests=tuple(manifests),
        steps=steps,
        goal=str(goal.get("description") or ""),
        checks=checks,
    )


def lesson_files() -> list[Path]:
    return sorted(LESSONS_DIR.glob("*.yaml"))


def lesson_load(name: str) -> Lesson:
    """A shipped lesson by its file name (without .yaml)."""
    path = LESSONS_DIR / f"{name}.yaml"
    if not re.fullmatch(r"[a-z0-9-]+", name) or not path.is_file():
        raise LessonError([f'no lesson "{name}"'])
    return lesson_parse(path.read_text(encoding="utf-8"), source=path.name)
