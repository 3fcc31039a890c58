"""Latency statistics shared by the benchmarks and the tests that run their harnesses."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def percentiles(samples_s: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean of latencies, in milliseconds."""
    ordered = sorted(samples_s)

    def at(q: float) -> float:
        return 1000.0 * ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]

    return {
        "p50_ms": at(0.50),
        "p95_ms": at(0.95),
        "p99_ms": at(0.99),
        "mean_ms": 1000.0 * statistics.fmean(ordered),
        "n": len(ordered),
    }
