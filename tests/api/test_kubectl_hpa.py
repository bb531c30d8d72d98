"""Real ``/usr/bin/kubectl`` with HorizontalPodAutoscalers: ``autoscale`` (an autoscaling/v1
protobuf body, stored as v2), ``get hpa`` (the v2 Table), ``describe hpa``, ``delete hpa``, and
the apiserver's refusals."""

from __future__ import annotations

import re

import pytest

from cluster.models import Cluster, KubeObject
from tests.api.test_kubectl_writes import ok

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cluster(kubectl) -> Cluster:
    return Cluster.objects.get(name="demo")


def test_autoscale_get_describe_delete(kubectl, cluster: Cluster) -> None:
    out = ok(kubectl("autoscale", "deployment", "nginx", "--cpu-percent=50", "--min=2", "--max=10"))
    assert out == "horizontalpodautoscaler.autoscaling/nginx autoscaled"
    stored = KubeObject.objects.get(cluster=cluster, kind="HorizontalPodAutoscaler", name="nginx")
    assert stored.body["apiVersion"] == "autoscaling/v2"
    assert stored.body["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50},
            },
        }
    ]

    lines = ok(kubectl("get", "hpa")).splitlines()
    assert lines[0].split() == [
        "NAME",
        "REFERENCE",
        "TARGETS",
        "MINPODS",
        "MAXPODS",
        "REPLICAS",
        "AGE",
    ]
    row = re.split(r"\s{2,}", lines[1].strip())
    assert row[:6] == ["nginx", "Deployment/nginx", "cpu: <unknown>/50%", "2", "10", "0"]

    described = ok(kubectl("describe", "hpa", "nginx"))
    assert re.search(r"^Reference:\s+Deployment/nginx$", described, re.M), described
    assert re.search(r"^Min replicas:\s+2$", described, re.M), described
    assert re.search(r"^Max replicas:\s+10$", described, re.M), described

    assert (
        ok(kubectl("delete", "hpa", "nginx"))
        == 'horizontalpodautoscaler.autoscaling "nginx" deleted'
    )
    assert not KubeObject.objects.filter(cluster=cluster, kind="HorizontalPodAutoscaler").exists()


def test_invalid_hpa_is_refused_with_the_apiservers_words(
    kubectl, cluster: Cluster, tmp_path
) -> None:
    manifest = tmp_path / "hpa.yaml"
    manifest.write_text(
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: x\n"
        "spec:\n  minReplicas: 4\n  maxReplicas: 2\n  scaleTargetRef:\n    kind: Deployment\n"
    )
    refused = kubectl("create", "-f", str(manifest))
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        'The HorizontalPodAutoscaler "x" is invalid: \n'
        "* spec.scaleTargetRef.name: Required value\n"
        "* spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`"
    )


def test_python_client_reads_autoscaling_v2_and_v1(kubeconfig, cluster: Cluster) -> None:
    """The official client's typed AutoscalingV2Api creates and reads an HPA (defaults filled);
    AutoscalingV1Api reads the same object as targetCPUUtilizationPercentage."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        v2 = client.AutoscalingV2Api(api_client)
        body = client.V2HorizontalPodAutoscaler(
            metadata=client.V1ObjectMeta(name="nginx"),
            spec=client.V2HorizontalPodAutoscalerSpec(
                scale_target_ref=client.V2CrossVersionObjectReference(
                    api_version="apps/v1", kind="Deployment", name="nginx"
                ),
                max_replicas=7,
            ),
        )
        v2.create_namespaced_horizontal_pod_autoscaler("default", body)
        read = v2.read_namespaced_horizontal_pod_autoscaler("nginx", "default")
        assert read.spec.min_replicas == 1
        assert read.spec.metrics[0].resource.target.average_utilization == 80
        [listed] = v2.list_namespaced_horizontal_pod_autoscaler("default").items
        assert listed.spec.max_replicas == 7
        v1 = client.AutoscalingV1Api(api_client).read_namespaced_horizontal_pod_autoscaler(
            "nginx", "default"
        )
        assert v1.spec.target_cpu_utilization_percentage == 80
        with pytest.raises(client.ApiException) as refused:
            v2.create_namespaced_horizontal_pod_autoscaler(
                "default",
                client.V2HorizontalPodAutoscaler(
                    metadata=client.V1ObjectMeta(name="bad"),
                    spec=client.V2HorizontalPodAutoscalerSpec(
                        scale_target_ref=client.V2CrossVersionObjectReference(
                            kind="Deployment", name="nginx"
                        ),
                        min_replicas=3,
                        max_replicas=2,
                    ),
                ),
            )
        assert refused.value.status == 422
    finally:
        api_client.close()
