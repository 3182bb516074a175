"""Latency summaries, computed where the samples are taken so only numbers cross processes."""

from __future__ import annotations

import math
from collections.abc import Sequence

PERCENTILES = (50, 95, 99)


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted samples (0 when there are none)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(samples: Sequence[float]) -> dict[str, float]:
    """Count, mean and p50/p95/p99 of latencies in milliseconds."""
    ordered = sorted(samples)
    mean = sum(ordered) / len(ordered) if ordered else 0.0
    return {
        "count": len(ordered),
        "mean": mean,
        **{f"p{q}": percentile(ordered, q) for q in PERCENTILES},
    }
