"""The PostgreSQL cluster behind a database URL: stop it at once (as a crash would), start it.

The cluster is found by the URL's port among the clusters ``pg_lsclusters`` lists on this host.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.engine import make_url

# Bounds the wait for a restarted cluster to accept connections (recovery takes a second).
READY_POLLS = 600
READY_PAUSE_SECONDS = 0.1


@dataclass(frozen=True)
class Cluster:
    """One local PostgreSQL cluster, as ``pg_ctlcluster`` names it."""

    version: str
    name: str
    host: str
    port: int
    user: str

    def ctl(self, action: str, *options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                "pg_ctlcluster",
                "--skip-systemctl-redirect",
                self.version,
                self.name,
                action,
                *options,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def is_running(self) -> bool:
        return self.ctl("status").returncode == 0

    def is_ready(self) -> bool:
        command = ["pg_isready", "-q", "-h", self.host, "-p", str(self.port), "-U", self.user]
        return subprocess.run(command, timeout=30, check=False).returncode == 0

    def stop_immediately(self) -> None:
        """Stop without a checkpoint, dropping every connection: recovery runs at next start."""
        done = self.ctl("stop", "-m", "immediate")
        assert done.returncode == 0, done.stderr

    def start(self) -> None:
        """Start the cluster if it is down, and wait (bounded) until it accepts connections."""
        if not self.is_running():
            done = self.ctl("start")
            assert done.returncode == 0, done.stderr
        for _ in range(READY_POLLS):
            if self.is_ready():
                return
            time.sleep(READY_PAUSE_SECONDS)
        raise AssertionError(f"PostgreSQL {self.version}/{self.name} did not come back")


def cluster_of(database_url: str) -> Cluster:
    """The local cluster that listens on the URL's port."""
    url = make_url(database_url)
    port = url.port or 5432
    listing = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, timeout=30, check=True
    )
    for line in listing.stdout.splitlines():
        version, name, cluster_port, *_ = line.split()
        if int(cluster_port) == port:
            return Cluster(version, name, url.host or "127.0.0.1", port, url.username or "postgres")
    raise AssertionError(f"no local PostgreSQL cluster listens on port {port}")


@contextmanager
def restarted_afterwards(cluster: Cluster) -> Iterator[Cluster]:
    """Whatever happens in the block, the cluster is running again when it ends."""
    try:
        yield cluster
    finally:
        cluster.start()
