"""The report's chart: throughput and latency against concurrency, one column per endpoint."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from bench.measure import Point


def draw(points: list[Point], path: Path, title: str) -> Path:
    """Write the PNG and return its path."""
    names = list(dict.fromkeys(p.endpoint for p in points))
    fig, axes = plt.subplots(2, len(names), figsize=(4.5 * len(names), 7), squeeze=False)
    for column, name in enumerate(names):
        mine = sorted((p for p in points if p.endpoint == name), key=lambda p: p.connections)
        conns = [p.connections for p in mine]
        top, bottom = axes[0][column], axes[1][column]
        top.plot(conns, [p.service.rate for p in mine], "o-", label="service")
        top.plot(conns, [p.ceiling.rate for p in mine], "s--", label="ceiling (pgbench)")
        top.set_title(name, fontsize=9)
        top.set_ylabel("requests/s")
        bottom.plot(conns, [p.service.p50_ms for p in mine], "o-", label="service p50")
        bottom.plot(conns, [p.service.p99_ms for p in mine], "o:", label="service p99")
        bottom.plot(conns, [p.ceiling.p50_ms for p in mine], "s--", label="ceiling p50")
        bottom.plot(conns, [p.ceiling.p99_ms for p in mine], "s-.", label="ceiling p99")
        bottom.set_ylabel("latency ms")
        for axis in (top, bottom):
            if len(set(conns)) > 1:
                axis.set_xscale("log", base=2)
            else:
                axis.set_xlim(conns[0] - 1, conns[0] + 1)
            axis.set_xticks(conns, [str(c) for c in conns])
            axis.set_xlabel("connections")
            axis.set_ylim(bottom=0)
            axis.grid(alpha=0.3)
            axis.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
