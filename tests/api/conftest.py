"""Fixtures of the API tests: the settled demo cluster and a token for it."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from cluster import services
from cluster.models import Cluster


@pytest.fixture
def demo() -> Cluster:
    """The demo cluster, settled: 4 Ready nodes, the nginx Deployment with 6 Running pods."""
    return services.demo_cluster_ensure(name="demo")


@pytest.fixture
def token(demo: Cluster) -> str:
    return services.api_token_issue(cluster=demo, user="alice")


KUBECTL = Path("/usr/bin/kubectl")


@pytest.fixture
def kubeconfig(daphne_tls_server, settings, tmp_path: Path) -> Path:
    """The demo cluster, settled, and a kubeconfig for it written by ``manage.py kubeconfig``."""
    services.demo_cluster_ensure(name="demo")
    settings.VAR_DIR = daphne_tls_server.var_dir
    out = io.StringIO()
    call_command("kubeconfig", "demo", "--server", daphne_tls_server.api_url, stdout=out)
    path = tmp_path / "demo.kubeconfig"
    path.write_text(out.getvalue())
    return path


@pytest.fixture
def kubectl(kubeconfig: Path, tmp_path: Path):
    """Run kubectl with only this kubeconfig and a private discovery cache."""
    if not KUBECTL.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("kubectl missing in CI: /usr/bin/kubectl is required", pytrace=False)
        pytest.skip("!!!!! kubectl missing: the kubectl tests need /usr/bin/kubectl !!!!!")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "KUBECONFIG": str(kubeconfig),
    }

    def run(*args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(KUBECTL), *args],
            env={**env, "KUBECONFIG": str(config or kubeconfig)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run
