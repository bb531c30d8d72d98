"""Real kubectl against the live stack (Celery worker + beat, daphne over TLS): container
failures as ``kubectl get pods`` / ``describe`` / ``annotate`` show them."""

from __future__ import annotations

import re
import time

import pytest

from cluster import services
from cluster.models import Cluster

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cluster(kubectl, celery_worker_proc) -> Cluster:
    cluster = Cluster.objects.get(name="demo")
    services.cluster_clock_update(cluster=cluster, speed=30)
    return cluster


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def pod_row(kubectl, name: str) -> list[str]:
    out = ok(kubectl("get", "pod", name, "--no-headers"))
    # NAME READY STATUS RESTARTS [(Xs ago)] AGE
    return re.split(r"\s{2,}", out)


def test_crash_loop_in_get_and_describe(kubectl, cluster) -> None:
    ok(
        kubectl(
            "run",
            "crasher",
            "--image=nginx:1.27",
            "--annotations=k8sviz.io/behavior=crash after=3s exit=2",
        )
    )

    def crash_looping():
        row = pod_row(kubectl, "crasher")
        return row if row[2] == "CrashLoopBackOff" else None

    row = wait_for(crash_looping, what="CrashLoopBackOff in kubectl get pods")
    assert row[1] == "0/1"
    assert re.fullmatch(r"[1-9]\d* \(\d+s ago\)", row[3]), row
    described = ok(kubectl("describe", "pod", "crasher"))
    assert re.search(r"State:\s+Waiting\s+Reason:\s+CrashLoopBackOff", described), described
    assert re.search(
        r"Last State:\s+Terminated\s+Reason:\s+Error\s+Exit Code:\s+2", described
    ), described
    assert "Back-off restarting failed container crasher in pod crasher_default(" in described


def test_annotate_sets_behavior_and_rejects_nonsense(kubectl, cluster) -> None:
    ok(kubectl("run", "steady", "--image=nginx:1.27"))
    wait_for(lambda: pod_row(kubectl, "steady")[2] == "Running", what="Running")
    bad = kubectl("annotate", "pod", "steady", "k8sviz.io/behavior=explode")
    assert bad.returncode != 0
    assert 'unknown behaviour "explode"' in bad.stderr
    ok(kubectl("annotate", "pod", "steady", "k8sviz.io/behavior=crash after=2s"))
    wait_for(
        lambda: pod_row(kubectl, "steady")[3].startswith(("1", "2", "3")),
        what="a restart after annotating",
    )


def test_bad_image_shows_pull_errors(kubectl, cluster) -> None:
    ok(kubectl("run", "typo", "--image=ngnix:1.27"))
    seen: set[str] = set()

    def both():
        seen.add(pod_row(kubectl, "typo")[2])
        return {"ErrImagePull", "ImagePullBackOff"} <= seen

    wait_for(both, what=f"ErrImagePull and ImagePullBackOff (saw {seen})")
    ok(kubectl("set", "image", "pod/typo", "typo=nginx:1.27"))
    wait_for(lambda: pod_row(kubectl, "typo")[2] == "Running", what="Running after the fix")
