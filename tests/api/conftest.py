"""Fixtures of the API tests: the settled demo cluster and a token for it."""

from __future__ import annotations

import pytest

from cluster import services
from cluster.models import Cluster


@pytest.fixture
def demo() -> Cluster:
    """The demo cluster, settled: 4 Ready nodes, the nginx Deployment with 6 Running pods."""
    return services.demo_cluster_ensure(name="demo")


@pytest.fixture
def token(demo: Cluster) -> str:
    return services.api_token_issue(cluster=demo, user="alice")
