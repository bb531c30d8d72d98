"""API latency: kubectl-shaped requests to the Kubernetes-style API, over HTTPS, per request kind.

What it measures
    A real daphne serving ``k8sviz.asgi`` with the API's TLS endpoint (``-e ssl:...``, a CA and
    serving certificate from :mod:`k8sviz.pki` under ``var/bench-api/pki``), as ``runstack`` and
    the tests' ``daphne_tls_server`` start it, on the bench database and Redis. One cluster holds
    ``--pods`` Running pods in namespace ``default``. From this process, over one persistent
    HTTPS connection (``http.client`` verifying the CA), with the headers kubectl 1.32 sends
    (``User-Agent: kubectl/v1.32.4 ...``, ``Authorization: Bearer``, ``Accept-Encoding: gzip``):

    - ``get pods``: ``GET /api/v1/namespaces/default/pods?limit=500`` with the Table Accept
      header (kubectl-api.md §2.1). The server ignores ``limit`` and answers every pod in one
      page, so this is one request for all ``--pods`` pods; kubectl would make ``pods / 500``
      requests against a server that paged;
    - ``get pods -o json``: the same URL with ``Accept: application/json`` (a ``PodList``);
    - ``GET /version?timeout=5s``: what Google's kubectl dispatcher sends before every command,
      and the floor: authentication (one SQL statement) and nothing else;
    - ``get deploy NAME``: one Table GET of one object (what ``kubectl get deploy web`` sends);
    - ``scale``: ``PATCH .../deployments/NAME/scale?fieldManager=kubectl-scale``,
      ``application/merge-patch+json`` ``{"spec":{"replicas":N}}``, N alternating 1 and 2;
    - ``label node``: ``PATCH /api/v1/nodes/NAME?fieldManager=kubectl-label``,
      ``application/strategic-merge-patch+json`` ``{"metadata":{"labels":{"bench":"a|b"}}}``
      (the SMP shape of ``cordon``/``taint``; ``kubectl label`` itself sends merge-patch);
    - ``run pod`` / ``delete pod``: ``POST .../pods?fieldManager=kubectl-run`` with the body
      ``kubectl run`` sends, then ``DELETE .../pods/NAME`` with ``{"propagationPolicy":
      "Background"}`` (the pod is never scheduled, so it goes at once).

    Each request is timed from just before it is sent to the last byte of the answer read.
    ``--warmup`` requests of each kind are not counted. Printed per kind: p50 / p95 / p99 / max
    / mean and the response size. Then (``--kubectl N``, 0 to skip) the same commands through
    the real ``/usr/bin/kubectl`` (Google's dispatcher: it first GETs ``/version``, then runs
    kubectl 1.32): wall time of the process, N runs each after one warm-up run that fills the
    discovery cache; process start dominates, so these are reported apart.

    Then, with daphne stopped, in this process: the same requests through Django's test client
    (``--in-process`` each: the middleware and the view without daphne, TLS or a socket), with
    the SQL statements each executes, so the HTTPS figure minus this one is daphne + TLS + the
    transfer; and where a list's time goes, step by step (the SQL alone, the SQL + JSON decode
    of the bodies in ``selectors.api_objects``, the same with the garbage collector off,
    building the Table, encoding the Table or the PodList, and a PodList joined from the
    stored JSON text as an alternative); with ``--profile``, a cProfile of the Table list and
    of the scale PATCH.

    No Celery worker or beat runs: nothing reconciles, the cluster's clock is paused, and the
    reconcile task every API write queues (``reconcile_cluster.delay`` on commit) just sits in
    Redis; the queue is purged at the end. The figures are the API path alone.

How the cluster is built
    With tick_cost.py's builder (``tick_cost.build``): the nodes and 100-pod Deployments (with
    ``replicas=0``) the natural way, then every pod and its Events computed by the real code
    paths into an in-memory collector and bulk-inserted, then the Deployments scaled to their
    pods and the cluster ticked until steady (see tick_cost.py's docstring). 1,000 pods take
    about 11 s on SQLite, 20 s on PostgreSQL, on this machine. A Deployment ``scale-me``
    (``replicas=1``) is added for the scale PATCH, so the 1,000-pod Deployments are never
    touched.

Running it
    .venv/bin/python bench/api_latency.py                         # SQLite + a private Redis
    .venv/bin/python bench/api_latency.py --pods 3000 --requests 50 --profile
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/k8sviz_bench \\
        REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/api_latency.py

The cluster ``bench-api`` is deleted at start and at the end (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import pstats
import random
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common

CLUSTER = "bench-api"
LABEL = "api"  # tick_cost.build names the cluster bench-<label>
SCALE_TARGET = "scale-me"
NODE = "node-1"
USER_AGENT = "kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07"
TABLE_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,"
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
)
JSON_ACCEPT = "application/json"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
PODS_PER_NODE = 75  # 8 CPUs / 100m requests = 80 pods; leave headroom under the 110 limit
KUBECTL = "/usr/bin/kubectl"


@dataclass
class Sample:
    """One request kind's timings (seconds) and response sizes (bytes)."""

    label: str
    request: str
    times: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)  # SQL statements (in-process runs only)


class ApiClient:
    """A persistent HTTPS connection to the API, as client-go keeps one per host."""

    def __init__(self, port: int, ca_file: Path, token: str) -> None:
        self.port = port
        self.context = ssl.create_default_context(cafile=str(ca_file))
        self.token = token
        self.reconnects = -1
        self.conn: http.client.HTTPSConnection | None = None

    def _connect(self) -> http.client.HTTPSConnection:
        self.reconnects += 1
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context)
        conn.connect()
        return conn

    def call(
        self,
        method: str,
        path: str,
        *,
        accept: str = JSON_ACCEPT,
        body: dict | None = None,
        content_type: str = "application/json",
        expect: tuple[int, ...] = (200,),
    ) -> tuple[float, int, bytes]:
        """(seconds from send to the last byte, response bytes, body)."""
        headers = {
            "Accept": accept,
            "User-Agent": USER_AGENT,
            "Authorization": f"Bearer {self.token}",
            "Accept-Encoding": "gzip",
        }
        payload = None
        if body is not None:
            payload = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = content_type
        if self.conn is None:
            self.conn = self._connect()
        start = time.perf_counter()
        try:
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed the idle keep-alive connection: reconnect and retry once,
            # timing the retry alone (client-go does the same and the handshake is not the API's).
            self.conn.close()
            self.conn = self._connect()
            start = time.perf_counter()
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        elapsed = time.perf_counter() - start
        if response.status not in expect:
            raise SystemExit(f"{method} {path}: HTTP {response.status}: {data[:400]!r}")
        return elapsed, len(data), data

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


# --- set-up -------------------------------------------------------------------------------------


def build_cluster(pods: int, seed: int):
    """tick_cost.py's bulk builder: nodes for ``pods`` pods, 100-pod Deployments, then
    ``scale-me`` and a paused clock. Returns the cluster and the build time."""
    import tick_cost  # noqa: PLC0415 - needs _common.setup() first

    from cluster import services  # noqa: PLC0415
    from cluster.models import Cluster  # noqa: PLC0415

    nodes = 1 + max(1, -(-pods // PODS_PER_NODE))
    build_args = argparse.Namespace(
        profile="kubernetes",
        stagger=min(10, nodes - 1),
        pods_per_deployment=100,
        node_cpu="8",
        node_memory="32Gi",
        warmup=0.0,
    )
    cluster, built = tick_cost.build(
        LABEL, nodes, pods, build_args, random.Random(seed), natural=False
    )
    services.deployment_create(
        cluster=cluster, name=SCALE_TARGET, image=tick_cost.IMAGE, replicas=1
    )
    services.cluster_clock_update(cluster=cluster, paused=True)
    return Cluster.objects.get(pk=cluster.pk), built, nodes


def start_daphne(env: dict[str, str], pki) -> tuple[subprocess.Popen, int]:
    """daphne on a plain port and the API's TLS port, as ``daphne_tls_server`` starts it."""
    from k8sviz import pki as pki_module  # noqa: PLC0415
    from k8sviz.embedded import free_port  # noqa: PLC0415
    from k8sviz.supervisor import wait_for_port  # noqa: PLC0415

    plain, tls = free_port(), free_port()
    log = open(_common.ROOT / "var" / "bench-daphne.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(plain),
            "-e",
            pki_module.daphne_endpoint(pki, host="127.0.0.1", port=tls),
            "k8sviz.asgi:application",
        ],
        env=env,
        cwd=_common.ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for port in (plain, tls):
        wait_for_port("127.0.0.1", port, timeout=60)
    return proc, tls


def purge_queued_tasks() -> int:
    """Drop the reconcile tasks the writes queued (no worker consumes them here)."""
    from k8sviz.celery import app  # noqa: PLC0415

    return app.control.purge()


# --- the requests -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One kubectl-shaped request."""

    method: str
    path: str
    accept: str = JSON_ACCEPT
    body: dict | None = None
    content_type: str = "application/json"
    expect: tuple[int, ...] = (200,)


@dataclass(frozen=True)
class Kind:
    """A kind of request: ``make(i)`` is its i-th instance (names and values alternate)."""

    label: str
    shape: str
    make: Callable[[int], Call]
    is_list: bool = False


def request_groups() -> list[list[Kind]]:
    """The request kinds, in groups measured together (a pod is created, then deleted, so
    the list never holds more than one extra pod)."""
    prefix = f"/clusters/{CLUSTER}"
    pods_url = f"{prefix}/api/v1/namespaces/default/pods"
    deploy_url = f"{prefix}/apis/apps/v1/namespaces/default/deployments/{SCALE_TARGET}"
    node_url = f"{prefix}/api/v1/nodes/{NODE}"

    def run_body(name: str) -> dict:
        return {  # what kubectl run NAME --image=nginx sends
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"name": name, "namespace": "default", "labels": {"run": name}},
            "spec": {
                "containers": [{"name": name, "image": "nginx", "resources": {}}],
                "restartPolicy": "Always",
                "dnsPolicy": "ClusterFirst",
            },
            "status": {},
        }

    return [
        [
            Kind(
                "get pods (Table)",
                "GET pods?limit=500, Table Accept",
                lambda i: Call("GET", f"{pods_url}?limit=500", accept=TABLE_ACCEPT),
                is_list=True,
            )
        ],
        [
            Kind(
                "get pods -o json",
                "GET pods?limit=500, application/json",
                lambda i: Call("GET", f"{pods_url}?limit=500"),
                is_list=True,
            )
        ],
        [
            Kind(
                "GET /version",
                "what the dispatcher sends first; 1 SQL (the token)",
                lambda i: Call("GET", f"{prefix}/version?timeout=5s"),
            )
        ],
        [
            Kind(
                "get deploy NAME",
                "GET one Deployment, Table Accept",
                lambda i: Call("GET", deploy_url, accept=TABLE_ACCEPT),
            )
        ],
        [
            Kind(
                "scale (PATCH /scale)",
                "merge-patch {spec:{replicas}}",
                lambda i: Call(
                    "PATCH",
                    f"{deploy_url}/scale?fieldManager=kubectl-scale",
                    body={"spec": {"replicas": 1 + i % 2}},
                    content_type=MERGE,
                ),
            )
        ],
        [
            Kind(
                "label node (PATCH)",
                "strategic-merge {metadata:{labels}}",
                lambda i: Call(
                    "PATCH",
                    f"{node_url}?fieldManager=kubectl-label",
                    body={"metadata": {"labels": {"bench": "ab"[i % 2]}}},
                    content_type=STRATEGIC,
                ),
            )
        ],
        [
            Kind(
                "run pod (POST)",
                "POST pods, kubectl run's body",
                lambda i: Call(
                    "POST",
                    f"{pods_url}?fieldManager=kubectl-run",
                    body=run_body(f"bench-run-{i}"),
                    expect=(201,),
                ),
            ),
            Kind(
                "delete pod (DELETE)",
                "DELETE pod, propagationPolicy Background",
                lambda i: Call(
                    "DELETE", f"{pods_url}/bench-run-{i}", body={"propagationPolicy": "Background"}
                ),
            ),
        ],
    ]


def kind_named(label: str) -> Kind:
    return next(k for group in request_groups() for k in group if k.label == label)


def measure_group(
    group: list[Kind],
    send: Callable[[Call], tuple[float, int, int]],
    *,
    n: int,
    warmup: int,
    first: int = 0,
) -> list[Sample]:
    """``warmup + n`` rounds of the group's requests through ``send``; the first ``warmup``
    rounds are not counted. ``first`` offsets the names (another run's pods may linger)."""
    samples = [Sample(kind.label, kind.shape) for kind in group]
    for i in range(warmup + n):
        for kind, sample in zip(group, samples, strict=True):
            seconds, size, queries = send(kind.make(first + i))
            if i >= warmup:
                sample.times.append(seconds)
                sample.sizes.append(size)
                sample.queries.append(queries)
    return samples


def http_samples(client: ApiClient, args: argparse.Namespace) -> tuple[list[Sample], dict]:
    """Every request kind over HTTPS; and what the list answered."""
    lists = kind_named("get pods (Table)").make(0)
    _, _, raw = client.call(lists.method, lists.path, accept=lists.accept)
    table = json.loads(raw)
    facts = {
        "rows": len(table["rows"]),
        "continue": table["metadata"].get("continue", ""),
        "kind": table.get("kind"),
    }

    def send(call: Call) -> tuple[float, int, int]:
        seconds, size, _ = client.call(
            call.method,
            call.path,
            accept=call.accept,
            body=call.body,
            content_type=call.content_type,
            expect=call.expect,
        )
        return seconds, size, 0

    samples: list[Sample] = []
    for group in request_groups():
        n = args.list_requests if group[0].is_list else args.requests
        for sample in measure_group(group, send, n=n, warmup=args.warmup):
            print(f"  {sample.label:<22} p50 {_common.fmt_ms(_common.pct(sample.times, 50)):>6} ms")
            samples.append(sample)
    return samples, facts


# --- where a list's time goes (in this process) -------------------------------------------------


def list_breakdown(cluster, repeats: int) -> dict[str, float]:
    """Median seconds of each step of the pod list view, run here without HTTP or TLS, and of
    two alternatives (the decode with the garbage collector off; a PodList joined from the
    stored JSON text, never decoded)."""
    import gc  # noqa: PLC0415

    from django.core.serializers.json import DjangoJSONEncoder  # noqa: PLC0415

    from cluster import selectors  # noqa: PLC0415
    from cluster.api import tables  # noqa: PLC0415
    from cluster.models import KubeObject  # noqa: PLC0415

    text_qs = (
        KubeObject.objects.filter(cluster=cluster, kind="Pod", namespace="default")
        .order_by("namespace", "name")
        .extra(select={"raw": "CAST(body AS text)"})
        .values_list("raw", flat=True)
    )

    def sql_text() -> list[str]:
        return list(text_qs.all())  # .all(): a fresh query, not the queryset's cached rows

    def api_objects() -> tuple[int, list[dict]]:
        return selectors.api_objects(cluster=cluster, kind="Pod", namespace="default")

    def api_objects_no_gc() -> None:
        gc.disable()
        try:
            api_objects()
        finally:
            gc.enable()

    rv, bodies = api_objects()
    table = tables.table(kind="Pod", bodies=bodies, now=cluster.sim_now, resource_version=str(rv))
    podlist = {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": bodies}
    texts = sql_text()

    def joined() -> bytes:
        return ('{"kind":"PodList","apiVersion":"v1","items":[' + ",".join(texts) + "]}").encode()

    steps: dict[str, Callable[[], object]] = {
        "SQL only (bodies as text)": sql_text,
        "api_objects (SQL + JSON decode)": api_objects,
        "  the same, GC off (alternative)": api_objects_no_gc,
        "Table build (cells, row metadata)": lambda: tables.table(
            kind="Pod", bodies=bodies, now=cluster.sim_now, resource_version=str(rv)
        ),
        "Table JSON encode": lambda: json.dumps(table, cls=DjangoJSONEncoder),
        "PodList JSON encode": lambda: json.dumps(podlist, cls=DjangoJSONEncoder),
        "  PodList joined from text (alt.)": joined,
    }
    medians = {}
    for name, step in steps.items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        medians[name] = statistics.median(times)
    return medians


class InProcess:
    """The same requests through Django's test client in this process: the view and the
    middleware without daphne, TLS or a socket; counts the SQL statements of each."""

    def __init__(self, token: str) -> None:
        from django.test import Client  # noqa: PLC0415

        self.client = Client(
            HTTP_HOST="127.0.0.1",
            HTTP_AUTHORIZATION=f"Bearer {token}",
            HTTP_USER_AGENT=USER_AGENT,
        )

    def send(self, call: Call) -> tuple[float, int, int]:
        from django.db import connection  # noqa: PLC0415

        count = 0

        def counter(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        data = json.dumps(call.body).encode() if call.body is not None else b""
        start = time.perf_counter()
        with connection.execute_wrapper(counter):
            response = self.client.generic(
                call.method,
                call.path,
                data=data,
                content_type=call.content_type,
                HTTP_ACCEPT=call.accept,
            )
        elapsed = time.perf_counter() - start
        if response.status_code not in call.expect:
            raise SystemExit(f"in-process {call.method} {call.path}: {response.status_code}")
        return elapsed, len(response.content), count


def in_process_samples(token: str, n: int) -> list[Sample]:
    sender = InProcess(token)
    samples: list[Sample] = []
    for group in request_groups():
        # names offset: the HTTPS run's pods are gone, but keep the two runs apart anyway
        samples += measure_group(group, sender.send, n=n, warmup=2, first=100_000)
    return samples


def profile_requests(token: str, repeats: int, top: int) -> str:
    """cProfile, through Django's test client (no daphne, no TLS), of the Table list (by own
    time) and of the scale PATCH (by cumulative time, the project's frames and the broker's)."""
    sender = InProcess(token)
    out = io.StringIO()
    for kind, order, restrict in (
        (kind_named("get pods (Table)"), "tottime", ()),
        (
            kind_named("scale (PATCH /scale)"),
            "cumulative",
            (r"cluster/|channels_redis|celery/app|kombu",),
        ),
    ):
        sender.send(kind.make(0))
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(repeats):
            sender.send(kind.make(i))
        profiler.disable()
        out.write(f"\n--- {kind.label}, {repeats} requests, by {order} ---\n")
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(order).print_stats(*restrict, top)
    return out.getvalue()


# --- real kubectl -------------------------------------------------------------------------------


def kubectl_runs(kubeconfig: Path, cache_dir: Path, runs: int) -> list[tuple[str, list[float]]]:
    base = [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache_dir)]
    commands = [
        ("kubectl version --client", ["version", "--client"]),
        ("kubectl get pods", ["get", "pods"]),
        ("kubectl get pods -o json", ["get", "pods", "-o", "json"]),
        ("kubectl scale deploy", ["scale", "deployment", SCALE_TARGET, "--replicas={n}"]),
        ("kubectl label node", ["label", "node", NODE, "bench={v}", "--overwrite"]),
    ]
    results = []
    for label, argv in commands:
        times = []
        for i in range(runs + 1):  # the first run fills the discovery cache
            concrete = [a.format(n=1 + i % 2, v="ab"[i % 2]) for a in argv]
            start = time.perf_counter()
            done = subprocess.run(
                [*base, *concrete], capture_output=True, text=True, check=False, timeout=120
            )
            elapsed = time.perf_counter() - start
            if done.returncode != 0:
                raise SystemExit(f"{label}: {done.stderr.strip()[:400]}")
            if i > 0:
                times.append(elapsed)
        results.append((label, times))
        print(f"  {label:<26} median {statistics.median(times):.2f} s", flush=True)
    return results


# --- reporting ----------------------------------------------------------------------------------


def report(
    samples: list[Sample],
    *,
    local: list[Sample],
    facts: dict,
    breakdown: dict[str, float],
    kubectl: list[tuple[str, list[float]]],
    args: argparse.Namespace,
    reconnects: int,
) -> None:
    ms = _common.fmt_ms
    pct = _common.pct
    by_label = {s.label: s for s in local}
    print()
    print(
        f"== API latency over HTTPS (one keep-alive connection), {args.pods} pods in one "
        f"namespace; {args.list_requests} list / {args.requests} other requests each; "
        f"in-process: the same view via Django's test client, {args.in_process} each =="
    )
    print(
        f"{'request':<24}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'max ms':>8}{'mean ms':>9}"
        f"{'bytes':>11}{'in-proc p50':>13}{'SQL':>5}   shape"
    )
    for s in samples:
        mine = by_label.get(s.label)
        local_p50 = ms(pct(mine.times, 50)) if mine else "-"
        queries = str(int(statistics.median(mine.queries))) if mine else "-"
        print(
            f"{s.label:<24}{ms(pct(s.times, 50)):>8}{ms(pct(s.times, 95)):>8}"
            f"{ms(pct(s.times, 99)):>8}{ms(max(s.times)):>8}{ms(statistics.fmean(s.times)):>9}"
            f"{int(statistics.median(s.sizes)):>11,}{local_p50:>13}{queries:>5}   {s.request}"
        )
    paged = "paged: a continue token follows" if facts["continue"] else "everything in one page"
    print(
        f"  limit=500 answered {facts['rows']} rows in one {facts['kind']} ({paged}); "
        f"{reconnects} reconnect(s) during the run"
    )
    print()
    print("where a list's time goes (this process, no HTTP/TLS; median of each step):")
    for step, seconds in breakdown.items():
        print(f"  {step:<36}{ms(seconds):>8} ms")
    if kubectl:
        print()
        print(
            "real kubectl (/usr/bin/kubectl: dispatcher GET /version, then kubectl 1.32), "
            "process wall time, warm discovery cache:"
        )
        for label, times in kubectl:
            print(
                f"  {label:<28} median {statistics.median(times):.2f} s   "
                f"min {min(times):.2f}   max {max(times):.2f}   ({len(times)} runs)"
            )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="See the module docstring for exactly what is measured.",
    )
    parser.add_argument("--pods", type=int, default=1000, help="pods in namespace default")
    parser.add_argument(
        "--requests", type=int, default=100, help="timed HTTPS requests per get/write kind"
    )
    parser.add_argument(
        "--list-requests",
        type=int,
        default=None,
        help="timed HTTPS requests per list kind (default: half of --requests)",
    )
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per kind")
    parser.add_argument(
        "--in-process",
        type=int,
        default=20,
        help="requests per kind through Django's test client, for SQL counts and the HTTP share",
    )
    parser.add_argument(
        "--kubectl", type=int, default=3, help="runs per real-kubectl command (0: skip)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also print a cProfile of the Table list and of the scale PATCH",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the bench-api cluster")
    args = parser.parse_args()
    if args.list_requests is None:
        args.list_requests = max(1, args.requests // 2)
    return args


def kubectl_with_config(port: int, token: str, pki, runs: int) -> list[tuple[str, list[float]]]:
    """:func:`kubectl_runs` with a kubeconfig (as ``manage.py kubeconfig`` writes it) and a
    discovery cache in a temporary directory."""
    from cluster.kubeconfig import kubeconfig_text  # noqa: PLC0415

    if runs <= 0 or not shutil.which(KUBECTL):
        return []
    print("real kubectl:", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-kubectl-") as tmp:
        kubeconfig = Path(tmp) / "config"
        kubeconfig.write_text(
            kubeconfig_text(
                cluster=CLUSTER,
                user="bench",
                token=token,
                server=f"https://127.0.0.1:{port}/clusters/{CLUSTER}",
                ca_pem=pki.ca_pem(),
            )
        )
        os.chmod(kubeconfig, 0o600)
        return kubectl_runs(kubeconfig, Path(tmp) / "cache", runs)


def main() -> None:
    args = parse_args()
    env = _common.setup()
    from cluster import services  # noqa: PLC0415
    from cluster.models import Cluster  # noqa: PLC0415
    from k8sviz import pki as pki_module  # noqa: PLC0415

    total = time.perf_counter()
    Cluster.objects.filter(name=CLUSTER).delete()
    pki = pki_module.ensure(_common.ROOT / "var" / "bench-api")
    print(f"building {args.pods} pods ...", flush=True)
    cluster, built, nodes = build_cluster(args.pods, args.seed)
    print(f"  built in {built:.0f}s ({nodes} nodes incl. the control plane)", flush=True)
    token = services.api_token_issue(cluster=cluster, user="bench")
    daphne, port = start_daphne(env, pki)
    client = ApiClient(port, pki.ca_cert, token)
    local: list[Sample] = []
    profile_text = ""
    purged = 0
    try:
        print(f"daphne with TLS on port {port}; HTTPS requests:", flush=True)
        samples, facts = http_samples(client, args)
        client.close()
        kubectl = kubectl_with_config(port, token, pki, args.kubectl)
    finally:
        client.close()
        daphne.terminate()
        daphne.wait(10)
    try:
        print("in process (Django test client) and the list's steps ...", flush=True)
        if args.in_process > 0:
            local = in_process_samples(token, args.in_process)
        breakdown = list_breakdown(cluster, repeats=7)
        if args.profile:
            profile_text = profile_requests(token, repeats=10, top=25)
    finally:
        purged = purge_queued_tasks()
        if not args.keep:
            Cluster.objects.filter(name=CLUSTER).delete()
        _common.stop_redis()
    report(
        samples,
        local=local,
        facts=facts,
        breakdown=breakdown,
        kubectl=kubectl,
        args=args,
        reconnects=client.reconnects,
    )
    if profile_text:
        print()
        print("cProfile (Django test client):")
        print(profile_text)
    print(
        f"\n({purged} queued reconcile tasks purged; total run time "
        f"{time.perf_counter() - total:.0f}s)"
    )


if __name__ == "__main__":
    main()
