"""The integration fixtures start the real processes and wire them to this test's database and
Redis: the worker answers through the broker, daphne serves pages from the shared database."""

from __future__ import annotations

import re

import pytest
import requests
from django.contrib.auth import get_user_model

from k8sviz.celery import app

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_worker_answers_ping_through_the_redis_broker(celery_worker_proc, redis_url) -> None:
    assert app.conf.broker_url == redis_url
    replies = app.control.ping(destination=[celery_worker_proc.nodename], timeout=2)
    assert replies == [{celery_worker_proc.nodename: {"ok": "pong"}}]
    assert celery_worker_proc.beat.running


def test_a_crashed_worker_can_be_restarted(celery_worker_proc) -> None:
    celery_worker_proc.stop(crash=True)
    assert not celery_worker_proc.worker.running
    assert not celery_worker_proc.ping(timeout=0.5)

    celery_worker_proc.start()

    assert celery_worker_proc.ping()


def test_daphne_serves_the_admin_login_page(daphne_server) -> None:
    response = requests.get(f"{daphne_server}/admin/login/", timeout=10)

    assert response.status_code == 200
    assert "csrfmiddlewaretoken" in response.text


def test_daphne_sees_rows_this_test_committed(stack) -> None:
    """A user created here can log in through daphne: both use the same test database."""
    get_user_model().objects.create_superuser("smoke", "smoke@example.com", "smoke-pass-1")
    session = requests.Session()
    login = session.get(f"{stack.url}/admin/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
    assert token, login.text[:500]

    response = session.post(
        f"{stack.url}/admin/login/?next=/admin/",
        data={
            "username": "smoke",
            "password": "smoke-pass-1",
            "csrfmiddlewaretoken": token.group(1),
            "next": "/admin/",
        },
        headers={"Referer": f"{stack.url}/admin/login/"},
        timeout=10,
    )

    assert response.status_code == 200
    assert response.url == f"{stack.url}/admin/"
    assert stack.ws_url.startswith("ws://127.0.0.1:")
