"""``manage.py kubeconfig <cluster> [--user NAME] [--server URL]``: print a kubeconfig for a
cluster's API (``cluster.kubeconfig``: the layout; a fresh token for the user)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cluster import selectors, services
from cluster.models import Cluster

DEFAULT_USER = "admin"


class Command(BaseCommand):
    help = "Print a kubeconfig (CA, server URL, a new bearer token) for a simulated cluster."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("cluster")
        parser.add_argument("--user", default=DEFAULT_USER)
        parser.add_argument(
            "--server", help="default $K8SVIZ_API_URL, else https://127.0.0.1:$K8SVIZ_API_PORT"
        )

    def handle(self, *args: Any, cluster: str, user: str, server: str | None, **opts: Any) -> None:
        try:
            found = selectors.cluster_get(name=cluster)
        except Cluster.DoesNotExist as error:
            raise CommandError(f'cluster "{cluster}" not found') from error
        try:
            text = services.kubeconfig_issue(cluster=found, user=user, server=server)
        except services.Invalid as error:
            raise CommandError(error.message) from error
        self.stdout.write(text, ending="")
