"""Kitdesk server processes for the benchmark: the real one and the statement-capture one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import procstat
from bench.capture_app import CAPTURE_ENV

ROOT = Path(__file__).resolve().parent.parent
KITDESK = Path(sys.executable).parent / "kitdesk"
START_DEADLINE_SECONDS = 90
# uvicorn replaces a worker that misses its 5-second health check (a slow start does): the
# workers count as up once the same processes have lived this long.
STABLE_SECONDS = 6


@dataclass
class Server:
    """A running server: its master process and, once found, its worker processes."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path
    workers: list[int]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        return subprocess.Popen(command, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)


def _wait(server: Server, worker_count: int) -> None:
    """Until every worker process is up and the server answers /livez."""
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log.read_text(errors='replace')}")
        server.workers = _workers(server.process.pid, worker_count)
        if len(server.workers) == worker_count and _live(server.base_url):
            if worker_count == 1:
                return
            time.sleep(STABLE_SECONDS)
            if _workers(server.process.pid, worker_count) == server.workers:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server did not start:\n{server.log.read_text(errors='replace')}")


def check_workers(server: Server) -> None:
    """Fail if uvicorn has replaced a worker: its CPU and memory figures would be wrong."""
    current = _workers(server.process.pid, len(server.workers))
    if current != server.workers:
        raise RuntimeError(
            f"worker processes changed from {server.workers} to {current} during the run "
            f"(uvicorn restarts a worker that misses its health check):\n"
            f"{server.log.read_text(errors='replace')[-4000:]}"
        )


def _workers(pid: int, count: int) -> list[int]:
    """uvicorn's worker processes (spawned children); the server process itself with one."""
    if count == 1:
        return [pid]
    return [c for c in procstat.children(pid) if "spawn_main" in procstat.command_line(c)]


def _live(base_url: str) -> bool:
    try:
        return all(httpx.get(f"{base_url}/livez", timeout=2).status_code == 200 for _ in range(8))
    except httpx.TransportError:
        return False


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if the server lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=20)


@contextmanager
def kitdesk_server(
    database_url: str, log: Path, *, workers: int, shared_socket: bool = False
) -> Iterator[Server]:
    """``kitdesk serve --workers N --no-demo`` on a free loopback port (connections handed to
    the workers in turn by Kitdesk's supervisor, unless ``shared_socket``: uvicorn's workers
    sharing one listening socket)."""
    port = _free_port()
    env = {**os.environ, "KITDESK_DATABASE_URL": database_url, "KITDESK_LOG_LEVEL": "warning"}
    command = [str(KITDESK), "serve", "--no-demo", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)] + (["--shared-socket"] if shared_socket else [])
    process = _spawn(command, env, log)
    server = Server(process, f"http://127.0.0.1:{port}", log, [])
    try:
        _wait(server, workers)
        yield server
    finally:
        stop(process)


@contextmanager
def capture_server(database_url: str, log: Path, capture: Path) -> Iterator[Server]:
    """The app of ``bench.capture_app`` in one uvicorn process, recording into ``capture``."""
    port = _free_port()
    env = {**os.environ, "KITDESK_DATABASE_URL": database_url, CAPTURE_ENV: str(capture)}
    command = [sys.executable, "-m", "uvicorn", "bench.capture_app:create_capture_app"]
    options = ["--factory", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    process = _spawn([*command, *options], env, log)
    server = Server(process, f"http://127.0.0.1:{port}", log, [])
    try:
        _wait(server, 1)
        yield server
    finally:
        stop(process)
