"""Real ``/usr/bin/kubectl`` with Services and EndpointSlices, against the settled demo cluster
reconciled live by a Celery worker: expose, get (plain and wide), describe (which lists the
EndpointSlices by the ``kubernetes.io/service-name`` label), create service (a protobuf body)
and the apiserver's refusal of a taken clusterIP."""

from __future__ import annotations

import re

import pytest

from cluster.models import Cluster, KubeObject
from tests.api.test_kubectl_writes import ok, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cluster(kubectl, celery_worker_proc) -> Cluster:
    return Cluster.objects.get(name="demo")


def slice_addresses(cluster: Cluster, service: str) -> list[str]:
    return [
        address
        for body in KubeObject.objects.filter(
            cluster=cluster, kind="EndpointSlice", namespace="default"
        ).values_list("body", flat=True)
        if body["metadata"]["labels"].get("kubernetes.io/service-name") == service
        for endpoint in body.get("endpoints") or []
        for address in endpoint["addresses"]
    ]


def test_expose_get_describe(kubectl, cluster: Cluster) -> None:
    out = ok(kubectl("expose", "deployment", "nginx", "--port", "80", "--target-port", "8080"))
    assert out == "service/nginx exposed"
    wait_for(lambda: len(slice_addresses(cluster, "nginx")) == 6, what="6 endpoints")

    lines = ok(kubectl("get", "svc")).splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["kubernetes"][1:5] == ["ClusterIP", "10.96.0.1", "<none>", "443/TCP"]
    assert rows["nginx"][1] == "ClusterIP" and rows["nginx"][4] == "80/TCP"

    wide = ok(kubectl("get", "svc", "nginx", "-o", "wide")).splitlines()
    assert wide[0].split()[-1] == "SELECTOR" and wide[1].split()[-1] == "app=nginx"

    slices = ok(kubectl("get", "endpointslices")).splitlines()
    assert slices[0].split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    nginx = next(line.split() for line in slices[1:] if line.startswith("nginx-"))
    assert nginx[1:3] == ["IPv4", "8080"] and nginx[4:6] == ["+", "3"]

    described = ok(kubectl("describe", "svc", "nginx"))
    assert re.search(r"^Selector:\s+app=nginx$", described, re.MULTILINE), described
    assert re.search(r"^TargetPort:\s+8080/TCP$", described, re.MULTILINE), described
    assert re.search(r"^Endpoints:\s+\S+:8080,\S+:8080,\S+:8080 \+ 3 more\.\.\.$", described, re.M)
    # describe prints the first three endpoints and "+ 3 more...".
    assert sum(f"{a}:8080" in described for a in slice_addresses(cluster, "nginx")) == 3


def test_create_service_nodeport_and_ip_conflict(kubectl, cluster: Cluster) -> None:
    assert ok(kubectl("create", "service", "nodeport", "x", "--tcp=80:80")) == "service/x created"
    row = ok(kubectl("get", "svc", "x", "--no-headers")).split()
    assert row[1] == "NodePort" and row[4].startswith("80:3") and row[4].endswith("/TCP")

    refused = kubectl("create", "service", "clusterip", "y", "--tcp=80", "--clusterip=10.96.0.1")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: failed to create ClusterIP service: "
        'Service "y" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.1"}: '
        "failed to allocate IP 10.96.0.1: provided IP is already allocated"
    )
