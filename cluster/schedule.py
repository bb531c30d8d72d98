"""Every Celery beat entry, in one place. Each expires at about 1.5x its interval so a stopped
worker does not replay a pile of stale ticks when it comes back."""

from __future__ import annotations

from django.conf import settings


def beat_schedule() -> dict[str, dict]:
    tick = settings.K8SVIZ_TICK_SECONDS
    return {
        "tick-clusters": {
            "task": "cluster.tasks.tick",
            "schedule": tick,
            "options": {"expires": tick * 1.5},
        },
        "compact-change-logs": {
            "task": "cluster.tasks.compact_changes",
            "schedule": 60.0,
            "options": {"expires": 90.0},
        },
    }
