"""The seam between simulated traffic and simulated resource usage (issue 5).

Two parts of the simulator meet here and nowhere else:

- the traffic side (kube-proxy, the per-Service traffic generator) knows how many requests per
  second each pod is *receiving*;
- the usage side (the metrics pipeline that ``kubectl top`` and the HorizontalPodAutoscaler read,
  as metrics-server serves them) turns that load into CPU and memory.

``pod_request_rates`` is the one question the usage side asks the traffic side. The constants are
the one cost model both sides share, so a chart of request rates and a chart of CPU agree.
"""

from __future__ import annotations

from cluster.models import Cluster

#: CPU a simulated application burns per request per second it serves (millicores).
#: 100 requests/s on one pod => 200m of CPU above its idle usage.
CPU_MILLIS_PER_RPS = 2.0
#: Memory a simulated application holds per request per second in flight (bytes).
MEMORY_BYTES_PER_RPS = 256 * 1024


def pod_request_rates(*, cluster: Cluster, namespace: str) -> dict[str, float]:
    """Requests per second each pod of ``namespace`` served over the latest traffic window, by
    pod name; pods receiving nothing may be absent (idle). Reads the newest traffic sample
    (one row): only requests a pod answered count, not timeouts behind a stale rule."""
    from cluster import traffic_selectors  # noqa: PLC0415 - the selectors import this module

    sample = traffic_selectors.latest_sample(cluster=cluster) or {}
    prefix = f"{namespace}/"
    return {
        key[len(prefix) :]: float(entry.get("rps", 0.0))
        for key, entry in (sample.get("pods") or {}).items()
        if key.startswith(prefix)
    }
