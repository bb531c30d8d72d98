"""``manage.py runstack`` serves the API too: daphne gets a TLS endpoint on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

from cluster.management.commands.runstack import Command
from k8sviz import pki


class Recorder:
    def __init__(self) -> None:
        self.commands: dict[str, list[str]] = {}

    def add(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.commands[name] = command


def test_daphne_gets_the_tls_endpoint(settings, tmp_path: Path) -> None:
    """Plain HTTP on --host/--port and ``-e ssl:<api port>`` with the var/pki certificate."""
    settings.VAR_DIR = tmp_path
    supervisor = Recorder()
    Command()._add_children(supervisor, {}, "127.0.0.1", 8000, 16443)  # type: ignore[arg-type]
    daphne = supervisor.commands["daphne"]
    keys = pki.paths(tmp_path)
    assert daphne[daphne.index("-b") + 1 : daphne.index("-b") + 4] == ["127.0.0.1", "-p", "8000"]
    endpoint = daphne[daphne.index("-e") + 1]
    assert endpoint == pki.daphne_endpoint(keys, host="127.0.0.1", port=16443)
    assert keys.cert.exists() and keys.key.exists()
    assert daphne[-1] == "k8sviz.asgi:application"
