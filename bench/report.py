"""The summary table and the latency-vs-load plot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

LIMIT_MS = 100.0


def capacity(steps: Sequence[dict[str, Any]]) -> tuple[int, bool]:
    """The most simultaneous calls with p99 under the limit, and whether the limit was reached
    (if not, the true capacity is higher than the largest step tried)."""
    within = [s["callers"] for s in steps if s["latency_ms"]["p99"] < LIMIT_MS]
    reached = any(s["latency_ms"]["p99"] >= LIMIT_MS for s in steps)
    return (max(within) if within else 0), reached


def table(rows: Sequence[tuple[str, str]]) -> str:
    width = max(len(label) for label, _ in rows)
    rule = "-" * (width + 2 + max(len(value) for _, value in rows))
    body = [f"{label:<{width}}  {value}" for label, value in rows]
    return "\n".join([rule, *body, rule])


def step_lines(steps: Sequence[dict[str, Any]]) -> list[str]:
    lines = [f"{'calls':>7} {'webhooks':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"]
    for step in steps:
        latency = step["latency_ms"]
        lines.append(
            f"{step['callers']:>7} {latency['count']:>9} {latency['p50']:>8.1f} "
            f"{latency['p95']:>8.1f} {latency['p99']:>8.1f}"
        )
    return lines


def plot(steps: Sequence[dict[str, Any]], path: Path, title: str) -> Path:
    """Write p50/p95/p99 webhook latency against simultaneous calls as a PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        raise SystemExit(
            "The plot needs matplotlib: pip install -e '.[bench]' (or pip install matplotlib)."
        ) from None
    calls = [step["callers"] for step in steps]
    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    for q in ("p50", "p95", "p99"):
        axes.plot(calls, [step["latency_ms"][q] for step in steps], marker="o", label=q)
    axes.axhline(LIMIT_MS, color="grey", linestyle="--", label=f"{LIMIT_MS:.0f} ms")
    axes.set(xlabel="simultaneous calls", ylabel="webhook latency (ms)", title=title)
    axes.legend()
    axes.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    pyplot.close(figure)
    return path
