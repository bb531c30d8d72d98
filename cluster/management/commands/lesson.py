"""``manage.py lesson``: ``list`` the shipped lessons, ``check FILE...`` validates lesson files
(every problem with its path; exit 1 if any), ``start NAME --cluster C [--owner USER]`` creates
a settled cluster from a shipped lesson (docs/lessons.md)."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from cluster import reconcile
from cluster.lesson import LESSONS_DIR, LessonError, lesson_parse
from cluster.lesson_catalog import lesson_choices, lesson_find
from cluster.services.errors import ServiceError
from cluster.services.lessons import lesson_start


class Command(BaseCommand):
    help = "List, check and start lessons."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="command", required=True)
        sub.add_parser("list", help="the shipped lessons")
        check = sub.add_parser("check", help="validate lesson files")
        check.add_argument("files", nargs="+")
        start = sub.add_parser("start", help="create a settled cluster from a shipped lesson")
        start.add_argument("lesson")
        start.add_argument("--cluster", required=True, help="the new cluster's name")
        start.add_argument("--owner", help="a teacher's user name (default: an open cluster)")

    def handle(self, *args: object, **options: object) -> None:
        command = options["command"]
        if command == "list":
            for name, _ in lesson_choices():
                lesson = lesson_find(name)
                uploaded = "" if (LESSONS_DIR / f"{name}.yaml").is_file() else "  (uploaded)"
                self.stdout.write(f"{lesson.name:<20} {lesson.title}{uploaded}")
        elif command == "check":
            self._check([Path(str(f)) for f in options["files"]])  # type: ignore[union-attr]
        else:
            self._start(str(options["lesson"]), str(options["cluster"]), options.get("owner"))

    def _check(self, files: list[Path]) -> None:
        bad = 0
        for path in files:
            try:
                lesson = lesson_parse(path.read_text(encoding="utf-8"), source=path.name)
            except OSError as err:
                bad += 1
                self.stdout.write(f"{path}: cannot read: {err.strerror}")
            except LessonError as err:
                bad += 1
                for problem in err.problems:
                    self.stdout.write(f"{path}: {problem}")
            else:
                self.stdout.write(f"{path}: ok ({lesson.name}, {len(lesson.steps)} steps)")
        if bad:
            raise CommandError(f"{bad} of {len(files)} lesson files have problems")

    def _start(self, name: str, cluster_name: str, owner: object) -> None:
        owner_id = None
        if owner:
            user = User.objects.filter(username=str(owner)).first()
            if user is None:
                raise CommandError(f'no user "{owner}"')
            owner_id = user.pk
        try:
            lesson = lesson_find(name)
            cluster = lesson_start(lesson=lesson, name=cluster_name, owner_id=owner_id)
        except (LessonError, ServiceError) as err:
            raise CommandError(str(err)) from None
        reconcile.run_until_settled(cluster_id=cluster.pk)
        self.stdout.write(f"cluster {cluster.name} started from lesson {lesson.name}")
