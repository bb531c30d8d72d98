"""Reads for the Lesson panel (docs/lessons.md): the current step, the open question with the
answers so far, the last step revealed, and the goal once every step has run."""

from __future__ import annotations

from collections import Counter

from cluster.lesson import Lesson, LessonError
from cluster.lesson_catalog import lesson_find
from cluster.models import Answer, Classroom, Cluster, Student
from cluster.services.lessons import CheckResult, goal_check


def _tally(cluster: Cluster, step: int, choices: int) -> list[int]:
    counts = Counter(
        Answer.objects.filter(cluster=cluster, step=step).values_list("choice", flat=True)
    )
    return [counts.get(i, 0) for i in range(choices)]


def lesson_panel(*, cluster: Cluster, student_id: int | None = None) -> dict | None:
    """Everything the panel shows, or None for a cluster without a lesson."""
    if not cluster.lesson:
        return None
    try:
        lesson: Lesson = lesson_find(cluster.lesson)
    except LessonError as err:
        return {"error": str(err)}
    index = cluster.lesson_step
    total = len(lesson.steps)
    step = lesson.steps[index] if index < total else None
    previous = lesson.steps[index - 1] if 0 < index <= total else None
    panel: dict = {
        "lesson": lesson,
        "index": index,
        "number": index + 1,
        "total": total,
        "step": step,
        "previous": previous,
        "finished": step is None,
        "students": Student.objects.filter(classroom__cluster=cluster).count(),
    }
    if step is not None and step.checkpoint is not None:
        tally = _tally(cluster, index, len(step.checkpoint.choices))
        panel["tally"] = list(zip(step.checkpoint.choices, tally, strict=True))
        panel["answered"] = sum(tally)
        if student_id is not None:
            panel["mine"] = (
                Answer.objects.filter(cluster=cluster, step=index, student_id=student_id)
                .values_list("choice", flat=True)
                .first()
            )
    if previous is not None and previous.checkpoint is not None:
        tally = _tally(cluster, index - 1, len(previous.checkpoint.choices))
        panel["revealed"] = [
            (text, count, i == previous.checkpoint.answer)
            for i, (text, count) in enumerate(zip(previous.checkpoint.choices, tally, strict=True))
        ]
    if step is None:
        results: list[CheckResult] = goal_check(cluster=cluster, lesson=lesson)
        panel["goal"] = results
        panel["goal_met"] = all(r.ok for r in results)
    return panel


def followed_by_a_class(cluster: Cluster) -> bool:
    return Classroom.objects.filter(cluster=cluster).exists()
