"""Push latency: from a service write in one process to the delta arriving in WebSocket clients.

What it measures
    A real daphne serving ``k8sviz.asgi`` (started here, on the bench database and Redis) and
    ``--clients`` WebSocket clients connected to one cluster. This process then makes
    ``--writes`` user actions through the services layer (``node_cordon`` / ``node_uncordon`` on
    a worker, alternately: one Node update, one delta each), ``--gap`` seconds apart. For every
    write, latency = the moment a client receives the delta carrying that write's
    resourceVersion minus the moment just before the service call began (so it includes the
    transaction, the commit, the on-commit publish to Redis, the channel layer's fan-out, the
    consumer's ordering check and the WebSocket frame). Printed: p50 / p95 / p99 / max over all
    (write, client) pairs, the same per client and the spread between the first and the last
    client to receive each write (fan-out), and how many deltas were missed (must be 0).

    The beat and the worker are not running: a write also queues a reconcile task, which nothing
    consumes here, so the figures are the push path alone. The clients run in one asyncio loop
    in a second thread of this process, which is what makes one clock usable for both ends.

Running it
    .venv/bin/python bench/push_latency.py                        # SQLite + a private Redis
    .venv/bin/python bench/push_latency.py --clients 100 --writes 100
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/k8sviz_bench REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/push_latency.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common

CLUSTER = "bench-push"


class Clients:
    """``n`` WebSocket clients in an asyncio loop on a thread; records (rv, arrival) per client."""

    def __init__(self, url: str, n: int) -> None:
        self.url = url
        self.n = n
        self.arrivals: list[dict[int, float]] = [{} for _ in range(n)]
        self.snapshot_rv: list[int] = [0] * n
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _client(self, i: int, connected: asyncio.Barrier) -> None:
        import websockets  # noqa: PLC0415

        origin = self.url.replace("ws://", "http://").split("/ws/")[0]
        async with websockets.connect(
            self.url, origin=origin, open_timeout=30, max_size=None
        ) as ws:
            snap = json.loads(await ws.recv())
            self.snapshot_rv[i] = snap["rv"]
            await connected.wait()
            seen = self.arrivals[i]
            while not self.stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.2)
                except TimeoutError:
                    continue
                now = time.perf_counter()
                message = json.loads(raw)
                if message.get("type") == "delta":
                    seen.setdefault(message["rv"], now)

    async def _main(self) -> None:
        connected = asyncio.Barrier(self.n + 1)
        tasks = [asyncio.create_task(self._client(i, connected)) for i in range(self.n)]

        async def release() -> None:
            await connected.wait()
            self.ready.set()

        waiter = asyncio.create_task(release())
        done, _ = await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if task.exception() is not None:
                self.errors.append(repr(task.exception()))
                self.ready.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    def start(self) -> None:
        self.thread.start()
        if not self.ready.wait(60) or self.errors:
            raise SystemExit(f"clients did not connect: {self.errors or 'timeout'}")

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(10)


def start_daphne(env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    from k8sviz.embedded import free_port  # noqa: PLC0415
    from k8sviz.supervisor import wait_for_port  # noqa: PLC0415

    port = free_port()
    log = open(_common.ROOT / "var" / "bench-daphne.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "k8sviz.asgi:application",
        ],
        env=env,
        cwd=_common.ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_for_port("127.0.0.1", port, timeout=60)
    return proc, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.02, help="seconds between writes")
    parser.add_argument("--warmup", type=int, default=10, help="writes not counted")
    args = parser.parse_args()

    env = _common.setup()
    from cluster import services  # noqa: PLC0415
    from cluster.models import Cluster  # noqa: PLC0415

    Cluster.objects.filter(name=CLUSTER).delete()
    cluster = services.demo_cluster_ensure(name=CLUSTER, settle=True)
    services.cluster_clock_update(cluster=cluster, paused=True)  # nothing else writes
    daphne, port = start_daphne(env)
    try:
        clients = Clients(f"ws://127.0.0.1:{port}/ws/clusters/{CLUSTER}/", args.clients)
        clients.start()
        print(f"{args.clients} clients connected to daphne on port {port}", flush=True)
        sent: list[tuple[int, float]] = []
        for i in range(args.warmup + args.writes):
            t0 = time.perf_counter()
            action = services.node_cordon if i % 2 == 0 else services.node_uncordon
            node = action(cluster=cluster, name="node-1")
            if i >= args.warmup:
                sent.append((int(node.body["metadata"]["resourceVersion"]), t0))
            time.sleep(args.gap)
        deadline = time.monotonic() + 10
        last_rv = sent[-1][0]
        while time.monotonic() < deadline and not all(last_rv in a for a in clients.arrivals):
            time.sleep(0.05)
        clients.finish()
    finally:
        daphne.terminate()
        daphne.wait(10)
        Cluster.objects.filter(name=CLUSTER).delete()
        _common.stop_redis()
    report(sent, clients, args)


def report(sent: list[tuple[int, float]], clients: Clients, args: argparse.Namespace) -> None:
    ms = _common.fmt_ms
    pct = _common.pct
    everything: list[float] = []
    missed = 0
    spreads: list[float] = []
    per_client_p50: list[float] = []
    for arrivals in clients.arrivals:
        mine = []
        for rv, t0 in sent:
            if rv in arrivals:
                mine.append(arrivals[rv] - t0)
            else:
                missed += 1
        everything.extend(mine)
        if mine:
            per_client_p50.append(pct(mine, 50))
    for rv, _t0 in sent:
        got = [a[rv] for a in clients.arrivals if rv in a]
        if len(got) > 1:
            spreads.append(max(got) - min(got))
    print()
    print(
        f"== push latency: service write -> WebSocket delta, {args.writes} writes "
        f"x {args.clients} clients ({args.gap * 1000:.0f} ms apart) =="
    )
    print(
        f"  all pairs   p50 {ms(pct(everything, 50))} ms   p95 {ms(pct(everything, 95))} ms   "
        f"p99 {ms(pct(everything, 99))} ms   max {ms(max(everything))} ms   "
        f"mean {ms(statistics.fmean(everything))} ms"
    )
    print(f"  per client  p50 from {ms(min(per_client_p50))} to {ms(max(per_client_p50))} ms")
    print(
        f"  fan-out     first-to-last client spread p50 {ms(pct(spreads, 50))} ms   "
        f"p95 {ms(pct(spreads, 95))} ms"
    )
    print(f"  missed      {missed} of {len(sent) * args.clients} deliveries")
    print(
        f"  target      every browser within 1 s of the change: p99 is "
        f"{pct(everything, 99) / 1.0:.1%} of that budget"
    )


if __name__ == "__main__":
    main()
