"""The request guard as a plain ASGI middleware: a streamed body is counted chunk by chunk."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from starlette.types import Message, Receive, Scope, Send

from kitdesk.api.app import create_app
from kitdesk.api.guards import RequestGuardMiddleware
from kitdesk.settings import Settings

LIMIT = 10
CHUNK = b"1234"


@dataclass
class Exchange:
    """What one request through the guard did."""

    chunks_read: int = 0
    app_saw: list[Message] = field(default_factory=list)
    sent: list[Message] = field(default_factory=list)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def body(self) -> dict[str, object]:
        return dict(json.loads(b"".join(m.get("body", b"") for m in self.sent[1:])))


def run(chunks: int, headers: list[tuple[bytes, bytes]]) -> Exchange:
    """POST ``chunks`` chunks of 4 bytes through the guard in front of a recording app."""
    exchange = Exchange()

    async def receive() -> Message:
        exchange.chunks_read += 1
        more = exchange.chunks_read < chunks
        return {"type": "http.request", "body": CHUNK, "more_body": more}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        exchange.app_saw.append(await receive())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: Message) -> None:
        exchange.sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v3/site",
        "raw_path": b"/api/v3/site",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), *headers],
        "scheme": "http",
        "server": ("testserver", 80),
        "root_path": "",
        "app": create_app(Settings(database_url="sqlite:///unused.db")),
    }
    guard = RequestGuardMiddleware(app, max_body_bytes=LIMIT)
    asyncio.run(guard(scope, receive, send))
    return exchange


def test_a_chunked_body_is_refused_at_the_chunk_that_passes_the_limit() -> None:
    exchange = run(chunks=1000, headers=[(b"transfer-encoding", b"chunked")])

    assert exchange.status == 413
    assert exchange.body["code"] == "payload_too_large"
    assert exchange.body["message"] == f"the request body is larger than {LIMIT} bytes"
    # 4 + 4 + 4 bytes: the third chunk passes the limit, and nothing more is read.
    assert exchange.chunks_read == 3
    assert exchange.app_saw == []


def test_a_declared_length_over_the_limit_is_refused_before_any_chunk_is_read() -> None:
    exchange = run(chunks=1000, headers=[(b"content-length", b"4000")])

    assert exchange.status == 413
    assert exchange.chunks_read == 0
    assert exchange.app_saw == []


def test_a_chunked_body_within_the_limit_reaches_the_app_whole() -> None:
    exchange = run(chunks=2, headers=[(b"transfer-encoding", b"chunked")])

    assert exchange.status == 204
    assert exchange.app_saw == [{"type": "http.request", "body": CHUNK * 2, "more_body": False}]


def test_a_content_length_that_is_not_a_number_is_400() -> None:
    exchange = run(chunks=1, headers=[(b"content-length", b"4 bytes")])

    assert exchange.status == 400
    assert exchange.body["message"] == "invalid request: Content-Length: is not a number"
    assert exchange.chunks_read == 0
    assert exchange.app_saw == []
