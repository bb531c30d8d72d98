"""Real ``/usr/bin/kubectl`` and the official Python client on a dual-stack cluster: nodes'
two pod ranges, pods' two addresses, a PreferDualStack Service applied from a file with one
ClusterIP per family, its IPv4 and IPv6 EndpointSlices, ``describe``; and the single-stack
demo cluster refusing RequireDualStack in the apiserver's words."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from cluster import reconcile, services
from cluster.models import Cluster
from tests.api.test_kubectl_writes import ok

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  ipFamilyPolicy: {policy}
  selector:
    app: nginx
  ports:
  - port: 80
"""


@pytest.fixture
def dual_config(kubectl, daphne_tls_server, settings, tmp_path: Path) -> tuple[Cluster, Path]:
    """A settled dual-stack demo cluster "ds" and a kubeconfig for it."""
    cluster = services.demo_cluster_create(name="ds", dual_stack=True)
    settings.VAR_DIR = daphne_tls_server.var_dir
    out = io.StringIO()
    call_command("kubeconfig", "ds", "--server", daphne_tls_server.api_url, stdout=out)
    path = tmp_path / "ds.kubeconfig"
    path.write_text(out.getvalue())
    return cluster, path


def test_dual_stack_nodes_pods_and_service(kubectl, dual_config, tmp_path: Path) -> None:
    cluster, config = dual_config
    cidrs = ok(
        kubectl("get", "node", "node-1", "-o", "jsonpath={.spec.podCIDRs[*]}", config=config)
    )
    v4_range, v6_range = cidrs.split()
    assert v4_range.startswith("10.244.") and v6_range.startswith("fd00:10:244:")

    wide = ok(kubectl("get", "pods", "-o", "wide", config=config)).splitlines()
    assert wide[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert len(wide) == 7 and all(line.split()[5].startswith("10.244.") for line in wide[1:])
    ips = ok(
        kubectl("get", "pods", "-o", "jsonpath={.items[0].status.podIPs[*].ip}", config=config)
    ).split()
    assert len(ips) == 2 and ips[0].startswith("10.244.") and ips[1].startswith("fd00:10:244:")

    manifest = tmp_path / "web.yaml"
    manifest.write_text(SERVICE.format(policy="PreferDualStack"))
    assert ok(kubectl("apply", "-f", str(manifest), config=config)) == "service/web created"
    cluster_ips = ok(
        kubectl("get", "svc", "web", "-o", "jsonpath={.spec.clusterIPs[*]}", config=config)
    ).split()
    assert len(cluster_ips) == 2 and ":" in cluster_ips[1] and ":" not in cluster_ips[0]
    families = ok(kubectl("get", "svc", "web", "-o", "jsonpath={.spec.ipFamilies}", config=config))
    assert families == '["IPv4","IPv6"]'
    # Applying the same file again changes nothing (the allocated values are kept).
    assert ok(kubectl("apply", "-f", str(manifest), config=config)) == "service/web unchanged"

    reconcile.run_until_settled(cluster_id=cluster.pk)
    slices = ok(
        kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=web", config=config)
    ).splitlines()
    assert sorted(line.split()[1] for line in slices[1:]) == ["IPv4", "IPv6"]
    described = ok(kubectl("describe", "svc", "web", config=config))
    assert re.search(r"^IP Family Policy:\s+PreferDualStack$", described, re.M), described
    assert re.search(r"^IP Families:\s+IPv4,IPv6$", described, re.M), described
    assert re.search(rf"^IPs:\s+{cluster_ips[0]},{cluster_ips[1]}$", described, re.M), described

    from kubernetes import client
    from kubernetes import config as kube_config

    api = client.CoreV1Api(kube_config.new_client_from_config(config_file=str(config)))
    service = api.read_namespaced_service("web", "default")
    assert service.spec.cluster_ips == cluster_ips
    assert service.spec.ip_family_policy == "PreferDualStack"
    pod = api.list_namespaced_pod("default").items[0]
    assert [p.ip for p in pod.status.pod_ips] == [pod.status.pod_ip, pod.status.pod_ips[1].ip]
    assert ":" in pod.status.pod_ips[1].ip


def test_single_stack_cluster_refuses_require_dual_stack(kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "web.yaml"
    manifest.write_text(SERVICE.format(policy="RequireDualStack"))
    result = kubectl("apply", "-f", str(manifest))
    assert result.returncode == 1
    assert (
        'The Service "web" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": '
        "this cluster is not configured for dual-stack services"
    ) in result.stderr, result.stderr
