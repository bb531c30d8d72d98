"""Real kubectl with the kubeconfig a student downloads from their sandbox's dashboard
(docs/classroom.md, "kubectl in the classroom"): it drives the sandbox, and its token opens no
other cluster, the class's included."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from cluster import access, services
from cluster.models import Classroom, KubeObject, Student

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_kubectl_drives_a_sandbox_with_the_downloaded_kubeconfig(
    daphne_tls_server, kubectl, settings, tmp_path: Path
) -> None:
    settings.K8SVIZ_OPEN_ACCESS = False
    settings.VAR_DIR = daphne_tls_server.var_dir
    settings.K8SVIZ_API_URL = daphne_tls_server.api_url
    teacher = User.objects.create_user("ada")
    taught = services.cluster_create(name="taught", owner_id=teacher.pk)
    room = Classroom.objects.create(
        name="A", owner=teacher, join_code="AAAAAA", viewer_token="v", cluster=taught
    )
    alice = Student.objects.create(classroom=room, display_name="alice")
    services.cluster_create(name="alice-lab", sandbox_of_id=alice.pk)
    store = SessionStore()
    store[access.SESSION_STUDENT] = alice.pk
    store.create()
    browser = Client()
    browser.cookies["sessionid"] = store.session_key

    download = browser.post("/clusters/alice-lab/kubeconfig/")
    assert download.status_code == 200
    mine = tmp_path / "alice-lab.kubeconfig"
    mine.write_bytes(download.content)

    created = kubectl("create", "deployment", "web", "--image=nginx:1.27", config=mine)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "deployment.apps/web created"
    assert KubeObject.objects.filter(cluster__name="alice-lab", kind="Deployment", name="web")
    assert not KubeObject.objects.filter(cluster__name="taught", kind="Deployment", name="web")
    whoami = kubectl("config", "view", "--minify", "-o", "jsonpath={.users[0].name}", config=mine)
    assert whoami.stdout == "alice@alice-lab"

    # The same token pointed at the class's cluster: refused as another cluster's token.
    config = yaml.safe_load(mine.read_text())
    config["clusters"][0]["cluster"]["server"] = f"{daphne_tls_server.api_url}/clusters/taught"
    elsewhere = tmp_path / "taught.kubeconfig"
    elsewhere.write_text(yaml.safe_dump(config))
    refused = kubectl("get", "pods", config=elsewhere)
    assert refused.returncode == 1
    assert "Error from server (Forbidden)" in refused.stderr, refused.stderr
