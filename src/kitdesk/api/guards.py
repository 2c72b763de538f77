"""The checks every request passes before routing: body size and media type, URL and JSON hygiene.

A pure ASGI middleware, so a hostile request is refused before any route, dependency or
transaction sees it, and nothing can be written. A body is read at most ``max_body_bytes`` into
memory: a larger one is refused (413) as soon as its ``Content-Length`` or its streamed chunks
(chunked bodies have no ``Content-Length``) pass the limit, without reading the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kitdesk.api.documented import literal_path
from kitdesk.api.problems import problem_response
from kitdesk.errors import FieldError

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Kitdesk's deepest body is a few levels deep; anything far deeper is an attack on the parser.
MAX_JSON_DEPTH = 32
MSG_NOT_JSON = "request bodies must be JSON, sent with Content-Type: application/json"
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused, as a problem+json answer."""

    status: int
    code: str
    message: str
    field: str | None = None
    headers: dict[str, str] | None = None


class RequestGuardMiddleware:
    """Refuses oversized bodies (413), non-JSON bodies (415), NUL in the URL and deep JSON (400)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = (
            url_refusal(scope)
            or method_refusal(scope)
            or header_refusal(scope["method"], headers, self.max_body_bytes)
        )
        if refusal is None and scope["method"] in BODY_METHODS and _has_body(headers):
            body, ending = await _read_body(receive, self.max_body_bytes)
            if body is None and ending is None:
                refusal = _too_large(self.max_body_bytes)
            elif body is not None:
                refusal = json_refusal(body)
                receive = _replay(body, receive)
            else:
                assert ending is not None  # the client left: the route sees it leave too
                receive = _replay_message(ending, receive)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        await _refuse(refusal, scope, receive, send)


async def _refuse(refusal: Refusal, scope: Scope, receive: Receive, send: Send) -> None:
    message, errors = refusal.message, None
    if refusal.field is not None:
        # Worded like a request validation error: "invalid request: <field>: <why>".
        errors = [FieldError(refusal.field, refusal.message)]
        message = f"invalid request: {refusal.field}: {refusal.message}"
    response = problem_response(
        Request(scope),
        status=refusal.status,
        code=refusal.code,
        message=message,
        errors=errors,
        headers=refusal.headers,
    )
    await response(scope, receive, send)


def url_refusal(scope: Scope) -> Refusal | None:
    """NUL characters in the path or query string (no database column can hold them)."""
    query: bytes = scope.get("query_string", b"")
    if "\x00" in scope["path"]:
        return Refusal(400, "invalid_request", "must not contain NUL characters", "path")
    if b"%00" in query or b"\x00" in query:
        return Refusal(400, "invalid_request", "must not contain NUL characters", "query")
    return None


def method_refusal(scope: Scope) -> Refusal | None:
    """A method that a literal path does not serve. Routing alone would hand ``PUT
    /api/v3/patient/email`` to ``PUT /api/v3/patient/{patientId}`` (and answer 400 for a
    malformed id), although ``/patient/email`` is an endpoint of its own, serving POST only."""
    documented = literal_path(scope["app"], scope["path"])
    if documented is None or scope["method"] in documented.methods:
        return None
    message = f"method {scope['method']} is not allowed here"
    allow = {"Allow": ", ".join(sorted(documented.methods))}
    return Refusal(405, "method_not_allowed", message, headers=allow)


def header_refusal(method: str, headers: Headers, limit: int) -> Refusal | None:
    """A declared body that is too large, or a body that is not JSON (for the methods that take
    one: other methods' bodies are never read)."""
    if method not in BODY_METHODS:
        return None
    declared = headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            return Refusal(400, "invalid_request", "is not a number", "Content-Length")
        if int(declared) > limit:
            return _too_large(limit)
    if _has_body(headers) and not _is_json(headers):
        return Refusal(415, "unsupported_media_type", MSG_NOT_JSON)
    return None


def json_refusal(body: bytes) -> Refusal | None:
    """JSON nested deeper than any Kitdesk body, refused before a parser recurses into it."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    depth = 0
    for char in brackets:
        depth += 1 if char in b"[{" else -1
        if depth > MAX_JSON_DEPTH:
            message = f"is nested too deeply (at most {MAX_JSON_DEPTH} levels)"
            return Refusal(400, "invalid_request", message, "body")
    return None


def _too_large(limit: int) -> Refusal:
    return Refusal(413, "payload_too_large", f"the request body is larger than {limit} bytes")


def _has_body(headers: Headers) -> bool:
    declared = headers.get("content-length")
    if declared is not None:
        return declared.strip() not in ("", "0")
    return "transfer-encoding" in headers


def _is_json(headers: Headers) -> bool:
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def _read_body(receive: Receive, limit: int) -> tuple[bytes | None, Message | None]:
    """The whole body, or (None, None) once it passes ``limit``, or (None, message) on a
    disconnect."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, message
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, receive: Receive) -> Receive:
    return _replay_message({"type": "http.request", "body": body, "more_body": False}, receive)


def _replay_message(first: Message, receive: Receive) -> Receive:
    pending: list[Message] = [first]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay
