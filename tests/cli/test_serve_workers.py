"""``kitdesk serve --workers N``: connections handed out in turn, replaced workers, clean stops."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench import procstat
from tests.servers import KITDESK, Server, start_server, stop

WORKERS = 2
CONNECTIONS = 16
# Bounds on waiting (never a timing assertion): a worker starts in about two seconds.
DEADLINE_SECONDS = 60


def _workers(server: Server) -> list[int]:
    return [
        pid
        for pid in procstat.children(server.process.pid)
        if "spawn_main" in procstat.command_line(pid)
    ]


def _port(server: Server) -> int:
    port = urlsplit(server.base_url).port
    assert port is not None
    return port


def _until(condition: object, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def _live(server: Server) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", _port(server), timeout=10)
    try:
        connection.request("GET", "/livez")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[Server]:
    running = start_server(database_url, tmp_path / "serve.log", workers=WORKERS)
    try:
        _until(lambda: len(_workers(running)) == WORKERS, "both workers")
        yield running
    finally:
        stop(running.process)


def _held_by_workers(server: Server, count: int) -> dict[int, int]:
    """Opens ``count`` keep-alive connections, one request on each, and tells how many of them
    each worker holds while they are all open."""
    kept = [
        http.client.HTTPConnection("127.0.0.1", _port(server), timeout=10) for _ in range(count)
    ]
    try:
        for connection in kept:
            connection.request("GET", "/livez")
            response = connection.getresponse()
            response.read()
            assert response.status == 200
        return procstat.established(_workers(server), _port(server))
    finally:
        for connection in kept:
            connection.close()


def test_the_supervisor_alone_listens_and_hands_connections_out_in_turn(server: Server) -> None:
    workers = _workers(server)
    port = _port(server)
    # A worker is handed connections once it serves (its application started): until both
    # do, every connection goes to the first.
    _until(lambda: _held_by_workers(server, WORKERS) == {pid: 1 for pid in workers}, "both")

    assert procstat.listening([server.process.pid], port) == {server.process.pid: 1}
    assert procstat.listening(workers, port) == {pid: 0 for pid in workers}
    held = _held_by_workers(server, CONNECTIONS)

    # In turn, whatever the connections' addresses: an even split every time, where the
    # kernel's placement by address (SO_REUSEPORT) splits 16 connections 10/6 or worse about
    # half the time.
    assert held == {pid: CONNECTIONS // WORKERS for pid in workers}
    assert procstat.established([server.process.pid], port) == {server.process.pid: 0}


def test_a_worker_that_dies_is_replaced_and_the_server_keeps_answering(server: Server) -> None:
    first, second = _workers(server)

    os.kill(first, signal.SIGKILL)

    new: list[int] = []

    def replaced() -> bool:
        # One reading of the process table per check: the new worker is taken from the same
        # reading that found it (a later one, taken while processes come and go, could differ).
        workers = _workers(server)
        new[:] = [pid for pid in workers if pid not in (first, second)]
        return len(workers) == WORKERS and len(new) == 1

    _until(replaced, "a replacement worker")
    replacement = new[0]
    _until(lambda: _live(server), "the server to answer")
    # Once it serves, the replacement takes its turn like the others.
    _until(lambda: _held_by_workers(server, 4) == {second: 2, replacement: 2}, "its turn")
    assert "exited (code -9); starting another" in server.output()


def test_sigterm_stops_every_worker_and_exits_cleanly(server: Server) -> None:
    workers = _workers(server)

    server.process.send_signal(signal.SIGTERM)

    assert server.process.wait(timeout=DEADLINE_SECONDS) == 0
    _until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), "workers to end")


def test_workers_stop_when_their_supervisor_is_killed(server: Server) -> None:
    workers = _workers(server)

    server.process.kill()
    server.process.wait(timeout=DEADLINE_SECONDS)

    _until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), "workers to end")


def test_a_second_server_on_the_same_port_is_refused(
    server: Server, database_url: str, tmp_path: Path
) -> None:
    env = {**os.environ, "KITDESK_DATABASE_URL": database_url}
    command = [str(KITDESK), "serve", "--no-demo", "--port", str(_port(server)), "--workers", "2"]

    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=DEADLINE_SECONDS, check=False
    )

    assert done.returncode == 1
    assert f"cannot serve on 127.0.0.1:{_port(server)}: the address is already in use" in (
        done.stderr
    )
    assert _live(server)
