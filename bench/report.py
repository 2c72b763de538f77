"""The benchmark's report: one Markdown file per run with the table, the run's setup and the
machine it ran on."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import targets
from bench.measure import Point
from bench.seed import WEBHOOK_TYPES, DataSet
from bench.soak import Soak

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = [
    "endpoint",
    "conns",
    "per worker",
    "req/s",
    "p50 ms",
    "p99 ms",
    "errors",
    "SQL/req",
    "tx/req",
    "API CPU s/1k req",
    "ceiling req/s",
    "ceiling p50 ms",
    "ceiling p99 ms",
    "service ÷ ceiling",
]


@dataclass(frozen=True)
class Machine:
    """Where the numbers come from."""

    commit: str
    cpus: int
    cpu_model: str
    memory: str
    postgres: str
    python: str
    load: str  # the load average when the report was written: other work skews the numbers

    @staticmethod
    def here(postgres: str) -> Machine:
        return Machine(
            commit=_commit(),
            cpus=os.cpu_count() or 0,
            cpu_model=_proc_field("/proc/cpuinfo", "model name") or platform.processor(),
            memory=_proc_field("/proc/meminfo", "MemTotal"),
            postgres=postgres,
            python=platform.python_version(),
            load=" ".join(f"{v:.1f}" for v in os.getloadavg()),
        )


def _commit() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def _proc_field(path: str, name: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(name):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def row(point: Point) -> list[str]:
    s, c = point.service, point.ceiling
    return [
        point.endpoint,
        str(point.connections),
        "/".join(map(str, point.split)) or "-",
        f"{s.rate:.1f}",
        f"{s.p50_ms:.2f}",
        f"{s.p99_ms:.2f}",
        str(s.errors + c.errors),
        f"{point.statements:g}",
        f"{point.transactions:g}",
        f"{point.cpu_per_1k:.2f}",
        f"{c.rate:.1f}",
        f"{c.p50_ms:.2f}",
        f"{c.p99_ms:.2f}",
        f"{point.ratio:.2f}",
    ]


def table(points: list[Point]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row(p)) + " |" for p in points]
    return "\n".join(lines)


def read_table(path: Path) -> list[dict[str, str]]:
    """The rows of a report's results table, by column name."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == len(COLUMNS) and cells[0] != COLUMNS[0]:
            rows.append(dict(zip(COLUMNS, cells, strict=True)))
    return rows


def memory_lines(peaks: dict[int, int], soak: Soak | None) -> list[str]:
    lines = ["## Memory", ""]
    lines += [
        f"- worker {pid}: peak RSS (VmHWM) {kib / 1024:.1f} MiB" for pid, kib in peaks.items()
    ]
    if soak is None or soak.traffic is None:
        return [*lines, "", "No memory-flatness run (`--soak-seconds 0`)."]
    t = soak.traffic
    lines += [
        "",
        f"Flatness: {soak.seconds} s of mixed traffic (POST, fetch, fetch, list page) at "
        f"{soak.connections} connections, {t.requests} requests ({t.rate:.1f}/s, "
        f"{t.errors} errors); RSS sampled every second.",
        "",
        "| worker | start MiB | end MiB | peak MiB | growth MiB |",
        "|---|---|---|---|---|",
    ]
    for pid in soak.rss:
        start, end, peak = (v / 1024 for v in soak.summary(pid))
        lines.append(f"| {pid} | {start:.1f} | {end:.1f} | {peak:.1f} | {end - start:+.1f} |")
    return lines


def render(
    points: list[Point], peaks: dict[int, int], soak: Soak | None, machine: Machine, setup: str
) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = [
        f"# Kitdesk benchmark, {stamp}",
        "",
        f"- commit: {machine.commit}",
        f"- machine: {machine.cpus} CPUs ({machine.cpu_model}), {machine.memory} memory",
        f"- PostgreSQL {machine.postgres}, Python {machine.python}",
        f"- load average at the end of the run (1, 5, 15 min): {machine.load}",
        f"- {setup}",
        "",
        "## Throughput and latency",
        "",
        table(points),
        "",
        *targets.lines(points),
    ]
    return "\n".join(header + memory_lines(peaks, soak)) + "\n"


def describe(data: DataSet, workers: int, duration: int, warmup: int) -> str:
    shape = data.shape
    return (
        f"data: {shape.patients} patients over {shape.sites} sites, {shape.orders} orders; "
        f"the customer subscribes to {' and '.join(WEBHOOK_TYPES)} (every new order queues "
        f"both events); {workers} API worker processes; "
        f"{duration} s per point after a {warmup} s warm-up"
    )


def write(results: Path, text: str, machine: Machine) -> Path:
    """The report as ``results/<time>-<commit>.md``."""
    results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = results / f"{stamp}-{machine.commit}.md"
    path.write_text(text, encoding="utf-8")
    return path
