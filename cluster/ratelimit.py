"""Fixed-window rate limits in Redis (shared by every web process): ``hit(scope, who,
per_minute)`` counts a request and says whether it is within the limit. Joining a class is
limited per client address, dashboard actions per identity (docs/classroom.md)."""

from __future__ import annotations

import time
from functools import lru_cache

import redis
from django.conf import settings

WINDOW_SECONDS = 60


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def hit(scope: str, who: str, per_minute: int, *, now: float | None = None) -> bool:
    """Count one request of ``who`` in ``scope``; False once the minute's limit is passed.
    A Redis outage does not lock anybody out (the limit is a guard, not a gate)."""
    if per_minute <= 0:
        return True
    window = int((time.time() if now is None else now) // WINDOW_SECONDS)
    key = f"k8sviz:rate:{scope}:{who}:{window}"
    try:
        client = _client(settings.REDIS_URL)
        pipe = client.pipeline()
        pipe.incr(key)
        pipe.expire(key, WINDOW_SECONDS * 2)
        count, _ = pipe.execute()
    except redis.RedisError:
        return True
    return int(count) <= per_minute


def client_address(request: object) -> str:
    meta = getattr(request, "META", {})
    return str(meta.get("REMOTE_ADDR") or "unknown")
