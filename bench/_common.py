"""Shared set-up for the bench scripts (not a benchmark itself).

``setup()`` must run before anything imports Django models. It

- points ``DATABASE_URL`` at a bench-only SQLite file (``var/bench.sqlite3``) unless the
  environment already sets it (e.g. ``postgres://postgres@127.0.0.1:5432/k8sviz_bench``; a
  missing PostgreSQL database is created with ``createdb``);
- starts a private ``redis-server`` (:class:`k8sviz.embedded.EmbeddedRedis`, not recorded in
  ``var/redis.url``) unless ``REDIS_URL`` is set: services send their live deltas to the channel
  layer on commit, and writes from outside a reconcile queue a Celery task, both in Redis;
- runs ``django.setup()`` and ``migrate``.

Also: percentile/format helpers shared by the scripts.
"""

from __future__ import annotations

import atexit
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DB = f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}"

_redis = None


def _ensure_postgres_db(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    args = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    if parts.username:
        args += ["-U", parts.username]
    env = dict(os.environ)
    if parts.password:
        env["PGPASSWORD"] = parts.password
    exists = subprocess.run(
        [
            "psql",
            *args,
            "-d",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{name}'",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if exists.returncode == 0 and exists.stdout.strip() != "1":
        print(f"creating PostgreSQL database {name}", flush=True)
        subprocess.run(["createdb", *args, name], env=env, check=True)


def setup(*, verbose: bool = True) -> dict[str, str]:
    """Environment, Redis, Django, migrations. Returns the env for subprocesses."""
    global _redis  # noqa: PLW0603
    os.chdir(ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "k8sviz.settings")
    os.environ.setdefault("K8SVIZ_LOG_LEVEL", "WARNING")
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = DEFAULT_DB
    db_url = os.environ["DATABASE_URL"]
    if db_url.startswith(("postgres://", "postgresql://")):
        _ensure_postgres_db(db_url)
    if not os.environ.get("REDIS_URL"):
        from k8sviz.embedded import EmbeddedRedis  # noqa: PLC0415

        _redis = EmbeddedRedis(ROOT / "var", record=False).start()
        os.environ["REDIS_URL"] = _redis.url
        atexit.register(_redis.stop)
    import django  # noqa: PLC0415

    django.setup()
    from django.core.management import call_command  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    if verbose:
        print(describe_env(), flush=True)
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": os.environ["REDIS_URL"],
        "PYTHONUNBUFFERED": "1",
    }


def stop_redis() -> None:
    if _redis is not None:
        _redis.stop()


def describe_env() -> str:
    from django.db import connection  # noqa: PLC0415

    vendor = connection.vendor
    version = ""
    if vendor == "sqlite":
        import sqlite3  # noqa: PLC0415

        version = sqlite3.sqlite_version
    else:
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            version = cur.fetchone()[0]
    return (
        f"# {time.strftime('%Y-%m-%d %H:%M')}  {platform.node()}  {os.cpu_count()} CPUs  "
        f"Python {platform.python_version()}  DB {vendor} {version}  "
        f"({os.environ['DATABASE_URL'].split('@')[-1]})  {loadavg()}"
    )


def loadavg() -> str:
    """The machine is shared: figures taken under load are noisier (and slower)."""
    one, five, _ = os.getloadavg()
    return f"load avg {one:.2f}/{five:.2f}"


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"
