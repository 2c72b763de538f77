"""Every error leaves Kitdesk as RFC 9457 problem+json; this module alone decides how."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kitdesk.api.documented import allowed_methods
from kitdesk.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    Invalid,
    InvalidState,
    NotFound,
    Unauthorized,
)

log = logging.getLogger("kitdesk.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
MSG_UNREADABLE_BODY = "could not be read as JSON (UTF-8 text is required)"

STATUS_OF: dict[type[DomainError], int] = {
    Invalid: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    InvalidState: 409,
}

GENERIC_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
    500: "internal_error",
}


class ProblemFieldError(BaseModel):
    """One bad input field."""

    field: str
    message: str


class Problem(BaseModel):
    """An error response (RFC 9457 problem details, plus Kitdesk's ``code`` and ``message``)."""

    type: str = Field(description="A URN naming the kind of problem: urn:kitdesk:problem:<code>.")
    title: str = Field(description="The HTTP status phrase.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="Same text as message.")
    instance: str = Field(description="The request path.")
    code: str = Field(description="Stable machine-readable code, e.g. insufficient_inventory.")
    message: str = Field(description="Human-readable text; documented strings verbatim.")
    errors: list[ProblemFieldError] = Field(default_factory=list)
    request_id: str | None = Field(default=None, alias="requestId")


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    message: str,
    errors: list[FieldError] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build one problem+json response."""
    body: dict[str, Any] = {
        "type": f"urn:kitdesk:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": message,
        # Percent-encoded beyond the plain URL characters, so a hostile path is not echoed raw.
        "instance": quote(request.url.path, safe="/:@!$&'()*+,;=-._~%"),
        "code": code,
        "message": message,
        "errors": [{"field": e.field, "message": e.message} for e in errors or []],
    }
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["requestId"] = request_id
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part and not str(part).startswith("function-after") and "[" not in str(part):
            path += ("." if path else "") + str(part)
    return path or "body"


def _validation_errors(exc: RequestValidationError) -> list[FieldError]:
    errors: list[FieldError] = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        kind = err.get("type", "")
        if kind == "extra_forbidden":
            message = "unknown field"
        elif kind == "missing":
            message = "is required"
        elif kind == "json_invalid":
            message = "the body is not valid JSON"
        else:
            message = str(err.get("msg", "is invalid"))
        # A JSON syntax error's location is a character offset, not a field.
        field = "body" if kind == "json_invalid" else _field_path(loc)
        errors.append(FieldError(field, message))
    return errors


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = next(s for cls, s in STATUS_OF.items() if isinstance(exc, cls))
    headers = {"WWW-Authenticate": "Impilo-API-Key"} if status == 401 else None
    return problem_response(
        request,
        status=status,
        code=exc.code,
        message=exc.message,
        errors=exc.errors,
        extra=exc.extra,
        headers=headers,
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    return problem_response(
        request,
        status=400,
        code="invalid_request",
        message=f"invalid request: {summary}",
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    headers = dict(exc.headers) if exc.headers else {}
    errors = None
    if status == 400:
        # The framework's only 400: a JSON body it could not decode (e.g. invalid UTF-8).
        errors = [FieldError("body", MSG_UNREADABLE_BODY)]
        message = f"invalid request: body: {MSG_UNREADABLE_BODY}"
    elif status == 404:
        message = "no such endpoint"
    elif status == 405:
        message = f"method {request.method} is not allowed here"
        allowed = allowed_methods(request.app, request.scope["path"])
        if allowed:  # else the framework's own answer stands (an undocumented path)
            headers["Allow"] = ", ".join(allowed)
    else:
        message = HTTPStatus(status).phrase
    return problem_response(
        request,
        status=status,
        code=GENERIC_CODES.get(status, "http_error"),
        message=message,
        errors=errors,
        headers=headers or None,
    )


def _database_unavailable(exc: Exception) -> bool:
    """A busy SQLite write lock or a lost PostgreSQL connection: worth retrying, not a bug."""
    if not isinstance(exc, OperationalError | InterfaceError | DBAPIError):
        return False
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    text = str(exc.orig if isinstance(exc, DBAPIError) else exc).lower()
    return any(
        marker in text
        for marker in ("database is locked", "connection", "terminating", "shutting down")
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The route's template, not the path: a path can hold an identifier. The logging guards
    # (kitdesk.logs) keep the exception's type and stack but not its message.
    template = getattr(request.scope.get("route"), "path_format", None)
    # This handler runs outside every middleware, RequestIdMiddleware included: set its header.
    request_id = getattr(request.state, "request_id", None)
    if _database_unavailable(exc):
        log.warning("database unavailable", extra={"fields": {"path": template}})
        headers = {"Retry-After": "1"}
        if request_id:
            headers["X-Request-ID"] = request_id
        return problem_response(
            request,
            status=503,
            code="database_unavailable",
            message="the database is busy or unreachable; retry the request",
            headers=headers,
        )
    log.exception("unexpected error", extra={"fields": {"path": template}})
    return problem_response(
        request,
        status=500,
        code="internal_error",
        message="internal error; quote the request id when reporting it",
        headers={"X-Request-ID": request_id} if request_id else None,
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses an endpoint can answer with."""
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until the rate-limit window ends.",
        "schema": {"type": "integer", "minimum": 0},
    }
}


def document_errors(schema: dict[str, Any]) -> None:
    """Add to every operation of an OpenAPI document the errors that any request may meet.

    400 everywhere (a NUL in the URL, a repeated single-valued query parameter), 413 and 415 on
    every POST, PUT and PATCH (the body guards), and under ``/api/v3/`` 401 (no valid key) and
    429 (rate limit, with ``Retry-After``); operator endpoints also 403.
    """
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            statuses = [400]
            if method in ("post", "put", "patch"):
                statuses += [413, 415]
            if path.startswith("/api/v3/"):
                statuses += [401, 429]
            if path.startswith("/api/v3/ops/"):
                statuses.append(403)
            responses = operation.setdefault("responses", {})
            for status, response in error_responses(*statuses).items():
                responses.setdefault(str(status), response)
            if "429" in responses:
                responses["429"] = {**responses["429"], "headers": RETRY_AFTER}
            operation["responses"] = dict(sorted(responses.items()))
