"""``manage.py runstack``: the whole stack in one terminal.

Starts the embedded Redis (unless ``REDIS_URL`` is set), migrates, makes sure the demo cluster
exists, then supervises daphne, a Celery worker and Celery beat, each child's output prefixed
with its name. daphne serves the dashboard over plain HTTP and the Kubernetes-style API over
TLS on ``K8SVIZ_API_HOST`` (127.0.0.1 unless set):``--api-port`` (``K8SVIZ_API_PORT``, 6443),
with the certificate from :mod:`k8sviz.pki` (created under ``var/pki/`` on first run; it also
covers ``K8SVIZ_API_URL``'s host). Ctrl-C or SIGTERM stops everything
and exits 0; a child dying on its own stops the rest and exits non-zero.
"""

from __future__ import annotations

import os
import sys
import threading
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from cluster import kubeconfig
from k8sviz import pki
from k8sviz.embedded import EmbeddedRedis
from k8sviz.supervisor import PrefixSink, Supervisor, use_redis, wait_for_port

DEMO_NAME = "demo"


class Command(BaseCommand):
    help = "Run daphne, a Celery worker and beat (and Redis when REDIS_URL is unset)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--api-port",
            type=int,
            default=settings.K8SVIZ_API_PORT,
            help="HTTPS port of the Kubernetes API (K8SVIZ_API_PORT, 6443).",
        )
        parser.add_argument("--no-demo", action="store_true", help="Skip the demo cluster.")

    def handle(
        self, *args: Any, host: str, port: int, api_port: int, no_demo: bool, **options: Any
    ) -> None:
        supervisor = Supervisor(sink=PrefixSink())
        redis: EmbeddedRedis | None = None
        died = None
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "k8sviz.settings"}
        try:
            if not os.environ.get("REDIS_URL"):
                self.say(f"starting the embedded Redis (records {settings.VAR_DIR}/redis.url)")
                redis = EmbeddedRedis(settings.VAR_DIR).start()
                use_redis(redis.url)
            env["REDIS_URL"] = settings.REDIS_URL
            self.say(f"Redis at {settings.REDIS_URL}")
            self.say("migrating the database")
            call_command("migrate", interactive=False, verbosity=1)
            if not no_demo:
                self._ensure_demo()
            self._add_children(supervisor, env, host, port, api_port)
            self.say("starting " + ", ".join(child.name for child in supervisor.children))
            # From here on Ctrl-C/SIGTERM only ask for a stop; before, they interrupt as usual.
            supervisor.install_signal_handlers()
            supervisor.start()
            self._announce_when_listening(supervisor, host, port, api_port, not no_demo)
            died = supervisor.wait()
        finally:
            self.say("stopping")
            supervisor.stop()
            if redis is not None:
                redis.stop()
        if died is not None:
            raise CommandError(
                f"{died.name} exited unexpectedly with code {died.returncode}; stopped the rest",
                returncode=1,
            )
        self.say("stopped cleanly")

    def say(self, message: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"runstack | {message}"))

    def _ensure_demo(self) -> None:
        try:
            from cluster.services import demo_cluster_ensure  # noqa: PLC0415 - lands later
        except ImportError as error:
            if error.name != "cluster.services":
                raise  # a broken import inside the package, not a service still to be written
            self.stderr.write(f"runstack | WARNING: no demo cluster ({error})")
            return
        self.say("making sure the demo cluster exists")
        demo_cluster_ensure()

    def _add_children(
        self, supervisor: Supervisor, env: dict[str, str], host: str, port: int, api_port: int
    ) -> None:
        python = sys.executable  # the venv's python: its -m finds the venv's packages
        celery = [python, "-m", "celery", "-A", "k8sviz"]
        # A line per tick (two a second) would bury everything else; INFO is one variable away.
        celery_log_level = os.environ.get("CELERY_LOG_LEVEL", "WARNING")
        schedule = str(settings.VAR_DIR / "celerybeat-schedule")
        keys = pki.ensure(settings.VAR_DIR, kubeconfig.api_host_names())
        tls = pki.daphne_endpoint(keys, host=settings.K8SVIZ_API_HOST, port=api_port)
        daphne = [python, "-m", "daphne", "-b", host, "-p", str(port), "-e", tls]
        daphne.append("k8sviz.asgi:application")
        supervisor.add("daphne", daphne, env)
        supervisor.add(
            "worker",
            [
                *celery,
                "worker",
                f"--loglevel={celery_log_level}",
                "--concurrency=2",
                "-n",
                "worker@%h",
            ],
            env,
        )
        supervisor.add(
            "beat", [*celery, "beat", f"--loglevel={celery_log_level}", "--schedule", schedule], env
        )

    def _announce_when_listening(
        self, supervisor: Supervisor, host: str, port: int, api_port: int, demo: bool
    ) -> None:
        daphne = supervisor.children[0]

        def announce() -> None:
            try:
                wait_for_port(host, port, timeout=60, child=daphne)
                wait_for_port(
                    _reachable(settings.K8SVIZ_API_HOST), api_port, timeout=60, child=daphne
                )
            except (RuntimeError, TimeoutError):
                return  # the supervisor reports the dead child
            rule = "=" * 60
            cluster = DEMO_NAME if demo else "<cluster>"
            python = os.path.relpath(sys.executable)
            server = ""
            api_url = kubeconfig.api_base_url(api_port)
            if api_port != settings.K8SVIZ_API_PORT and not settings.K8SVIZ_API_URL:
                server = f" --server {api_url}"
            banner = (
                f"  k8sviz is up: http://{host}:{port}/\n"
                f"  Kubernetes API: {api_url}/clusters/<name>\n"
                f"  kubectl: {python} manage.py kubeconfig {cluster}{server}"
                f" > {cluster}.kubeconfig\n"
                f"           export KUBECONFIG=$PWD/{cluster}.kubeconfig\n"
                "  Ctrl-C stops everything"
            )
            self.stdout.write(self.style.SUCCESS(f"{rule}\n{banner}\n{rule}"))

        threading.Thread(target=announce, name="announce", daemon=True).start()


def _reachable(host: str) -> str:
    """Where to check a server listening on ``host``: a wildcard address is reached on the
    loopback of its family."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
