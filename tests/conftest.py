"""Fixtures for the whole suite: one Redis for every test, and the real processes for the
integration tests.

Redis
    ``redis_url`` (session, autouse) is the Redis every test talks to: ``REDIS_URL`` from the
    environment when set (CI's dedicated server, used as is), else a private ``redis-server``
    started for the session. This process's settings, channel layer and Celery app are pointed
    at it, so services publishing on commit and ``.delay()`` reach the same Redis as the
    subprocesses below.

Real processes (integration tests)
    ``live_db_env`` is the environment for subprocesses: the *test* database (SQLite file or
    ``test_<name>`` on PostgreSQL) as ``DATABASE_URL``, ``REDIS_URL``, a 0.2 s tick.
    ``celery_worker_proc`` runs a Celery worker and a separate beat, like production;
    ``daphne_server`` runs daphne on a free port and yields its base URL; ``stack`` is both.
    ``daphne_tls_server`` adds the API's TLS endpoint (a CA and serving certificate made once
    per session) for the tests driving real kubectl.

    Subprocesses only see committed rows, so tests using them must be transactional::

        pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

    (The process fixtures request ``transactional_db`` themselves, and add the ``integration``
    marker to tests using them, but say it in the test anyway.) They are function-scoped: the
    processes stop before pytest-django flushes the tables, and every test starts from a clean
    database. Their output is kept in ``test-artifacts/logs/<test>/`` and its tail is printed
    when a test fails.

Browser tests live in ``tests/browser/`` (their fixtures are in its conftest) and get the
``browser`` marker automatically; ``make test`` runs them in a pytest process of their own.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.core.management import call_command

from k8sviz.embedded import EmbeddedRedis, free_port
from k8sviz.supervisor import Child, wait_for_port

ROOT = Path(__file__).resolve().parent.parent
# CI runs two suites at once (SQLite, PostgreSQL): each keeps its own process logs.
ARTIFACTS = Path(os.environ.get("K8SVIZ_TEST_ARTIFACTS") or ROOT / "test-artifacts")
TEST_TICK_SECONDS = "0.2"
PROCESS_FIXTURES = {"celery_worker_proc", "daphne_server", "daphne_tls_server", "stack"}


# --- markers and reports ----------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Runs before ``-m`` deselects: mark browser tests by place, process tests by fixture."""
    browser_dir = Path(__file__).resolve().parent / "browser"
    for item in items:
        if browser_dir in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)
        if PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def node_failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(getattr(request.node, f"rep_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


def artifact_dir(request: pytest.FixtureRequest, kind: str) -> Path:
    path = ARTIFACTS / kind / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-150:]
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_rate_limits(settings) -> None:
    """Every test client is 127.0.0.1 and Redis keeps counts across tests: rate limits are off
    unless a test turns them on (tests/cluster/test_classroom.py)."""
    settings.K8SVIZ_ACTION_RATE = 0
    settings.K8SVIZ_JOIN_RATE = 0



@pytest.fixture(scope="session", autouse=True)
def redis_url() -> Iterator[str]:
    """The Redis URL for the session; this process's clients and ``REDIS_URL`` point at it."""
    from k8sviz.supervisor import use_redis

    server: EmbeddedRedis | None = None
    url = os.environ.get("REDIS_URL")
    if not url:
        server = EmbeddedRedis(Path(settings.VAR_DIR), record=False).start()
        url = server.url
    previous = os.environ.get("REDIS_URL")
    os.environ["REDIS_URL"] = url  # for any subprocess a test starts itself
    use_redis(url)
    try:
        yield url
    finally:
        if previous is None:
            os.environ.pop("REDIS_URL", None)
        if server is not None:
            server.stop()


# --- the environment of subprocesses ----------------------------------------------------------


def _test_database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    name = str(db["NAME"])
    if db["ENGINE"] == "django.db.backends.sqlite3":
        if name == ":memory:" or "mode=memory" in name:
            pytest.fail("the SQLite test database is in memory: subprocesses cannot share it")
        return f"sqlite:///{Path(name).resolve()}"
    original = os.environ.get("DATABASE_URL")
    if not original:
        pytest.fail(f"cannot describe {db['ENGINE']} to subprocesses without DATABASE_URL")
    # Keep everything of the configured URL (credentials, host, options) but the database name.
    return urlunsplit(urlsplit(original)._replace(path="/" + quote(name)))


@pytest.fixture(scope="session")
def live_db_env(django_db_setup: None, redis_url: str) -> dict[str, str]:
    """Environment for subprocesses sharing this session's test database and Redis."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set for Playwright tests only, never for servers
    env.update(
        DATABASE_URL=_test_database_url(),
        REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE="k8sviz.settings",
        K8SVIZ_TICK_SECONDS=TEST_TICK_SECONDS,
        PYTHONUNBUFFERED="1",
        # Every test client is 127.0.0.1: rate limits are tested on their own (test_classroom).
        K8SVIZ_ACTION_RATE="0",
        K8SVIZ_JOIN_RATE="0",
    )
    return env


class _FileSink:
    """Writes each child's lines to ``<dir>/<name>.log``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files: dict[str, IO[str]] = {}
        self.children: list[Child] = []  # whose tails to print when the test fails

    def __call__(self, name: str, line: str) -> None:
        file = self.files.get(name)
        if file is None:
            file = self.files[name] = open(self.directory / f"{name}.log", "w")  # noqa: SIM115
        file.write(line + "\n")
        file.flush()

    def close(self) -> None:
        for file in self.files.values():
            file.close()


@pytest.fixture
def process_logs(request: pytest.FixtureRequest) -> Iterator[_FileSink]:
    """Sink for child output; prints the tail of every child's output if the test failed."""
    sink = _FileSink(artifact_dir(request, "logs"))
    yield sink
    if node_failed(request):
        for child in sink.children:
            print(f"\n----- last output of {child.name} (full log: {sink.directory}) -----")
            print(child.tail())
    sink.close()


# --- Celery worker + beat ---------------------------------------------------------------------


@dataclass
class CeleryProcesses:
    """A Celery worker and beat. ``stop()``/``start()`` crash or restart the worker alone."""

    worker: Child
    beat: Child
    nodename: str
    ready_timeout: float = 60.0

    def start(self) -> None:
        """Start the worker (if stopped) and wait until it answers a ping via the broker."""
        if not self.worker.running:
            self.worker.start()
        self.wait_ready()

    def stop(self, *, crash: bool = False) -> None:
        """Stop the worker: SIGTERM (warm shutdown), or SIGKILL when ``crash``."""
        self.worker.stop(crash=crash)

    def ping(self, timeout: float = 1.0) -> bool:
        from k8sviz.celery import app

        return bool(app.control.ping(destination=[self.nodename], timeout=timeout))

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while not self.ping(timeout=0.5):
            if not self.worker.running:
                raise RuntimeError(
                    f"celery worker exited ({self.worker.returncode})\n{self.worker.tail()}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"celery worker not ready after {self.ready_timeout}s\n{self.worker.tail()}"
                )

    def shutdown(self) -> None:
        # Both shut down at once: a warm worker shutdown takes about a second.
        self.beat.send_signal(signal.SIGTERM)
        self.worker.send_signal(signal.SIGTERM)
        self.beat.stop()
        self.worker.stop()


def _celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "k8sviz", *args]


@pytest.fixture
def celery_worker_proc(
    transactional_db: None,
    live_db_env: dict[str, str],
    process_logs: _FileSink,
    tmp_path: Path,
) -> Iterator[CeleryProcesses]:
    """A Celery worker (threads pool) and a separate beat on the test database, both running.

    Tasks queued in Redis by earlier tests (``delay_on_commit`` without a worker) are purged
    first, so the worker sees only this test's work.
    """
    from k8sviz.celery import app

    app.control.purge()
    nodename = f"test-{uuid.uuid4().hex[:8]}@localhost"
    worker = Child(
        "worker",
        _celery(
            "worker",
            "--loglevel=INFO",
            "--pool=threads",
            "--concurrency=4",
            "-n",
            nodename,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ),
        env=live_db_env,
        cwd=ROOT,
        sink=process_logs,
    )
    beat = Child(
        "beat",
        _celery("beat", "--loglevel=INFO", "--schedule", str(tmp_path / "celerybeat-schedule")),
        env=live_db_env,
        cwd=ROOT,
        sink=process_logs,
    )
    process_logs.children.extend([worker, beat])
    procs = CeleryProcesses(worker=worker, beat=beat, nodename=nodename)
    try:
        worker.start()
        beat.start()
        procs.wait_ready()
        yield procs
    finally:
        procs.shutdown()


# --- daphne -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _run_daphne(
    env: dict[str, str], sink: _FileSink, endpoints: Callable[[], tuple[list[str], list[int]]]
) -> Iterator[None]:
    """Start daphne with the arguments ``endpoints()`` returns (and the ports they listen on),
    wait until every port accepts connections, yield, stop it. Free ports can be taken by
    another process in between: up to three attempts, each with new ports."""
    for attempt in range(3):
        args, ports = endpoints()
        daphne = Child(
            "daphne",
            [sys.executable, "-m", "daphne", *args, "k8sviz.asgi:application"],
            env=env,
            cwd=ROOT,
            sink=sink,
        )
        sink.children.append(daphne)
        daphne.start()
        try:
            for port in ports:
                wait_for_port("127.0.0.1", port, timeout=60, child=daphne)
            break
        except RuntimeError:
            if attempt == 2 or "Address already in use" not in daphne.tail():
                raise
        except BaseException:
            daphne.stop()
            raise
    try:
        yield
    finally:
        daphne.stop()


@pytest.fixture
def daphne_server(
    transactional_db: None, live_db_env: dict[str, str], process_logs: _FileSink
) -> Iterator[str]:
    """daphne serving ``k8sviz.asgi`` on a free loopback port; yields ``http://127.0.0.1:PORT``."""
    port = 0

    def endpoints() -> tuple[list[str], list[int]]:
        nonlocal port
        port = free_port()
        return ["-b", "127.0.0.1", "-p", str(port)], [port]

    with _run_daphne(live_db_env, process_logs, endpoints):
        yield f"http://127.0.0.1:{port}"


@dataclass
class ApiServer:
    """daphne with the Kubernetes-style API's TLS endpoint, as ``make run`` serves it."""

    url: str  # http://127.0.0.1:PORT (the dashboard)
    api_url: str  # https://127.0.0.1:TLS_PORT (kubectl's server, before /clusters/<name>)
    var_dir: Path  # holds pki/ (the CA signing the serving certificate)


@pytest.fixture(scope="session")
def api_var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A var directory whose ``pki/`` holds the API's CA and serving certificate."""
    from k8sviz import pki

    var_dir = tmp_path_factory.mktemp("api-var")
    pki.ensure(var_dir)
    return var_dir


@pytest.fixture
def daphne_tls_server(
    transactional_db: None,
    live_db_env: dict[str, str],
    process_logs: _FileSink,
    api_var_dir: Path,
) -> Iterator[ApiServer]:
    """daphne on a free plain-HTTP port and a free TLS port (``-e ssl:...``), the certificate
    from ``api_var_dir``; point ``settings.VAR_DIR`` at ``api_var_dir`` for kubeconfigs."""
    from k8sviz import pki

    keys = pki.paths(api_var_dir)
    ports = (0, 0)

    def endpoints() -> tuple[list[str], list[int]]:
        nonlocal ports
        ports = (free_port(), free_port())
        tls = pki.daphne_endpoint(keys, host="127.0.0.1", port=ports[1])
        return ["-b", "127.0.0.1", "-p", str(ports[0]), "-e", tls], list(ports)

    with _run_daphne(live_db_env, process_logs, endpoints):
        yield ApiServer(
            url=f"http://127.0.0.1:{ports[0]}",
            api_url=f"https://127.0.0.1:{ports[1]}",
            var_dir=api_var_dir,
        )


# --- the whole stack --------------------------------------------------------------------------


@dataclass
class Stack:
    url: str  # http://127.0.0.1:PORT, no trailing slash
    celery: CeleryProcesses
    ws_url: str = field(init=False)  # ws://127.0.0.1:PORT

    def __post_init__(self) -> None:
        self.ws_url = "ws" + self.url.removeprefix("http")


@pytest.fixture
def stack(celery_worker_proc: CeleryProcesses, daphne_server: str) -> Stack:
    """daphne + a Celery worker + beat on the test database and the session's Redis."""
    return Stack(url=daphne_server, celery=celery_worker_proc)


# --- Chromium ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium (Playwright cannot download its own browsers here)."""
    path = Path("/usr/bin/chromium")
    if path.exists():
        return str(path)
    message = "Chromium missing: browser tests need /usr/bin/chromium"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} in CI: .ci/run should have installed it", pytrace=False)
    pytest.skip(f"!!!!! {message}. Install it: sudo apt-get install chromium !!!!!")


# --- kubectl ----------------------------------------------------------------------------------

KUBECTL = Path("/usr/bin/kubectl")


@pytest.fixture
def kubeconfig(daphne_tls_server, settings, tmp_path: Path) -> Path:
    """The demo cluster, settled, and a kubeconfig for it written by ``manage.py kubeconfig``."""
    from cluster import services

    services.demo_cluster_ensure(name="demo")
    settings.VAR_DIR = daphne_tls_server.var_dir
    out = io.StringIO()
    call_command("kubeconfig", "demo", "--server", daphne_tls_server.api_url, stdout=out)
    path = tmp_path / "demo.kubeconfig"
    path.write_text(out.getvalue())
    return path


@pytest.fixture
def kubectl(kubeconfig: Path, tmp_path: Path):
    """Run kubectl with only this kubeconfig and a private discovery cache."""
    if not KUBECTL.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("kubectl missing in CI: /usr/bin/kubectl is required", pytrace=False)
        pytest.skip("!!!!! kubectl missing: the kubectl tests need /usr/bin/kubectl !!!!!")
    base_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "KUBECONFIG": str(kubeconfig),
    }

    def run(
        *args: str, config: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(KUBECTL), *args],
            env={**base_env, **(env or {}), "KUBECONFIG": str(config or kubeconfig)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run


@pytest.fixture
def kubectl_popen(kubectl, kubeconfig: Path, tmp_path: Path):
    """kubectl as a long-running process whose output is read line by line."""

    @contextlib.contextmanager
    def start(*args: str):
        proc = subprocess.Popen(
            [str(KUBECTL), *args],
            env={
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(tmp_path),
                "KUBECONFIG": str(kubeconfig),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        killer = threading.Timer(30, proc.kill)
        killer.start()
        try:
            yield proc
        finally:
            killer.cancel()
            proc.kill()
            proc.wait()

    return start
