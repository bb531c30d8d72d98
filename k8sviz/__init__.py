from __future__ import annotations

from k8sviz.celery import app as celery_app

__all__ = ("celery_app",)
