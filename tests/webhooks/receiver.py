"""A real HTTP receiver on 127.0.0.1 that records what webhooks deliver to it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def event_id(self) -> int:
        event_id: int = self.json()["id"]
        return event_id


@dataclass
class Receiver:
    """Answers each path with scripted statuses (then 200) and records every request."""

    base_url: str = ""
    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, list[int]] = field(default_factory=dict)
    # Requests to /slow wait for this before answering (set when the receiver stops).
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return self.base_url + path

    def script(self, path: str, statuses: list[int]) -> None:
        """Answer the next requests to ``path`` with these statuses, in order."""
        with self.lock:
            self.scripts[path] = list(statuses)

    def received(self, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]

    def _status_for(self, path: str) -> int:
        with self.lock:
            queue = self.scripts.get(path)
            return queue.pop(0) if queue else 200


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.requests.append(
                    Received(
                        "POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body
                    )
                )
            if self.path == "/slow":
                receiver.release.wait()
            status = receiver._status_for(self.path)
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", receiver.url("/landing"))
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

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
        receiver.release.set()
        server.shutdown()
        server.server_close()
        thread.join()
