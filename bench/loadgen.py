"""The two load generators: wrk against the service, pgbench replaying its SQL (the ceiling).

Both are closed loops: each connection sends its next request when the last one is answered.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.database import BenchDatabase
from bench.seed import DataSet
from bench.traffic import Endpoint, order_body

LUA = Path(__file__).resolve().parent / "kitdesk.lua"
# Generator threads: the machine is small, and the service and PostgreSQL need the cores more.
MAX_THREADS = 2
# A run that has not ended this long after its planned duration has hung: it is stopped.
GRACE_SECONDS = 60


@dataclass(frozen=True)
class Sample:
    """What one load run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def wrk_arguments(endpoint: Endpoint | None, data: DataSet) -> list[str]:
    """The wrk script's arguments for one endpoint (None: the soak's mix of requests)."""
    if endpoint is None:
        low, high = data.order_ids
        return [
            "mix",
            data.key,
            str(low),
            str(high),
            *map(str, data.patient_ids),
            "1",
            str(data.list_pages),
            order_body(),
        ]
    arguments = [endpoint.mode, data.key, str(endpoint.low), str(endpoint.high)]
    return [*arguments, order_body()] if endpoint.mode == "post" else arguments


def wrk_command(base_url: str, arguments: list[str], connections: int, seconds: int) -> list[str]:
    threads = str(min(connections, MAX_THREADS))
    return [
        "wrk",
        "-t",
        threads,
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
        base_url,
        "--",
        *arguments,
    ]


def parse_wrk(output: str) -> Sample:
    """The result line the wrk script prints when it is done."""
    match = re.search(r"^BENCH_RESULT (.*)$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{output}")
    r = json.loads(match.group(1))
    return Sample(
        requests=r["requests"],
        seconds=r["duration_us"] / 1e6,
        p50_ms=r["p50_us"] / 1000,
        p99_ms=r["p99_us"] / 1000,
        errors=r["status_errors"] + r["socket_errors"],
    )


def wrk(
    base_url: str, endpoint: Endpoint, data: DataSet, *, connections: int, seconds: int
) -> Sample:
    """Drive one endpoint of the service for ``seconds``."""
    command = wrk_command(base_url, wrk_arguments(endpoint, data), connections, seconds)
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + GRACE_SECONDS, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return parse_wrk(done.stdout)


def pgbench(
    db: BenchDatabase, scripts: list[Path], *, connections: int, seconds: int, logs: Path
) -> Sample:
    """Replay ``scripts`` (one picked at random per transaction) on the benchmark database."""
    logs.mkdir(parents=True, exist_ok=True)
    for old in logs.glob("pgbench*"):
        old.unlink()
    command = ["pgbench", "-h", db.host, "-p", str(db.port), "-U", db.user, "-n", "-M", "prepared"]
    command += ["-c", str(connections), "-j", str(min(connections, MAX_THREADS))]
    command += ["-T", str(seconds), "-l", f"--log-prefix={logs / 'pgbench'}"]
    for script in scripts:
        command += ["-f", f"{script}@1"]
    done = subprocess.run(
        [*command, db.name],
        capture_output=True,
        text=True,
        timeout=seconds + GRACE_SECONDS,
        check=False,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0 or "aborted" in output:
        raise RuntimeError(f"pgbench failed ({done.returncode}):\n{output}")
    return parse_pgbench(output, sorted(logs.glob("pgbench*")))


def parse_pgbench(output: str, logs: list[Path]) -> Sample:
    """pgbench's summary for the rate, its per-transaction logs for the latencies."""
    processed = re.search(r"number of transactions actually processed: (\d+)", output)
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", output)
    failed = re.search(r"number of failed transactions: (\d+)", output)
    if processed is None or tps is None:
        raise RuntimeError(f"pgbench printed no summary:\n{output}")
    latencies = sorted(int(line.split()[2]) for log in logs for line in log.open() if line.strip())
    requests, rate = int(processed.group(1)), float(tps.group(1))
    return Sample(
        requests=requests,
        seconds=requests / rate if rate else 0.0,
        p50_ms=percentile(latencies, 50) / 1000,
        p99_ms=percentile(latencies, 99) / 1000,
        errors=int(failed.group(1)) if failed else 0,
    )


def percentile(sorted_values: list[int], p: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(p / 100 * len(sorted_values))))
    return float(sorted_values[rank - 1])
