"""Small ASGI helpers: read a request body once, replay it, record a response before sending."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.types import Message, Receive, Scope, Send

from kitdesk.domain.integrity.idempotency import StoredResponse

# Headers not kept with a stored response: the length is recomputed, the request id is per request.
UNSTORED_HEADERS = frozenset({"content-length", "x-request-id"})


async def read_body(receive: Receive) -> bytes:
    """The whole request body."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the already-read body, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def header(scope: Scope, name: bytes) -> list[bytes]:
    """Every value of one request header (``name`` in lower case)."""
    return [value for key, value in scope.get("headers", ()) if key == name]


def path_with_query(scope: Scope) -> str:
    """The request path, with its query string when there is one."""
    query = scope.get("query_string", b"").decode("latin-1")
    path: str = scope["path"]
    return path + (f"?{query}" if query else "")


@dataclass
class ResponseRecorder:
    """Holds an app's response messages back, so the transaction can end before the client hears."""

    messages: list[Message] = field(default_factory=list)

    async def send(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        start = next((m for m in self.messages if m["type"] == "http.response.start"), None)
        return int(start["status"]) if start else 500

    def stored(self) -> StoredResponse:
        """The response as it will be replayed."""
        start = next(m for m in self.messages if m["type"] == "http.response.start")
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in start.get("headers", [])
            if name.decode("latin-1").lower() not in UNSTORED_HEADERS
        ]
        body = b"".join(
            m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"
        )
        return StoredResponse(status=self.status, headers=headers, body=body)

    async def forward(self, send: Send) -> None:
        """Send the held messages on, unchanged."""
        for message in self.messages:
            await send(message)


async def send_stored(send: Send, response: StoredResponse, *, replayed: bool) -> None:
    """Send a stored response, marked ``Idempotent-Replayed: true`` when it is a replay."""
    headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in response.headers]
    headers.append((b"content-length", str(len(response.body)).encode("ascii")))
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": False})
