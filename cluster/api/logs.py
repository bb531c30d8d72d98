"""``pods/log``: the simulated container's output, as ``kubectl logs`` reads it from the kubelet.

There are no processes, so the log is written from what the simulation recorded: the container's
start (``state.running.startedAt``), its image's start-up lines, a termination notice when the
pod is being deleted, and, for a container that died (``lastState.terminated``), the lines of
the previous instance with ``previous=true``. Lines carry the simulated time, which
``timestamps=true`` prints as the kubelet does (RFC 3339 with nanoseconds).

Errors are the kubelet's, as the API server relays them: a container that has not started is a
400 ``container "x" in pod "y" is waiting to start: ContainerCreating``; an unknown container
name a 400 listing the pod's containers.

``follow=true`` streams: the current lines, then new ones as the pod changes (termination),
until the container stops or the client goes away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from cluster import k8s, selectors
from cluster.api import status
from cluster.models import Cluster

FOLLOW_POLL_SECONDS = 0.5
SHUTDOWN = "received SIGTERM, shutting down gracefully"
FOLLOW_LIMIT_SECONDS = 3600.0


def _startup_lines(image: str) -> list[str]:
    name = image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
    if name == "nginx":
        return [
            "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform "
            "configuration",
            "/docker-entrypoint.sh: Configuration complete; ready for start up",
            'nginx: [notice] using the "epoll" event method',
            "nginx: [notice] start worker processes",
        ]
    return [f"{name}: starting", f"{name}: ready"]


def container_lines(pod: dict, container: str, *, previous: bool) -> list[tuple[str, str]] | str:
    """(timestamp, text) lines of one container, or the kubelet's error text."""
    spec = next((c for c in pod["spec"].get("containers") or [] if c["name"] == container), None)
    statuses = {cs["name"]: cs for cs in (pod.get("status") or {}).get("containerStatuses") or []}
    cs = statuses.get(container) or {}
    name = pod["metadata"]["name"]
    if previous:
        last = (cs.get("lastState") or {}).get("terminated")
        if not last:
            return f'previous terminated container "{container}" in pod "{name}" not found'
        lines = [(last.get("startedAt", ""), t) for t in _startup_lines(spec["image"])]
        reason = last.get("reason", "Error")
        lines.append(
            (last.get("finishedAt", ""), f"exited: {reason} (code {last.get('exitCode', 1)})")
        )
        return lines
    state = cs.get("state") or {}
    running = state.get("running")
    terminated = state.get("terminated")
    if not running and not terminated:
        waiting = (state.get("waiting") or {}).get("reason", "ContainerCreating")
        return f'container "{container}" in pod "{name}" is waiting to start: {waiting}'
    started = (running or terminated).get("startedAt", "")
    lines = [(started, text) for text in _startup_lines(spec["image"])]
    deletion = pod["metadata"].get("deletionTimestamp")
    if deletion and running:
        lines.append((deletion, SHUTDOWN))
    if terminated:
        lines.append(
            (
                terminated.get("finishedAt", ""),
                f"exited: {terminated.get('reason', 'Completed')} "
                f"(code {terminated.get('exitCode', 0)})",
            )
        )
    return lines


def _render(lines: list[tuple[str, str]], *, timestamps: bool) -> str:
    out = []
    for stamp, text in lines:
        prefix = ""
        if timestamps and stamp:
            prefix = stamp.replace("Z", ".000000000Z") + " "
        out.append(prefix + text + "\n")
    return "".join(out)


def _select(lines: list[tuple[str, str]], request: HttpRequest, now: float) -> list:
    since = request.GET.get("sinceSeconds")
    if since and since.isdigit():
        horizon = now - int(since)
        lines = [(s, t) for s, t in lines if not s or (k8s.parse_time(s) or 0) >= horizon]
    tail = request.GET.get("tailLines")
    if tail and tail.lstrip("-").isdigit() and int(tail) >= 0:
        lines = lines[len(lines) - int(tail) :] if int(tail) else []
    return lines


def _pick_container(pod: dict, request: HttpRequest) -> str | HttpResponse:
    names = [c["name"] for c in pod["spec"].get("containers") or []]
    wanted = request.GET.get("container")
    name = pod["metadata"]["name"]
    if wanted is None:
        if len(names) == 1:
            return names[0]
        return status.bad_request(
            f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
        )
    if wanted not in names:
        return status.bad_request(f"container {wanted} is not valid for pod {name}")
    return wanted


def pod_log(request: HttpRequest, cluster: Cluster, namespace: str, name: str) -> HttpResponse:
    pod = selectors.api_object_body(cluster=cluster, kind="Pod", namespace=namespace, name=name)
    if pod is None:
        return status.not_found(resource="pods", group="", name=name)
    container = _pick_container(pod, request)
    if isinstance(container, HttpResponse):
        return container
    previous = request.GET.get("previous") in ("true", "1")
    lines = container_lines(pod, container, previous=previous)
    if isinstance(lines, str):
        return status.bad_request(lines)
    timestamps = request.GET.get("timestamps") in ("true", "1")
    cluster.refresh_from_db(fields=["sim_now"])
    text = _render(_select(lines, request, cluster.sim_now), timestamps=timestamps)
    if request.GET.get("follow") not in ("true", "1") or previous:
        return HttpResponse(text, content_type="text/plain")
    response = StreamingHttpResponse(
        _follow(cluster, namespace, name, container, len(lines), text, timestamps),
        content_type="text/plain",
    )
    response["Cache-Control"] = "no-cache, private"
    return response


def _current(cluster: Cluster, namespace: str, name: str) -> dict | None:
    return selectors.api_object_body(cluster=cluster, kind="Pod", namespace=namespace, name=name)


def _state(pod: dict, container: str) -> dict:
    return next(
        (
            cs.get("state") or {}
            for cs in (pod.get("status") or {}).get("containerStatuses") or []
            if cs["name"] == container
        ),
        {},
    )


async def _follow(
    cluster: Cluster,
    namespace: str,
    name: str,
    container: str,
    sent: int,
    first: str,
    timestamps: bool,
) -> AsyncIterator[bytes]:
    """``-f``: the lines so far, then new ones until the container ends or the pod is gone."""
    last: list[tuple[str, str]] = []
    yield first.encode()
    deadline = time.monotonic() + FOLLOW_LIMIT_SECONDS
    read = sync_to_async(_current, thread_sensitive=False)
    while time.monotonic() < deadline:
        await asyncio.sleep(FOLLOW_POLL_SECONDS)
        pod = await read(cluster, namespace, name)
        if pod is None:
            # Gone between two polls: its container was stopped, which the log shows last.
            if not any(text == SHUTDOWN for _, text in last):
                yield _render([("", SHUTDOWN)], timestamps=False).encode()
            return
        lines = container_lines(pod, container, previous=False)
        if isinstance(lines, str):
            return
        if len(lines) > sent:
            yield _render(lines[sent:], timestamps=timestamps).encode()
            sent = len(lines)
        last = lines
        if "terminated" in _state(pod, container):
            return
