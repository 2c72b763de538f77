"""The Kitdesk benchmark: ``bench/run`` (see bench/README.md).

Creates its own PostgreSQL database, seeds it, captures the SQL each kind of request sends,
drives the service with wrk and the captured SQL with pgbench at each concurrency, samples the
workers' memory over a long mixed run, writes the report and chart, and drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import chart, procstat, report
from bench.capture import capture
from bench.database import DEFAULT_DATABASE, DEFAULT_SERVER_URL, BenchDatabase
from bench.measure import Plan, measure_all
from bench.scripts import write_scripts
from bench.seed import FULL, SMOKE, seed
from bench.server import kitdesk_server
from bench.soak import soak

RESULTS = Path(__file__).resolve().parent / "results"
WORKERS = 2
SOAK_CONNECTIONS = 4


@dataclass(frozen=True)
class Options:
    smoke: bool
    points: list[int]
    duration: int
    warmup: int
    soak_seconds: int
    server_url: str
    database: str
    results: Path
    shared_socket: bool = False


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny data, 1 connection, 2 s points")
    parser.add_argument("--points", help="connections per point, e.g. 1,4,16 (default)")
    parser.add_argument("--duration", type=int, help="seconds per point (default 20; smoke 2)")
    parser.add_argument("--warmup", type=int, help="warm-up seconds per point (default 5; smoke 0)")
    parser.add_argument(
        "--soak-seconds", type=int, help="memory-flatness run (default 300; smoke 2; 0: none)"
    )
    parser.add_argument("--server-url", default=DEFAULT_SERVER_URL, help="PostgreSQL to use")
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="database to create")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where reports go")
    parser.add_argument(
        "--shared-socket",
        action="store_true",
        help="serve with one listening socket shared by the workers (to compare with the default)",
    )
    a = parser.parse_args(argv)
    points = a.points or ("1" if a.smoke else "1,4,16")
    return Options(
        smoke=a.smoke,
        points=[int(p) for p in points.split(",")],
        duration=a.duration or (2 if a.smoke else 20),
        warmup=a.warmup if a.warmup is not None else (0 if a.smoke else 5),
        soak_seconds=a.soak_seconds if a.soak_seconds is not None else (2 if a.smoke else 300),
        server_url=a.server_url,
        database=a.database,
        results=a.results,
        shared_socket=a.shared_socket,
    )


def run(options: Options) -> Path:
    """The whole benchmark; returns the report's path."""
    for tool in ("wrk", "pgbench"):
        if shutil.which(tool) is None:
            raise SystemExit(f"bench: {tool} is not installed (bench/run installs wrk)")
    db = BenchDatabase(options.server_url, options.database)
    db.create()
    try:
        with tempfile.TemporaryDirectory(prefix="kitdesk-bench-") as folder:
            return _run_on(db, options, Path(folder))
    finally:
        db.drop()


def _run_on(db: BenchDatabase, options: Options, work: Path) -> Path:
    say(f"seeding {db.name}")
    data = asyncio.run(seed(db.url, SMOKE if options.smoke else FULL))
    say("capturing the statements of each request")
    captured = capture(db.url, data, work)
    scripts = write_scripts(captured, data, work / "scripts")
    plan = Plan(points=options.points, duration=options.duration, warmup=options.warmup)
    serving = kitdesk_server(
        db.url, work / "server.log", workers=WORKERS, shared_socket=options.shared_socket
    )
    with serving as server:
        points = measure_all(server, db, data, captured, scripts, plan, work)
        peaks = {pid: procstat.memory_kib(pid, "VmHWM") for pid in server.workers}
        flat = None
        if options.soak_seconds > 0:
            say(f"memory flatness: {options.soak_seconds} s of mixed traffic")
            connections = min(SOAK_CONNECTIONS, max(options.points))
            flat = soak(server, data, seconds=options.soak_seconds, connections=connections)
    machine = report.Machine.here(db.server_version())
    setup = report.describe(data, WORKERS, options.duration, options.warmup)
    if options.shared_socket:
        setup += "; workers sharing one listening socket (--shared-socket)"
    path = report.write(
        options.results, report.render(points, peaks, flat, machine, setup), machine
    )
    chart.draw(points, path.with_suffix(".png"), f"Kitdesk {machine.commit}: {setup}")
    print(path.read_text(encoding="utf-8"))
    say(f"report: {path} (chart: {path.with_suffix('.png')})")
    return path


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    run(parse(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
