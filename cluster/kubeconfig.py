"""kubeconfig files for a simulated cluster's API (``manage.py kubeconfig``, the dashboard's
"kubectl" download).

The file follows kubectl's own layout (``kubectl config view --raw``): the server is the
cluster's path prefix on the HTTPS port (kubectl honours a path in ``server:``), the CA is
embedded as ``certificate-authority-data``, and the user authenticates with a bearer token.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import urlsplit

import yaml
from django.conf import settings

USER_MAX = 63


def api_base_url(port: int | None = None) -> str:
    """The API's URL as kubeconfigs name it: ``K8SVIZ_API_URL``, or the loopback address on
    ``port`` (default ``K8SVIZ_API_PORT``)."""
    if settings.K8SVIZ_API_URL:
        return settings.K8SVIZ_API_URL
    return f"https://127.0.0.1:{port or settings.K8SVIZ_API_PORT}"


def api_host_names() -> tuple[str, ...]:
    """The host of ``K8SVIZ_API_URL`` (the serving certificate must cover it), if set."""
    host = urlsplit(settings.K8SVIZ_API_URL).hostname if settings.K8SVIZ_API_URL else None
    return (host,) if host else ()


def user_name(name: str, fallback: str) -> str:
    """A token's user name from a display name: lower case, letters, digits and dashes (a DNS
    label, as the token file wants), or ``fallback`` when nothing is left."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:USER_MAX].strip("-")
    return slug or fallback


def kubeconfig_text(*, cluster: str, user: str, token: str, server: str, ca_pem: bytes) -> str:
    """The kubeconfig document: one cluster, one user, one context (namespace default)."""
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
                "name": cluster,
                "context": {
                    "cluster": cluster,
                    "user": f"{user}@{cluster}",
                    "namespace": "default",
                },
            }
        ],
        "current-context": cluster,
        "preferences": {},
    }
    return yaml.safe_dump(doc, sort_keys=False)
