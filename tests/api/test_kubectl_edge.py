"""Real ``/usr/bin/kubectl`` with LoadBalancer Services and Ingress, against the demo cluster
reconciled live by a Celery worker: ``expose --type=LoadBalancer`` gets an external IP from the
cloud-controller-manager; ``create ingress`` (a protobuf body) gets the default class and the
ingress controller's address; ``get ingress``, ``get ingressclass``, ``describe ingress``; and
the apiserver's refusal of an Ingress without pathType."""

from __future__ import annotations

import re

import pytest

from cluster.models import Cluster, KubeObject
from tests.api.test_kubectl_writes import ok, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

BAD_INGRESS = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: bad
spec:
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /
        backend:
          service:
            name: nginx
            port:
              number: 80
"""


@pytest.fixture
def cluster(kubectl, celery_worker_proc) -> Cluster:
    return Cluster.objects.get(name="demo")


def external_ip(cluster: Cluster, kind: str, name: str, namespace: str = "default") -> str:
    body = KubeObject.objects.get(cluster=cluster, kind=kind, namespace=namespace, name=name).body
    ingress = ((body.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return ingress[0]["ip"] if ingress else ""


def test_expose_load_balancer_gets_an_external_ip(kubectl, cluster: Cluster) -> None:
    out = ok(kubectl("expose", "deployment", "nginx", "--type=LoadBalancer", "--port=80"))
    assert out == "service/nginx exposed"
    ip = wait_for(lambda: external_ip(cluster, "Service", "nginx"), what="an external IP")
    assert ip.startswith("203.0.113.")
    lines = ok(kubectl("get", "svc", "nginx")).splitlines()
    assert lines[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    row = lines[1].split()
    assert row[1] == "LoadBalancer" and row[3] == ip and re.fullmatch(r"80:3\d{4}/TCP", row[4])
    selector = "involvedObject.name=nginx,involvedObject.kind=Service"
    events = ok(kubectl("get", "events", "--field-selector", selector))
    assert "EnsuringLoadBalancer" in events and "EnsuredLoadBalancer" in events


def test_create_get_describe_ingress(kubectl, cluster: Cluster) -> None:
    ok(kubectl("expose", "deployment", "nginx", "--port=80"))
    out = ok(kubectl("create", "ingress", "shop", "--rule=shop.example.com/*=nginx:80"))
    assert out == "ingress.networking.k8s.io/shop created"
    address = wait_for(lambda: external_ip(cluster, "Ingress", "shop"), what="an Ingress address")
    assert address == external_ip(cluster, "Service", "ingress-nginx-controller", "kube-system")

    lines = ok(kubectl("get", "ingress")).splitlines()
    assert lines[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert lines[1].split()[:5] == ["shop", "nginx", "shop.example.com", address, "80"]
    classes = ok(kubectl("get", "ingressclass")).splitlines()
    assert classes[1].split()[:3] == ["nginx", "k8s.io/ingress-nginx", "<none>"]

    spec = KubeObject.objects.get(cluster=cluster, kind="Ingress", name="shop").body["spec"]
    path = spec["rules"][0]["http"]["paths"][0]
    assert (path["path"], path["pathType"]) == ("/", "Prefix")

    described = ok(kubectl("describe", "ingress", "shop"))
    assert re.search(r"^Ingress Class:\s+nginx$", described, re.M), described
    assert re.search(r"^Address:\s+" + re.escape(address) + "$", described, re.M), described
    assert re.search(r"^\s+shop\.example\.com\s*$", described, re.M), described
    assert re.search(r"^\s+/\s+nginx:80 ", described, re.M), described
    assert "Scheduled for sync" in described


def test_ingress_without_path_type_is_refused(kubectl, cluster: Cluster, tmp_path) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(BAD_INGRESS)
    refused = kubectl("create", "-f", str(manifest))
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        'The Ingress "bad" is invalid: spec.rules[0].http.paths[0].pathType: '
        "Required value: pathType must be specified"
    )
