"""Start, watch and stop a handful of child processes as one unit.

``manage.py runstack`` uses it for daphne, the Celery worker and beat; the test suite's
integration fixtures use :class:`Child` for the same processes. Each child gets its own process
group, so a Ctrl-C at the terminal reaches only the supervisor, which then stops the children in
an orderly way instead of racing them. On Linux each child is also asked to receive SIGTERM when
the thread that started it dies, so a supervisor killed with SIGKILL leaves no orphans behind.
Every line a child prints is passed to a *sink* together with the child's name.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import FrameType

Sink = Callable[[str, str], None]

_PR_SET_PDEATHSIG = 1
try:
    # Looked up once here: the lookup must not happen between fork and exec.
    _prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent() -> None:
    """Runs in the child between fork and exec."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class PrefixSink:
    """Writes ``name | line`` to stdout (looked up at each write), coloured on a terminal."""

    _COLOURS = ("36", "33", "35", "32", "34", "31")

    def __init__(self, width: int = 8) -> None:
        self.width = width
        self._lock = threading.Lock()
        self._colour: dict[str, str] = {}

    def __call__(self, name: str, line: str) -> None:
        out = sys.stdout
        label = f"{name:<{self.width}}|"
        if out.isatty():
            colour = self._colour.setdefault(
                name, self._COLOURS[len(self._colour) % len(self._COLOURS)]
            )
            label = f"\033[{colour}m{label}\033[0m"
        with self._lock:
            out.write(f"{label} {line}\n")
            out.flush()


class Child:
    """One child process whose merged stdout/stderr is read line by line by a thread.

    The most recent lines are kept (``lines``) so callers can wait for a line or show the tail
    of the output when something goes wrong. A stopped child can be started again.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        sink: Sink | None = None,
        keep_lines: int = 5000,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.sink = sink
        self.lines: collections.deque[str] = collections.deque(maxlen=keep_lines)
        self.process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._changed = threading.Condition()
        self._seen = 0  # lines ever read, so waiters can ask for lines after a mark

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def returncode(self) -> int | None:
        return self.process.poll() if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> Child:
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
            preexec_fn=_die_with_parent if _prctl is not None else None,  # noqa: PLW1509
        )
        self._reader = threading.Thread(
            target=self._read, args=(self.process,), name=f"read-{self.name}", daemon=True
        )
        self._reader.start()
        return self

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            with self._changed:
                self.lines.append(line)
                self._seen += 1
                self._changed.notify_all()
            if self.sink is not None:
                self.sink(self.name, line)
        process.stdout.close()
        with self._changed:
            self._changed.notify_all()

    def mark(self) -> int:
        """A position in the output; pass it to :meth:`wait_for_line` to skip older lines."""
        with self._changed:
            return self._seen

    def wait_for_line(
        self, pattern: str | re.Pattern[str], *, timeout: float, after: int = 0
    ) -> str:
        """The first line (numbered from ``after``) matching ``pattern``, waiting for it."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                first_kept = self._seen - len(self.lines)
                for index, line in enumerate(self.lines, start=first_kept):
                    if index >= after and regex.search(line):
                        return line
                if not self.running and not (self._reader and self._reader.is_alive()):
                    raise RuntimeError(
                        f"{self.name} exited ({self.returncode}) before printing {regex.pattern!r}"
                        f"\n{self.tail()}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{self.name} did not print {regex.pattern!r} within {timeout}s"
                        f"\n{self.tail()}"
                    )
                self._changed.wait(min(remaining, 0.5))

    def tail(self, count: int = 60) -> str:
        with self._changed:
            lines = list(self.lines)[-count:]
        return "\n".join(f"{self.name} | {line}" for line in lines)

    def send_signal(self, signum: int) -> None:
        if self.running:
            assert self.process is not None
            self.process.send_signal(signum)

    def kill_group(self) -> None:
        """SIGKILL the child's whole process group (the child and anything it forked)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
            os.killpg(self.process.pid, signal.SIGKILL)

    def reap(self, timeout: float) -> int | None:
        """Wait for the child to exit; its output thread is joined afterwards."""
        if self.process is None:
            return None
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if self._reader is not None:
            self._reader.join(timeout=2)
            if self._reader.is_alive():
                # A grandchild still holds the pipe open: clear out the group.
                self.kill_group()
                self._reader.join(timeout=2)
        return code

    def stop(self, timeout: float = 10.0, *, crash: bool = False) -> int | None:
        """SIGTERM (SIGKILL when ``crash``), wait up to ``timeout`` s, then SIGKILL the group."""
        if self.process is None:
            return None
        if self.running:
            if crash:
                self.kill_group()
            else:
                self.send_signal(signal.SIGTERM)
        code = self.reap(timeout)
        if code is None:
            self.kill_group()
            code = self.reap(5)
        return code


class Supervisor:
    """Children started together and stopped together.

    ``wait()`` blocks until a stop is requested (:meth:`request_stop`, or SIGINT/SIGTERM/SIGHUP
    once :meth:`install_signal_handlers` ran) and returns ``None``, or until a child exits on its
    own and returns that child. ``stop()`` then terminates the rest.
    """

    def __init__(self, *, sink: Sink | None = None, stop_timeout: float = 10.0) -> None:
        self.children: list[Child] = []
        self.sink = sink
        self.stop_timeout = stop_timeout
        self._stop_requested = threading.Event()

    def add(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        *,
        cwd: str | os.PathLike[str] | None = None,
    ) -> Child:
        child = Child(name, argv, env=env, cwd=cwd, sink=self.sink)
        self.children.append(child)
        if isinstance(self.sink, PrefixSink):
            self.sink.width = max(self.sink.width, len(name) + 1)
        return child

    def start(self) -> None:
        for child in self.children:
            if not child.running:
                child.start()

    def request_stop(self, *_: object) -> None:
        self._stop_requested.set()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            self._stop_requested.set()

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, handler)

    def wait(self, poll: float = 0.2) -> Child | None:
        while not self._stop_requested.wait(poll):
            for child in self.children:
                if child.process is not None and child.returncode is not None:
                    return child
        return None

    def stop(self) -> None:
        """SIGTERM every child at once, give them ``stop_timeout`` s in all, then SIGKILL."""
        for child in reversed(self.children):
            child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for child in reversed(self.children):
            if child.reap(max(0.0, deadline - time.monotonic())) is None:
                child.kill_group()
                child.reap(5)

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def wait_for_port(host: str, port: int, *, timeout: float, child: Child | None = None) -> None:
    """Block until ``host:port`` accepts TCP connections (fail early if ``child`` exits)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            pass
        if child is not None and not child.running:
            raise RuntimeError(f"{child.name} exited ({child.returncode})\n{child.tail()}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")
        time.sleep(0.05)


def use_redis(url: str) -> None:
    """Point this process's Redis clients (settings, channel layer, Celery app) at ``url``.

    Settings read ``REDIS_URL`` at import, before an embedded Redis may have been started.
    """
    from django.conf import settings  # noqa: PLC0415 - needs configured settings
    from django.core.signals import setting_changed  # noqa: PLC0415

    from k8sviz.celery import app  # noqa: PLC0415

    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url
    layers = {name: {**conf} for name, conf in settings.CHANNEL_LAYERS.items()}
    for conf in layers.values():
        if "CONFIG" in conf and "hosts" in conf["CONFIG"]:
            conf["CONFIG"] = {**conf["CONFIG"], "hosts": [url]}
    settings.CHANNEL_LAYERS = layers
    # Channels drops its cached layers on this signal.
    setting_changed.send(sender=type(settings), setting="CHANNEL_LAYERS", value=layers, enter=True)
    app.conf.broker_url = url
