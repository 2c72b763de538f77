"""Memory flatness: the workers' resident memory sampled over a long run of mixed traffic."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field

from bench import procstat
from bench.loadgen import GRACE_SECONDS, Sample, parse_wrk, wrk_arguments, wrk_command
from bench.seed import DataSet
from bench.server import Server

SAMPLE_EVERY_SECONDS = 1.0


@dataclass
class Soak:
    """RSS samples (KiB) per worker process, and the traffic that ran meanwhile."""

    seconds: int
    connections: int
    traffic: Sample | None = None
    rss: dict[int, list[int]] = field(default_factory=dict)

    def summary(self, pid: int) -> tuple[int, int, int]:
        """Start, end and peak RSS of one worker, in KiB."""
        samples = self.rss[pid]
        return samples[0], samples[-1], max(samples)


def soak(server: Server, data: DataSet, *, seconds: int, connections: int) -> Soak:
    """Run POSTs, fetches and list pages in turn for ``seconds``, sampling RSS every second."""
    result = Soak(seconds=seconds, connections=connections)
    result.rss = {pid: [procstat.memory_kib(pid, "VmRSS")] for pid in server.workers}
    command = wrk_command(server.base_url, wrk_arguments(None, data), connections, seconds)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + seconds + GRACE_SECONDS
    try:
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(SAMPLE_EVERY_SECONDS)
            for pid in server.workers:
                result.rss[pid].append(procstat.memory_kib(pid, "VmRSS"))
    finally:
        if process.poll() is None:
            process.kill()
        stdout, stderr = process.communicate(timeout=GRACE_SECONDS)
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed during the soak ({process.returncode}):\n{stderr}")
    result.traffic = parse_wrk(stdout)
    return result
