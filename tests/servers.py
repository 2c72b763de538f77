"""Real Kitdesk server processes on free loopback ports, for tests that cross process lines."""

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

KITDESK = Path(sys.executable).parent / "kitdesk"
# Bounds the wait for a cold start on a busy machine; a healthy start takes about a second.
START_DEADLINE_SECONDS = 60


@dataclass
class Server:
    """A running ``kitdesk serve`` process."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_live(server: Server) -> None:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"kitdesk serve exited early:\n{server.output()}")
        try:
            if httpx.get(f"{server.base_url}/livez", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"kitdesk serve did not answer /livez:\n{server.output()}")


def stop(process: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    """Stop a server: SIGTERM (or SIGKILL when ``kill``), then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    if kill:
        process.kill()
    else:
        process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


def start_server(
    database_url: str, log: Path, *, extra_env: dict[str, str] | None = None, workers: int = 1
) -> Server:
    """Start ``kitdesk serve`` (no demo loading) on a free port and wait until it answers."""
    port = free_port()
    env = {**os.environ, "KITDESK_DATABASE_URL": database_url, **(extra_env or {})}
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [str(KITDESK), "serve", "--no-demo", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    server = Server(process=process, base_url=f"http://127.0.0.1:{port}", log=log)
    try:
        _wait_until_live(server)
    except BaseException:
        stop(process)
        raise
    return server


@contextmanager
def running_servers(
    database_url: str, folder: Path, count: int = 1, **kwargs: object
) -> Iterator[list[Server]]:
    """``count`` independent server processes on one database, stopped on exit."""
    servers: list[Server] = []
    try:
        for n in range(count):
            servers.append(start_server(database_url, folder / f"server-{n}.log", **kwargs))  # type: ignore[arg-type]
        yield servers
    finally:
        for server in servers:
            stop(server.process)
