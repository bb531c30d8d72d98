"""Pure helpers over Kubernetes JSON that kubectl-facing output depends on."""

from __future__ import annotations

import pytest

from cluster import k8s

M, H, D = 60, 3600, 86400


@pytest.mark.parametrize(
    ("seconds", "printed"),
    [
        (-5, "0s"),
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (5 * M + 3, "5m3s"),
        (42 * M + 59, "42m"),
        (3 * H, "3h"),
        (3 * H + 12 * M, "3h12m"),
        (20 * H + 59 * M, "20h"),
        (47 * H, "47h"),
        (3 * D, "3d"),
        (3 * D + 4 * H, "3d4h"),
        (7 * D + 23 * H, "7d23h"),
        (8 * D, "8d"),
        (40 * D + 5 * H, "40d"),
        (2 * 365 * D + 10 * D, "2y10d"),
        (3 * 365 * D, "3y"),
        (9 * 365 * D + 100 * D, "9y"),
    ],
)
def test_human_duration_matches_kubectl(seconds: float, printed: str) -> None:
    """apimachinery's duration.HumanDuration, which kubectl prints in AGE and LAST SEEN."""
    assert k8s.human_duration(seconds) == printed
