"""Real ``/usr/bin/kubectl`` shows the addresses of docs/addressing.md: pod IPs in
``get pods -o wide`` from each node's range, and the ranges node-ipam wrote on the Nodes."""

from __future__ import annotations

import ipaddress

import pytest

from cluster.models import Cluster, KubeObject

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_get_pods_wide_shows_pod_ips_in_node_ranges(kubectl) -> None:
    cluster = Cluster.objects.get(name="demo")
    ranges = dict(
        line.split()
        for line in ok(
            kubectl(
                "get",
                "nodes",
                "-o",
                "jsonpath={range .items[*]}{.metadata.name} {.spec.podCIDR}{'\\n'}{end}",
            )
        ).splitlines()
    )
    assert ranges == {
        "control-plane": "10.244.0.0/24",
        "node-1": "10.244.1.0/24",
        "node-2": "10.244.2.0/24",
        "node-3": "10.244.3.0/24",
    }
    lines = ok(kubectl("get", "pods", "-o", "wide")).splitlines()
    header = lines[0].split()
    assert header[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    rows = [line.split() for line in lines[1:]]
    assert len(rows) == 6
    ips = set()
    for row in rows:
        ip, node = row[5], row[6]
        assert ipaddress.ip_address(ip) in ipaddress.ip_network(ranges[node])
        pod = KubeObject.objects.get(cluster=cluster, kind="Pod", name=row[0])
        assert pod.body["status"]["podIP"] == ip
        ips.add(ip)
    assert len(ips) == 6
