"""The Celery application. Beat entries live in :mod:`cluster.schedule` (one place for all)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "k8sviz.settings")

app = Celery("k8sviz")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _install_beat_schedule(sender: Celery, **_: object) -> None:
    from cluster.schedule import beat_schedule  # noqa: PLC0415 - needs Django set up

    sender.conf.beat_schedule = beat_schedule()
