"""Lessons (docs/lessons.md): every shipped lesson file is valid and runs end to end in the
simulation (its goal fails before the lesson and holds after it); bad files are refused with
every problem and its path."""

from __future__ import annotations

import random

import pytest

from cluster import reconcile
from cluster.lesson import LessonError, lesson_files, lesson_load, lesson_parse
from cluster.services.lessons import goal_check, lesson_start, step_run
from tests.cluster.sim import T0, run

SHIPPED = [path.stem for path in lesson_files()]


def test_lessons_are_shipped() -> None:
    assert set(SHIPPED) >= {
        "self-healing",
        "scheduling-resources",
        "rolling-update",
        "broken-rollout",
        "services",
        "autoscaling",
        "control-plane",
        "cordon-drain",
    }


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_lesson_is_valid(name) -> None:
    lesson = lesson_load(name)
    assert lesson.name == name and lesson.steps and lesson.checks
    for step in lesson.steps:
        if step.checkpoint:
            assert 0 <= step.checkpoint.answer < len(step.checkpoint.choices)


@pytest.mark.django_db
@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_lesson_runs_to_its_goal(name) -> None:
    lesson = lesson_load(name)
    rng = random.Random(3)
    cluster = lesson_start(lesson=lesson, name=f"lesson-{name}", wall_now=T0)
    reconcile.run_until_settled(cluster_id=cluster.pk)
    cluster.refresh_from_db()
    before = goal_check(cluster=cluster, lesson=lesson)
    assert not all(r.ok for r in before), "the goal must not hold before the lesson"

    def advance(seconds: float) -> None:
        cluster.refresh_from_db()
        run(cluster, seconds, rng)

    def settle() -> None:
        reconcile.run_until_settled(cluster_id=cluster.pk)

    for step in lesson.steps:
        step_run(cluster=cluster, step=step, advance=advance, settle=settle)
    cluster.refresh_from_db()
    after = goal_check(cluster=cluster, lesson=lesson)
    assert all(r.ok for r in after), [r.text for r in after]


GOOD = """
apiVersion: k8sviz.io/v1
kind: Lesson
metadata: {name: tiny}
cluster:
  nodes: [{name: node-1}]
steps:
  - title: One
    actions: [{powerOff: node-1}, {wait: 10s}]
goal:
  description: node-1 down
  checks: [{nodeStatus: {node: node-1, ready: Unknown}}]
"""


def test_a_small_lesson_parses() -> None:
    lesson = lesson_parse(GOOD)
    assert [a.name for a in lesson.steps[0].actions] == ["powerOff", "wait"]
    assert lesson.steps[0].actions[1].value == 10.0


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("kind: Lesson", "kind: Lessn"), "apiVersion/kind: must be k8sviz.io/v1 / Lesson"),
        (("{name: tiny}", "{name: Tiny_1}"), "metadata.name: "),
        (
            ("{powerOff: node-1}", "{powerof: node-1}"),
            'steps[0].actions[0]: unknown action "powerof"; one of: powerOff',
        ),
        (
            ("{powerOff: node-1}", "{powerOff: node-9}"),
            'steps[0].actions[0].powerOff: no node "node-9" in cluster.nodes',
        ),
        (
            ("{wait: 10s}", "{wait: soon}"),
            'steps[0].actions[1].wait: must be a duration such as 30s or 5m, not "soon"',
        ),
        (("{wait: 10s}", "{wait: 2h}"), "steps[0].actions[1].wait: must be a duration"),
        (("- title: One", "- titel: One"), "steps[0].titel: unknown field"),
        (
            ("[{name: node-1}]", "[{name: node-1}, {name: node-1}]"),
            'cluster.nodes: node "node-1" is listed twice',
        ),
        (("[{name: node-1}]", "[{name: node-1, cpu: lots}]"), "cluster.nodes[0]: "),
        (("{nodeStatus:", "{nodeHappy:"), 'goal.checks[0]: unknown check "nodeHappy"'),
        (
            ("{node: node-1, ready", "{node: node-7, ready"),
            'goal.checks[0].nodeStatus.node: no node "node-7"',
        ),
        (("steps:", "stepz:"), "steps: must list at least one step"),
        (
            ("  - title: One\n    actions: [{powerOff: node-1}, {wait: 10s}]", "  - One"),
            "steps[0]: must be a mapping with a title",
        ),
        (("nodes: [{name: node-1}]", "nodes: []"), "cluster.nodes: must list at least one node"),
        (
            ("checks: [{nodeStatus: {node: node-1, ready: Unknown}}]", "checks: [{}]"),
            "goal.checks[0]: must be a mapping with exactly one check",
        ),
        (
            (
                "checks: [{nodeStatus: {node: node-1, ready: Unknown}}]",
                "checks: ["
                + ", ".join(["{nodeStatus: {node: node-1, ready: Unknown}}"] * 21)
                + "]",
            ),
            "goal.checks: at most 20 checks",
        ),
        (
            (
                "    actions:",
                "    checkpoint: {question: Q, choices: [a, b], answer: 2}\n    actions:",
            ),
            "steps[0].checkpoint.answer: must be the index of the right choice (0 to 1)",
        ),
    ],
)
def test_bad_lessons_are_refused_with_the_path(change, problem) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(LessonError) as err:
        lesson_parse(GOOD.replace(old, new, 1))
    assert any(line.startswith(problem) or problem in line for line in err.value.problems), (
        err.value.problems
    )


def test_every_problem_is_reported_at_once() -> None:
    text = GOOD.replace("{powerOff: node-1}", "{powerOff: node-9}").replace(
        "{wait: 10s}", "{wait: x}"
    )
    with pytest.raises(LessonError) as err:
        lesson_parse(text)
    assert len(err.value.problems) == 2


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: [1, 2", "lesson: not valid YAML (line 1, column"),
        ("- just\n- a list\n", "lesson: must be a mapping with apiVersion: k8sviz.io/v1"),
        ("x" * (300 * 1024), "lesson: larger than 256 KiB"),
    ],
)
def test_files_that_are_not_lessons(text, problem) -> None:
    with pytest.raises(LessonError) as err:
        lesson_parse(text)
    assert err.value.problems[0].startswith(problem)


def test_an_unknown_lesson_name() -> None:
    with pytest.raises(LessonError, match=r'no lesson "\.\./etc/passwd"'):
        lesson_load("../etc/passwd")


def test_the_lesson_command_checks_files(tmp_path) -> None:
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(GOOD)
    bad.write_text(GOOD.replace("{powerOff: node-1}", "{powerOff: node-9}"))
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 of 2 lesson files have problems"):
        call_command("lesson", "check", str(good), str(bad), stdout=out)
    assert f"{good}: ok (tiny, 1 steps)" in out.getvalue()
    assert (
        f'{bad}: steps[0].actions[0].powerOff: no node "node-9" in cluster.nodes' in out.getvalue()
    )


@pytest.mark.django_db
def test_the_lesson_command_starts_a_cluster() -> None:
    import io

    from django.core.management import call_command

    from cluster.models import KubeObject

    out = io.StringIO()
    call_command("lesson", "start", "control-plane", "--cluster", "cp-lab", stdout=out)
    assert "cluster cp-lab started from lesson control-plane" in out.getvalue()
    running = KubeObject.objects.filter(cluster__name="cp-lab", kind="Pod", phase="Running")
    assert running.count() == 2
