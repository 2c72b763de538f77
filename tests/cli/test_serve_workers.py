"""``kitdesk serve --workers N``: a listening socket per worker, replaced workers, clean stops."""

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


def test_each_worker_listens_on_a_socket_of_its_own_and_takes_connections(
    server: Server,
) -> None:
    workers = _workers(server)
    port = _port(server)
    _until(lambda: all(_live(server) for _ in range(4)), "the workers to answer")

    # SO_REUSEPORT: one listening socket per worker (uvicorn's own supervisor shares one).
    assert len(procstat.sockets_on(port, "0A")) == WORKERS
    assert procstat.listening(workers, port) == {pid: 1 for pid in workers}
    kept = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(CONNECTIONS)]
    try:
        for connection in kept:
            connection.request("GET", "/livez")
            response = connection.getresponse()
            response.read()
            assert response.status == 200
        held = procstat.established(workers, port)
    finally:
        for connection in kept:
            connection.close()
    # The kernel spreads connections over the sockets: all 16 on one worker has odds of 2^-15.
    assert sum(held.values()) == CONNECTIONS
    assert all(count >= 1 for count in held.values()), held


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
    _until(lambda: procstat.listening([replacement], _port(server)) == {replacement: 1}, "it")
    assert _live(server)
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
