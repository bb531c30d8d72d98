"""``manage.py kubeconfig <cluster> [--user NAME]``: print a kubeconfig for a cluster's API.

The file follows kubectl's own layout (``kubectl config view --raw``): the server is the
cluster's path prefix on the HTTPS port (kubectl honours a path in ``server:``), the CA is
embedded as ``certificate-authority-data``, and the user authenticates with a fresh bearer
token issued by :func:`cluster.services.api_token_issue`.
"""

from __future__ import annotations

import base64
from argparse import ArgumentParser
from typing import Any

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cluster import selectors, services
from cluster.models import Cluster
from k8sviz import pki

DEFAULT_USER = "admin"


def kubeconfig_text(*, cluster: str, user: str, token: str, server: str, ca_pem: bytes) -> str:
    context = f"{cluster}"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster,
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": f"{user}@{cluster}", "user": {"token": token}}],
        "contexts": [
            {
                "name": context,
                "context": {
                    "cluster": cluster,
                    "user": f"{user}@{cluster}",
                    "namespace": "default",
                },
            }
        ],
        "current-context": context,
        "preferences": {},
    }
    return yaml.safe_dump(doc, sort_keys=False)


class Command(BaseCommand):
    help = "Print a kubeconfig (CA, server URL, a new bearer token) for a simulated cluster."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("cluster")
        parser.add_argument("--user", default=DEFAULT_USER)
        parser.add_argument("--server", help="default https://127.0.0.1:$K8SVIZ_API_PORT")

    def handle(self, *args: Any, cluster: str, user: str, server: str | None, **opts: Any) -> None:
        try:
            found = selectors.cluster_get(name=cluster)
        except Cluster.DoesNotExist as error:
            raise CommandError(f'cluster "{cluster}" not found') from error
        try:
            token = services.api_token_issue(cluster=found, user=user)
        except services.Invalid as error:
            raise CommandError(error.message) from error
        base = (server or f"https://127.0.0.1:{settings.K8SVIZ_API_PORT}").rstrip("/")
        ca = pki.ensure(settings.VAR_DIR).ca_pem()
        self.stdout.write(
            kubeconfig_text(
                cluster=found.name,
                user=user,
                token=token,
                server=f"{base}/clusters/{found.name}",
                ca_pem=ca,
            ),
            ending="",
        )
