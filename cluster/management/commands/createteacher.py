"""``manage.py createteacher NAME``: a teacher account (a user in the ``teachers`` group), with
the password from ``--password``, ``K8SVIZ_TEACHER_PASSWORD`` or a prompt."""

from __future__ import annotations

import getpass
import os
from argparse import ArgumentParser

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from cluster.services import classrooms
from cluster.services.errors import ServiceError


class Command(BaseCommand):
    help = "Create a teacher account (owns classes and clusters)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--password", help="default: $K8SVIZ_TEACHER_PASSWORD, else a prompt")
        parser.add_argument("--email", default="")

    def handle(self, *args: object, **options: object) -> None:
        username = str(options["username"])
        password = options["password"] or os.environ.get("K8SVIZ_TEACHER_PASSWORD")
        if not password:
            password = getpass.getpass(f"Password for {username}: ")
        try:
            validate_password(str(password))
            classrooms.teacher_create(
                username=username, password=str(password), email=str(options["email"])
            )
        except ValidationError as err:
            raise CommandError(" ".join(err.messages)) from None
        except ServiceError as err:
            raise CommandError(str(err)) from None
        self.stdout.write(f"teacher {username} created: sign in at /accounts/login/")
