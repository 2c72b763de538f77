"""How the supervisor hands connections to its workers, and how a worker takes them, in one
process: real sockets and descriptor passing, no worker processes."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from kitdesk.cli import supervisor
from kitdesk.cli.supervisor import HANDED, Intake, Supervisor

pytestmark = pytest.mark.skipif(not supervisor.supported(), reason="hand-off needs Linux")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = supervisor.listening_socket("127.0.0.1", 0)
    try:
        yield sock
    finally:
        sock.close()


def _connection(listener: socket.socket) -> tuple[socket.socket, socket.socket]:
    """A client socket and the server side of it, as the supervisor accepts it."""
    client = socket.create_connection(listener.getsockname()[:2], timeout=5)
    accepted, _ = listener.accept()
    return client, accepted


def _supervisor(count: int) -> tuple[Supervisor, list[socket.socket]]:
    """A supervisor with ``count`` serving workers' channels; returns the workers' ends."""
    boss = Supervisor({}, "127.0.0.1", 0, count)
    theirs = []
    for _ in range(count):
        ours, their = supervisor.channel_pair()
        their.setblocking(False)
        boss.channels.append(ours)
        boss.ready.append(True)
        theirs.append(their)
    return boss, theirs


def _taken(channel: socket.socket) -> list[socket.socket]:
    """The connections waiting in a worker's end of its channel."""
    taken = []
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(channel, len(HANDED), 1)
        except BlockingIOError:
            return taken
        assert data == HANDED
        taken += [socket.socket(fileno=fd) for fd in fds]


def _fill(channel: socket.socket) -> None:
    """Writes to ``channel`` until it takes no more (its worker is far behind)."""
    for _ in range(100_000):
        try:
            channel.send(b"x" * 4096)
        except BlockingIOError:
            return
    raise AssertionError("the channel never filled")


def _close(*sockets: socket.socket) -> None:
    for sock in sockets:
        sock.close()


def _hand(boss: Supervisor, listener: socket.socket) -> socket.socket:
    client, accepted = _connection(listener)
    with accepted:
        boss._hand(accepted)
    return client


def test_connections_go_to_the_workers_in_turn(listener: socket.socket) -> None:
    boss, theirs = _supervisor(3)
    clients = [_hand(boss, listener) for _ in range(7)]

    taken = [_taken(channel) for channel in theirs]

    assert [len(each) for each in taken] == [3, 2, 2]
    # Each handed socket is the server side of one of the clients, in the order they came.
    peers = [[sock.getpeername() for sock in each] for each in taken]
    assert peers == [
        [clients[0].getsockname(), clients[3].getsockname(), clients[6].getsockname()],
        [clients[1].getsockname(), clients[4].getsockname()],
        [clients[2].getsockname(), clients[5].getsockname()],
    ]
    _close(*clients, *theirs, *boss.channels, *(s for each in taken for s in each))


def test_a_worker_not_yet_serving_is_passed_over(listener: socket.socket) -> None:
    boss, theirs = _supervisor(2)
    boss.ready[0] = False

    clients = [_hand(boss, listener) for _ in range(3)]

    first, second = _taken(theirs[0]), _taken(theirs[1])
    assert (len(first), len(second)) == (0, 3)
    _close(*clients, *theirs, *boss.channels, *second)


def test_a_hung_worker_strands_a_few_dozen_connections_at_most(listener: socket.socket) -> None:
    # Nobody reads the worker's end: its channel takes handed connections until it is full.
    boss, theirs = _supervisor(1)
    client, accepted = _connection(listener)
    taken = 0
    while taken < 1000:
        try:
            socket.send_fds(boss.channels[0], [HANDED], [accepted.fileno()])
        except BlockingIOError:
            break
        taken += 1

    # Room for a burst at a busy worker, not for hundreds stuck behind a hung one.
    assert 16 <= taken <= 64
    stranded = _taken(theirs[0])
    assert len(stranded) == taken
    _close(client, accepted, *theirs, *boss.channels, *stranded)


def test_a_worker_whose_queue_is_full_is_passed_over(listener: socket.socket) -> None:
    boss, theirs = _supervisor(2)
    _fill(boss.channels[0])

    clients = [_hand(boss, listener) for _ in range(2)]

    second = _taken(theirs[1])
    assert len(second) == 2
    assert boss.ready == [True, True]  # busy is not gone: it gets its turn once it has room
    _close(*clients, *theirs, *boss.channels, *second)


def test_a_worker_that_is_gone_loses_its_turn_until_its_replacement_serves(
    listener: socket.socket,
) -> None:
    boss, theirs = _supervisor(2)
    theirs[0].close()

    clients = [_hand(boss, listener) for _ in range(3)]

    assert boss.ready == [False, True]
    second = _taken(theirs[1])
    assert len(second) == 3
    _close(*clients, *theirs, *boss.channels, *second)


def test_with_no_worker_to_take_it_a_connection_is_closed_at_once(
    listener: socket.socket, caplog: pytest.LogCaptureFixture
) -> None:
    boss, theirs = _supervisor(2)
    boss.ready = [False, False]

    with caplog.at_level(logging.WARNING, logger="kitdesk.serve"):
        client = _hand(boss, listener)

    assert "no worker could take a new connection; closed it" in caplog.text
    assert client.recv(1) == b""  # the supervisor's copy closed: the client sees the end
    _close(client, *theirs, *boss.channels)


class _Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert isinstance(self.transport, asyncio.WriteTransport)
        self.transport.write(data.upper())


def test_a_worker_serves_the_connections_handed_to_it(listener: socket.socket) -> None:
    asyncio.run(_serve_handed(listener))


async def _serve_handed(listener: socket.socket) -> None:
    boss, theirs = _supervisor(1)
    loop = asyncio.get_running_loop()
    intake = Intake(loop, theirs[0], _Echo)
    clients = []
    try:
        for word in (b"first", b"second"):
            client = _hand(boss, listener)
            clients.append(client)
            client.setblocking(False)
            await loop.sock_sendall(client, word)
            assert await asyncio.wait_for(loop.sock_recv(client, 64), 5) == word.upper()
    finally:
        intake.close()
        await intake.wait_closed()
        _close(*clients, *boss.channels)
    assert theirs[0].fileno() == -1  # closing the intake closed the worker's end


def test_a_worker_stops_taking_connections_when_its_supervisor_closes_the_channel() -> None:
    asyncio.run(_stop_taking())


async def _stop_taking() -> None:
    boss, theirs = _supervisor(1)
    loop = asyncio.get_running_loop()
    intake = Intake(loop, theirs[0], _Echo)

    boss.channels[0].close()
    for _ in range(50):
        if intake.closed:
            break
        await asyncio.sleep(0.01)

    assert intake.closed


def test_a_connection_lost_to_a_worker_out_of_descriptors_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # When the worker has no descriptor left, the kernel drops the passed one and says so with
    # MSG_CTRUNC: the worker notes it and goes on taking connections.
    asyncio.run(_out_of_descriptors(monkeypatch, caplog))


async def _out_of_descriptors(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    received = iter([(HANDED, [], socket.MSG_CTRUNC, None)])

    def recv_fds(sock: socket.socket, bufsize: int, maxfds: int) -> tuple[Any, ...]:
        try:
            return next(received)
        except StopIteration:
            raise BlockingIOError from None

    monkeypatch.setattr(supervisor.socket, "recv_fds", recv_fds)
    loop = asyncio.get_running_loop()
    with caplog.at_level(logging.WARNING, logger="kitdesk.serve"):
        intake = Intake(loop, theirs, _Echo)
        ours.send(b"x")  # wakes the intake's reader
        for _ in range(50):
            if "no file descriptor left" in caplog.text:
                break
            await asyncio.sleep(0.01)
    assert "could not take a handed connection: no file descriptor left" in caplog.text
    assert not intake.closed
    intake.close()
    ours.close()
