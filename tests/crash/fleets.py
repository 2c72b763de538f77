"""The processes a worker crash test kills: ``kitdesk worker`` processes beside an API server.

On PostgreSQL two workers run at once, sharing the work; on SQLite one at a time (its claims are
serialized by the database's write lock anyway). At every blow the oldest worker is killed with
SIGKILL and a replacement is spawned; the next blow waits until the replacement is running.
"""

from __future__ import annotations

import os
import random
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.servers import KITDESK, Server, start_server, stop

# Leases short enough that a killed worker's deliveries come back within the test, yet far
# longer than an attempt may take (claim, send and timeout) on a loaded machine: a lease that
# ran out while its worker still lived would let another worker send the same delivery at once.
WEBHOOK_ENV = {
    "KITDESK_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
    "KITDESK_WEBHOOK_TIMEOUT_SECONDS": "5",
    "KITDESK_WEBHOOK_LEASE_SECONDS": "15",
    "KITDESK_WEBHOOK_WORKER_POLL_SECONDS": "0.05",
    "KITDESK_WEBHOOK_WORKER_BATCH_SIZE": "5",
    "KITDESK_WEBHOOK_RETRY_SCHEDULE_SECONDS": "[0,0,0,0,0]",
}
STARTED_LINE = b"webhook worker started"
# Bounds the wait for a worker to start on a busy machine (a healthy start takes 2 seconds).
START_POLLS = 1200
START_PAUSE_SECONDS = 0.05


class WorkerFleet:
    """An API server and ``size`` running ``kitdesk worker`` processes on one database."""

    def __init__(self, database_url: str, folder: Path, *, size: int) -> None:
        self.database_url = database_url
        self.env = {**os.environ, "KITDESK_DATABASE_URL": database_url, **WEBHOOK_ENV}
        self.folder = folder
        self.size = size
        self.workers: list[subprocess.Popen[bytes]] = []
        self.logs: dict[int, Path] = {}
        self.started = 0
        self.server: Server | None = None

    def target(self) -> str:
        assert self.server is not None
        return self.server.base_url

    def start(self) -> None:
        for _ in range(self.size):  # the workers start while the server does
            self.spawn()
        log = self.folder / "server.log"
        self.server = start_server(self.database_url, log, extra_env=WEBHOOK_ENV)
        self.wait_until_running()

    def spawn(self) -> None:
        """Start a worker (it takes a moment to be running)."""
        self.started += 1
        log = self.folder / f"worker-{self.started}.log"
        with log.open("wb") as handle:
            process = subprocess.Popen(
                [str(KITDESK), "worker"], env=self.env, stdout=handle, stderr=subprocess.STDOUT
            )
        self.workers.append(process)
        self.logs[process.pid] = log

    def wait_until_running(self) -> None:
        """Wait (bounded) until every worker has said it started."""
        for process in self.workers:
            log = self.logs[process.pid]
            for _ in range(START_POLLS):
                if STARTED_LINE in log.read_bytes() or process.poll() is not None:
                    break
                time.sleep(START_PAUSE_SECONDS)
            if process.poll() is not None or STARTED_LINE not in log.read_bytes():
                raise AssertionError(f"kitdesk worker is not running:\n{log.read_text()}")

    def kill_repeatedly(self, *, kills: int, seed: int) -> None:
        """``kills`` blows, 0.5 to 1.5 seconds apart (or as long as a replacement takes to
        start): the oldest worker is killed with SIGKILL and a replacement spawned at once."""
        rng = random.Random(seed)
        for _ in range(kills):
            time.sleep(rng.uniform(0.5, 1.5))
            self.wait_until_running()
            stop(self.workers.pop(0), kill=True)
            self.spawn()

    def finish(self) -> None:
        """Kill every worker and leave one fresh worker to finish the work."""
        self.close(server=False)
        self.spawn()
        self.wait_until_running()

    def close(self, *, server: bool = True) -> None:
        """Kill the workers (and the server): what they did is all in the database."""
        while self.workers:
            stop(self.workers.pop(), kill=True)
        if server and self.server is not None:
            stop(self.server.process, kill=True)


@contextmanager
def worker_fleet(backend: str, database_url: str, folder: Path) -> Iterator[WorkerFleet]:
    """The server and workers for ``backend``, every process stopped on exit."""
    fleet = WorkerFleet(database_url, folder, size=2 if backend == "postgresql" else 1)
    try:
        fleet.start()
        yield fleet
    finally:
        fleet.close()
