"""Bearer tokens of the Kubernetes-style API, per cluster and user (kube-apiserver's
``--token-auth-file``, one file per cluster)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction

from cluster import kubeconfig
from cluster.k8s import name_errors
from cluster.models import ApiToken, Cluster
from cluster.services.errors import Invalid
from k8sviz import pki

BAD_USER = "user name {user!r} is invalid: {reason}"


def api_token_issue(*, cluster: Cluster, user: str) -> str:
    """Create a fresh random token for ``user`` on ``cluster`` and return it (only its SHA-256
    is stored, so this is the one time it can be read)."""
    errors = name_errors(user)
    if errors:
        raise Invalid(BAD_USER.format(user=user, reason=errors[0]))
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.create(cluster=cluster, user=user, token_sha256=ApiToken.digest(token))
    return token


def kubeconfig_issue(*, cluster: Cluster, user: str, server: str | None = None) -> str:
    """A kubeconfig for ``cluster`` with a fresh token for ``user``: the API at ``server`` (default
    the configured URL, ``cluster.kubeconfig.api_base_url``) and the CA that signed its
    certificate."""
    token = api_token_issue(cluster=cluster, user=user)
    base = (server or kubeconfig.api_base_url()).rstrip("/")
    ca = pki.ensure(settings.VAR_DIR, kubeconfig.api_host_names()).ca_pem()
    return kubeconfig.kubeconfig_text(
        cluster=cluster.name,
        user=user,
        token=token,
        server=f"{base}/clusters/{cluster.name}",
        ca_pem=ca,
    )
