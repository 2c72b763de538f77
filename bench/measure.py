"""One measured point: an endpoint at a concurrency, on the service and on its replayed SQL."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench import procstat
from bench.capture import Capture, Captured
from bench.database import BenchDatabase
from bench.loadgen import Sample, pgbench, wrk
from bench.seed import DataSet
from bench.server import Server, check_workers
from bench.traffic import Endpoint, endpoints


@dataclass(frozen=True)
class Point:
    """Everything the report prints for one endpoint and concurrency."""

    endpoint: str
    connections: int
    service: Sample
    ceiling: Sample
    statements: float  # SQL statements per request
    transactions: float  # database transactions per request
    cpu_per_1k: float  # CPU seconds of the API workers per 1,000 requests
    # The load generator's connections held by each API worker, busiest first, counted once the
    # run is under way. wrk keeps its connections open, so a split such as 11/5 lasts the whole
    # point and the busier worker's queue sets the p99.
    split: tuple[int, ...] = ()

    @property
    def ratio(self) -> float:
        return self.service.rate / self.ceiling.rate if self.ceiling.rate else 0.0


@dataclass(frozen=True)
class Plan:
    points: list[int]
    duration: int
    warmup: int


def captured_for(endpoint: Endpoint, capture: Capture) -> list[Captured]:
    if endpoint.mode == "post":
        return [capture.post]
    if endpoint.mode == "fetch":
        return [capture.fetch]
    return [capture.deep] if endpoint.low == endpoint.high else capture.pages


def script_kind(endpoint: Endpoint) -> str:
    if endpoint.mode == "list" and endpoint.low == endpoint.high:
        return "deep"
    return endpoint.mode


def measure_all(
    server: Server,
    db: BenchDatabase,
    data: DataSet,
    capture: Capture,
    scripts: dict[str, list[Path]],
    plan: Plan,
    work: Path,
) -> list[Point]:
    """Every endpoint at every concurrency, each after a warm-up at the same concurrency."""
    results = []
    for endpoint in endpoints(data):
        requests = captured_for(endpoint, capture)
        statements = sum(r.statements for r in requests) / len(requests)
        transactions = sum(r.transactions for r in requests) / len(requests)
        for connections in plan.points:
            service, cpu, split = _service(server, endpoint, data, connections, plan)
            ceiling = _ceiling(db, scripts[script_kind(endpoint)], connections, plan, work)
            point = Point(
                endpoint.name, connections, service, ceiling, statements, transactions, cpu, split
            )
            print(
                f"bench: {endpoint.name} c={connections}: {service.rate:.0f} req/s, "
                f"ceiling {ceiling.rate:.0f}/s, ratio {point.ratio:.2f}, "
                f"connections per worker {'/'.join(map(str, split))}",
                file=sys.stderr,
                flush=True,
            )
            results.append(point)
    return results


def _service(
    server: Server, endpoint: Endpoint, data: DataSet, connections: int, plan: Plan
) -> tuple[Sample, float, tuple[int, ...]]:
    if plan.warmup:
        wrk(server.base_url, endpoint, data, connections=connections, seconds=plan.warmup)
    port = urlsplit(server.base_url).port
    assert port is not None
    counted: list[dict[int, int]] = []
    # Counted a moment into the run (wrk opens its connections at its start), never after it.
    counter = threading.Timer(
        min(1.0, plan.duration / 2),
        lambda: counted.append(procstat.established(server.workers, port)),
    )
    before = sum(procstat.cpu_seconds(pid) for pid in server.workers)
    counter.start()
    try:
        sample = wrk(
            server.base_url, endpoint, data, connections=connections, seconds=plan.duration
        )
    finally:
        counter.cancel()
        counter.join()
    check_workers(server)
    used = sum(procstat.cpu_seconds(pid) for pid in server.workers) - before
    split = tuple(sorted(counted[0].values(), reverse=True)) if counted else ()
    return sample, (used / sample.requests * 1000 if sample.requests else 0.0), split


def _ceiling(
    db: BenchDatabase, scripts: list[Path], connections: int, plan: Plan, work: Path
) -> Sample:
    logs = work / "pgbench-logs"
    if plan.warmup:
        pgbench(db, scripts, connections=connections, seconds=plan.warmup, logs=logs)
    return pgbench(db, scripts, connections=connections, seconds=plan.duration, logs=logs)
