"""API worker processes that each listen on a socket of their own (``SO_REUSEPORT``).

uvicorn's own supervisor hands every worker one shared listening socket. When a burst of
connections arrives (a load balancer opening its pool, a client opening many at once) every
worker is woken and the first to run accepts all that are queued, so keep-alive connections end
up split 13/3 or 15/1 between two workers and stay that way: the busier worker's requests wait
behind the others while the quieter worker idles. With a socket per worker bound with
``SO_REUSEPORT``, the kernel assigns each new connection to one of the listening sockets as it
arrives, and the split stays close to even (measured in ``bench/README.md``).

The supervisor restarts a worker that exits while the server runs and, on SIGINT or SIGTERM,
asks every worker to shut down gracefully (SIGTERM; uvicorn finishes the requests in flight),
killing those still alive after ``STOP_SECONDS``. It holds no state a worker needs: workers
share nothing but the port and the database.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.connection import wait
from multiprocessing.context import SpawnProcess
from types import FrameType
from typing import Any

import uvicorn

log = logging.getLogger("kitdesk.serve")

STOP_SECONDS = 30.0
# A worker that keeps dying at once is restarted at most this often.
RESTART_PAUSE_SECONDS = 1.0
BACKLOG = 2048
PR_SET_PDEATHSIG = 1

_spawn = multiprocessing.get_context("spawn")


def supported() -> bool:
    """True where the kernel spreads connections over sockets sharing a port: Linux. (The BSDs
    and macOS accept ``SO_REUSEPORT`` too, but hand every connection to one of the sockets.)"""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


def _check_port_free(host: str, port: int) -> None:
    # Without this, a second server started on the same port by the same user would join the
    # first one's group of sockets and silently take part of its traffic.
    try:
        listening_socket(host, port, reuse_port=False).close()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            message = f"cannot serve on {host}:{port}: the address is already in use"
            raise SystemExit(message) from None
        raise


def _worker(config: dict[str, Any], host: str, port: int, parent: int) -> None:
    _stop_with(parent)
    sock = listening_socket(host, port, reuse_port=True)
    uvicorn.Server(uvicorn.Config(**config)).run(sockets=[sock])


def _stop_with(parent: int) -> None:
    # A worker gets SIGTERM when the supervisor dies, even by SIGKILL, rather than go on serving
    # the port alone (Linux's PR_SET_PDEATHSIG; elsewhere it is left to the operator).
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the supervisor died before the request took effect
        raise SystemExit(0)


class Supervisor:
    """Runs ``count`` workers serving ``config`` on ``host:port`` until told to stop."""

    def __init__(self, config: dict[str, Any], host: str, port: int, count: int) -> None:
        self.config, self.host, self.port, self.count = config, host, port, count
        self.workers: list[SpawnProcess] = []
        self.stopping = False

    def run(self) -> None:
        _check_port_free(self.host, self.port)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)
        log.info("serving on %s:%s with %d workers", self.host, self.port, self.count)
        self.workers = [self._start() for _ in range(self.count)]
        try:
            while not self.stopping:
                wait([w.sentinel for w in self.workers], timeout=0.5)
                if not self.stopping:
                    self._replace_exited()
        finally:
            self._shut_down()

    def _start(self) -> SpawnProcess:
        process = _spawn.Process(
            target=_worker, args=(self.config, self.host, self.port, os.getpid())
        )
        process.start()
        return process

    def _replace_exited(self) -> None:
        for n, worker in enumerate(self.workers):
            if worker.exitcode is None:
                continue
            log.warning("worker %s exited (code %s); starting another", worker.pid, worker.exitcode)
            time.sleep(RESTART_PAUSE_SECONDS)
            if self.stopping:
                return
            self.workers[n] = self._start()

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def _shut_down(self) -> None:
        for worker in self.workers:
            if worker.exitcode is None and worker.pid is not None:
                worker.terminate()  # SIGTERM: uvicorn's graceful shutdown
        deadline = time.monotonic() + STOP_SECONDS
        for worker in self.workers:
            worker.join(max(0.0, deadline - time.monotonic()))
            if worker.exitcode is None:
                log.warning("worker %s did not stop in time; killing it", worker.pid)
                worker.kill()
                worker.join()
