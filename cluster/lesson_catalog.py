"""Which lessons there are (docs/lessons.md): the shipped ones in cluster/lessons/ and the ones
uploaded through the dashboard (``LessonFile``), looked up by name. A shipped lesson's name is
never taken by an upload (``services.lessons.lesson_upload`` refuses it)."""

from __future__ import annotations

from cluster.lesson import Lesson, LessonError, lesson_files, lesson_load, lesson_parse
from cluster.models import LessonFile


def lesson_find(name: str) -> Lesson:
    """The lesson called ``name``: shipped first, then uploaded; LessonError if neither."""
    try:
        return lesson_load(name)
    except LessonError:
        uploaded = LessonFile.objects.filter(name=name).first()
        if uploaded is None:
            raise
    return lesson_parse(uploaded.text, source=f"{name}.yaml")


def lesson_choices() -> list[tuple[str, str]]:
    """(name, label) of every lesson, shipped first, for a "Start from" list."""
    shipped = [(path.stem, f"lesson: {path.stem}") for path in lesson_files()]
    uploaded = [
        (name, f"lesson: {name} (uploaded)")
        for name in LessonFile.objects.values_list("name", flat=True)
    ]
    return shipped + uploaded
