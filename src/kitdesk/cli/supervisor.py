"""API worker processes that take their connections in turn from their supervisor.

uvicorn's own supervisor hands every worker one shared listening socket. When a burst of
connections arrives (a load balancer opening its pool, a client opening many at once) every
worker is woken and the first to run accepts all that are queued, so keep-alive connections end
up split 13/3 or 15/1 between two workers and stay that way: the busier worker's requests wait
behind the others while the quieter worker idles. Sockets of their own per worker
(``SO_REUSEPORT``) only make the split random: the kernel places each connection by a hash of
its addresses, and 16 connections still fall 10/6 or 11/5 as often as 8/8.

Here the supervisor alone listens. It accepts each connection and passes it to the next worker
in turn over a Unix socket pair (``SCM_RIGHTS``), so N connections are spread as evenly as N
allows; a worker whose queue of handed connections is full (stuck, or far behind) is skipped.
The worker serves a handed connection exactly as one it accepted itself (uvicorn's protocol on
the event loop), and the connection goes on to speak to that worker directly: the supervisor
touches a connection once, when it opens.

The supervisor restarts a worker that exits while the server runs and, on SIGINT or SIGTERM,
stops accepting and asks every worker to shut down gracefully (SIGTERM; uvicorn finishes the
requests in flight), killing those still alive after ``STOP_SECONDS``. It holds no state a
worker needs: workers share nothing but the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import logging
import multiprocessing
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.context import SpawnProcess
from ssl import SSLContext
from types import FrameType
from typing import Any

import uvicorn

log = logging.getLogger("kitdesk.serve")

STOP_SECONDS = 30.0
# A worker that keeps dying at once is restarted at most this often.
RESTART_PAUSE_SECONDS = 1.0
BACKLOG = 2048
# Connections accepted in one go before the supervisor looks at its workers again.
ACCEPT_BATCH = 64
# How long a new connection may wait for a worker with room in its queue before it is closed.
HAND_WAIT_SECONDS = 5.0
# The byte each handed connection travels with (a file descriptor needs at least one byte).
HANDED = b"c"
# What a worker sends its supervisor once it serves: from then on it is handed connections.
READY = b"r"
# The send buffer of the supervisor's end of a channel, which bounds how many handed connections
# can wait there for their worker (about 40 on Linux). A worker that serves takes them all at
# its next turn of the event loop; a hung one strands no more than that before it is passed over.
CHANNEL_SEND_BUFFER = 16384
PR_SET_PDEATHSIG = 1

_spawn = multiprocessing.get_context("spawn")


def supported() -> bool:
    """True where the supervisor can hand connections to its workers: Linux, whose Unix sockets
    deliver each passed descriptor with the one byte it was sent with."""
    return sys.platform.startswith("linux") and hasattr(socket, "send_fds")


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` and listening; a port in use stops the server."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            message = f"cannot serve on {host}:{port}: the address is already in use"
            raise SystemExit(message) from None
        raise
    return sock


def _worker(config: dict[str, Any], channel: socket.socket, parent: int) -> None:
    _stop_with(parent)
    HandedServer(uvicorn.Config(**config), channel).run()


def _stop_with(parent: int) -> None:
    # A worker gets SIGTERM when the supervisor dies, even by SIGKILL, rather than go on serving
    # its connections alone (Linux's PR_SET_PDEATHSIG; elsewhere it is left to the operator).
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the supervisor died before the request took effect
        raise SystemExit(0)


class HandedServer(uvicorn.Server):
    """uvicorn's server, serving the connections that arrive on ``channel`` instead of
    accepting its own; lifespan, graceful shutdown and limits are uvicorn's."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # the application's lifespan; no listening socket
        loop = asyncio.get_running_loop()
        intake = Intake(loop, self.channel, self._protocol, ssl=self.config.ssl)
        self.servers.append(intake)  # type: ignore[arg-type]  # closed with the servers
        self.channel.send(READY)

    def _protocol(self) -> asyncio.Protocol:
        return self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )


class Intake:
    """Takes the connections handed over ``channel`` and serves each with a new protocol.

    It stands in uvicorn's list of servers for a listening one: ``close`` stops taking
    connections, ``wait_closed`` waits for those being set up."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        channel: socket.socket,
        protocol: Callable[[], asyncio.Protocol],
        *,
        ssl: SSLContext | None = None,
    ) -> None:
        self.loop, self.channel, self.protocol, self.ssl = loop, channel, protocol, ssl
        self.opening: set[asyncio.Task[Any]] = set()
        self.closed = False
        channel.setblocking(False)
        loop.add_reader(channel.fileno(), self._take)

    def _take(self) -> None:
        while not self.closed:
            try:
                data, fds, flags, _ = socket.recv_fds(self.channel, len(HANDED), 1)
            except BlockingIOError:
                return
            except OSError as error:
                log.warning("cannot take connections from the supervisor: %s", error)
                self.close()
                return
            if not data and not fds:  # the supervisor has closed its end
                self.close()
                return
            if flags & socket.MSG_CTRUNC:  # out of descriptors: the kernel closed the connection
                log.warning("could not take a handed connection: no file descriptor left")
            for fd in fds:
                self._serve(socket.socket(fileno=fd))

    def _serve(self, sock: socket.socket) -> None:
        opening = self.loop.create_task(
            self.loop.connect_accepted_socket(self.protocol, sock, ssl=self.ssl)
        )
        self.opening.add(opening)
        opening.add_done_callback(self._opened)

    def _opened(self, task: asyncio.Task[Any]) -> None:
        self.opening.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not serve a handed connection: %s", task.exception())

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.loop.remove_reader(self.channel.fileno())
            self.channel.close()  # connections still queued in it are closed with it

    async def wait_closed(self) -> None:
        if self.opening:
            await asyncio.gather(*self.opening, return_exceptions=True)


def channel_pair() -> tuple[socket.socket, socket.socket]:
    """A channel to a worker: the supervisor's end (non-blocking, its queue bounded by
    ``CHANNEL_SEND_BUFFER``) and the worker's."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CHANNEL_SEND_BUFFER)
    ours.setblocking(False)
    return ours, theirs


class Supervisor:
    """Runs ``count`` workers serving ``config`` on ``host:port`` until told to stop."""

    def __init__(self, config: dict[str, Any], host: str, port: int, count: int) -> None:
        self.config, self.host, self.port, self.count = config, host, port, count
        self.workers: list[SpawnProcess] = []
        self.channels: list[socket.socket] = []
        self.ready: list[bool] = []
        self.turn = 0
        self.stopping = False

    def run(self) -> None:
        listener = listening_socket(self.host, self.port)
        listener.setblocking(False)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)
        log.info("serving on %s:%s with %d workers", self.host, self.port, self.count)
        try:
            for _ in range(self.count):
                worker, channel = self._start()
                self.workers.append(worker)
                self.channels.append(channel)
                self.ready.append(False)
            while not self.stopping:
                # New connections wait in the backlog until some worker serves.
                watched: list[socket.socket | int] = [w.sentinel for w in self.workers]
                watched += self._starting()
                if any(self.ready):
                    watched.append(listener)
                seen = wait(watched, timeout=0.5)
                if self.stopping:
                    break
                self._note_ready(seen)
                if listener in seen:
                    self._accept(listener)
                self._replace_exited()
        finally:
            listener.close()  # connections not yet accepted are refused from here on
            self._shut_down()

    def _start(self) -> tuple[SpawnProcess, socket.socket]:
        ours, theirs = channel_pair()
        try:
            process = _spawn.Process(target=_worker, args=(self.config, theirs, os.getpid()))
            process.start()
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()  # the worker holds its own copy
        return process, ours

    def _starting(self) -> list[socket.socket]:
        return [c for c, ready in zip(self.channels, self.ready, strict=True) if not ready]

    def _note_ready(self, seen: list[Any]) -> None:
        for n, channel in enumerate(self.channels):
            if channel in seen and not self.ready[n]:
                # A failed read: not yet, or the worker is gone (its sentinel tells).
                with contextlib.suppress(OSError):
                    self.ready[n] = channel.recv(len(READY)) == READY

    def _accept(self, listener: socket.socket) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                connection, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # out of descriptors, say: the rest wait in the backlog
                log.warning("cannot accept a connection: %s", error)
                return
            with connection:  # the worker has its own copy once handed
                self._hand(connection)

    def _hand(self, connection: socket.socket) -> None:
        deadline = time.monotonic() + HAND_WAIT_SECONDS
        while True:
            for step in range(len(self.channels)):
                n = (self.turn + step) % len(self.channels)
                if not self.ready[n]:
                    continue
                try:
                    socket.send_fds(self.channels[n], [HANDED], [connection.fileno()])
                except BlockingIOError:  # its queue is full: the next worker takes it
                    continue
                except OSError:  # it is gone; its replacement says when it serves
                    self.ready[n] = False
                    continue
                self.turn = n + 1
                return
            serving = [c for c, ready in zip(self.channels, self.ready, strict=True) if ready]
            left = deadline - time.monotonic()
            if not serving or left <= 0 or self.stopping:
                log.warning("no worker could take a new connection; closed it")
                return
            select.select([], serving, [], left)

    def _replace_exited(self) -> None:
        for n, worker in enumerate(self.workers):
            if worker.exitcode is None:
                continue
            log.warning("worker %s exited (code %s); starting another", worker.pid, worker.exitcode)
            self.channels[n].close()
            self.ready[n] = False
            time.sleep(RESTART_PAUSE_SECONDS)
            if self.stopping:
                return
            self.workers[n], self.channels[n] = self._start()

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
        for channel in self.channels:
            channel.close()
