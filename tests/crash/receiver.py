"""A webhook receiver on 127.0.0.1 that notes every arrival, every answer and any overlap.

It answers the first arrival of every ``FLAKY_EVERY``-th event with 503 (so deliveries are also
retried) and 200 otherwise, after a short pause that leaves a killed worker time to die mid-send.
"""

from __future__ import annotations

import collections
import itertools
import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FLAKY_EVERY = 7
LONGEST_PAUSE_SECONDS = 0.04


@dataclass(frozen=True)
class Arrival:
    """One request: its place in the order of arrivals, the event and the answer chosen."""

    seq: int
    event_id: int
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Everything the receiver saw, guarded by ``lock``."""

    base_url: str = ""
    arrivals: list[Arrival] = field(default_factory=list)
    # Event id -> sequence number of the first 2xx status written back (numbered just before
    # it was written).
    first_success: dict[int, int] = field(default_factory=dict)
    # Event ids that arrived while another request for the same event was still being answered.
    overlaps: list[int] = field(default_factory=list)
    in_flight: collections.Counter[int] = field(default_factory=collections.Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counter: Iterator[int] = field(default_factory=itertools.count)
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def arrive(self, body: bytes) -> tuple[Arrival, float] | None:
        """Note an arrival; returns it (with the status to answer) and the pause to take, or
        None when the body broke off (its sender died while sending it)."""
        try:
            event_id = int(json.loads(body)["id"])
        except ValueError:
            return None
        with self.lock:
            first = all(a.event_id != event_id for a in self.arrivals)
            status = 503 if first and event_id % FLAKY_EVERY == 0 else 200
            arrival = Arrival(next(self.counter), event_id, body, status)
            self.arrivals.append(arrival)
            if self.in_flight[event_id]:
                self.overlaps.append(event_id)
            self.in_flight[event_id] += 1
            return arrival, self.rng.uniform(0, LONGEST_PAUSE_SECONDS)

    def answering(self) -> int:
        """The sequence number of an answer about to be written (taken before the worker can
        read it, so anything the answer lets happen arrives later)."""
        with self.lock:
            return next(self.counter)

    def leave(self, arrival: Arrival, *, answered_at: int | None) -> None:
        """Note the end of a request; ``answered_at`` when its status was written."""
        with self.lock:
            self.in_flight[arrival.event_id] -= 1
            if answered_at is not None and arrival.status == 200:
                self.first_success.setdefault(arrival.event_id, answered_at)

    def wait_until_idle(self, *, polls: int = 600, pause: float = 0.05) -> None:
        """Wait (bounded) until no request is being answered."""
        for _ in range(polls):
            with self.lock:
                if not any(self.in_flight.values()):
                    return
            time.sleep(pause)
        raise AssertionError("the receiver is still answering requests")

    def snapshot(self) -> tuple[list[Arrival], dict[int, int], list[int]]:
        with self.lock:
            return list(self.arrivals), dict(self.first_success), list(self.overlaps)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            noted = receiver.arrive(body)
            if noted is None:
                return
            arrival, pause = noted
            answered_at = None
            try:
                time.sleep(pause)
                seq = receiver.answering()
                self.send_response(arrival.status)
                self.send_header("Content-Length", "2")
                self.end_headers()  # the status is all a worker reads
                answered_at = seq
                self.wfile.write(b"ok")
            except OSError:  # the worker died while waiting for the answer, or hung up after it
                pass
            finally:
                receiver.leave(arrival, answered_at=answered_at)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """Start a receiver on a free port of 127.0.0.1; stop it when the block ends."""
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
