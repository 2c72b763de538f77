"""The FastAPI application factory."""

from __future__ import annotations

import copy
import gc
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kitdesk import logs
from kitdesk.api import deps, problems
from kitdesk.api.guards import RequestGuardMiddleware
from kitdesk.api.integrity import openapi as integrity_openapi
from kitdesk.api.integrity.middleware import IntegrityMiddleware
from kitdesk.api.request_log import RequestLogMiddleware
from kitdesk.api.routes import (
    catalog,
    devices,
    health,
    ops,
    ops_accounts,
    ops_audit,
    ops_returns,
    orders,
    patients,
    returns,
    sites,
    webhook_logs,
    webhooks,
)
from kitdesk.db.engine import create_engine, create_kept_connections, create_session_factory
from kitdesk.domain.webhooks.worker import in_process_worker
from kitdesk.settings import Settings

DESCRIPTION = """
Kitdesk runs order management for remote-patient-monitoring device logistics.
Its customer API follows the Impilo Platform API v3: paths under `/api/v3/`,
the `Impilo-API-Key` header, camelCase JSON and the page envelope
`{content, page, size, total, first, last}`. Errors are `application/problem+json`.
"""


class RequestIdMiddleware:
    """Gives every request an id (the caller's ``X-Request-ID`` if sane) and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id" and 0 < len(value) <= 64 and value.isascii():
                candidate = value.decode("ascii")
                if candidate.replace("-", "").replace("_", "").isalnum():
                    request_id = candidate
                break
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("ascii")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ASGI application for ``settings`` (read from the environment when omitted)."""
    settings = settings or Settings()
    logs.install_guards()

    # The engine belongs to the app: creating it opens no connection. Its connection pool lives
    # as long as the lifespan, which closes it; a later lifespan of the same app (the test suite
    # runs many) opens a new one and keeps the engine's compiled statements.
    engine = create_engine(settings)
    # The lean reads' connections, kept checked out between reads (PostgreSQL only): given back
    # before the pool is disposed of.
    reads = create_kept_connections(engine, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with in_process_worker(settings, engine):
                yield
        finally:
            if reads is not None:
                await reads.close()
            await engine.dispose()

    app = FastAPI(
        title="Kitdesk",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(deps.single_valued_query)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = create_session_factory(engine)
    app.state.kept_connections = reads
    problems.install(app)
    # Routers are tried in this order for every request: the order endpoints, the busiest, come
    # first (measured: about 5 % of an order request's CPU went to matching the routers before).
    for module in (
        orders,
        health,
        patients,
        sites,
        catalog,
        devices,
        returns,
        ops,
        ops_accounts,
        ops_audit,
        ops_returns,
        webhook_logs,  # before webhooks: /webhook/logs is not a webhook id
        webhooks,
    ):
        app.include_router(module.router)
    # Added first, so it runs inside RequestIdMiddleware and its problems carry the request id.
    app.add_middleware(IntegrityMiddleware, settings=settings)
    # Outside the integrity middleware: a hostile body is refused before anything reads it.
    app.add_middleware(RequestGuardMiddleware, max_body_bytes=settings.max_body_bytes)
    # Inside RequestIdMiddleware (it needs the id), outside the rest (it logs their answers too).
    app.add_middleware(RequestLogMiddleware)
    app.add_middleware(RequestIdMiddleware)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = copy.deepcopy(_openapi_document(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


# The document depends on the code only (every app has the same routes, whatever its settings), so
# a process builds it once: generating it takes about a second, which every app (each test's, each
# worker's) would otherwise pay on its first request.
_document: dict[str, Any] | None = None


def _openapi_document(app: FastAPI) -> dict[str, Any]:
    global _document
    if _document is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(_problem_schemas())
        _replace_422_with_400(schema)
        problems.document_errors(schema)
        integrity_openapi.document(schema)
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        _document = schema
    return _document


def _replace_422_with_400(schema: dict[str, Any]) -> None:
    """Kitdesk answers invalid input with 400 problem+json, never FastAPI's default 422."""
    bad_request = problems.error_responses(400)[400]
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is not None:
                responses.setdefault("400", bad_request)


def _problem_schemas() -> dict[str, Any]:
    schema = problems.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    return {"Problem": schema, **defs}


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (each worker process reads the environment)."""
    settings = Settings()
    # Each server process logs JSON lines, uvicorn's own included.
    logs.configure(settings)
    app = create_app(settings)
    settle_heap()
    return app


# Young-generation collections run after this many new container objects (Python's default: 700).
GC_YOUNG_THRESHOLD = 10_000


def settle_heap() -> None:
    """Tune the cyclic garbage collector of a server process once its code is loaded.

    Everything alive now (modules, models, mappers, routes: most of a worker's heap) lives as
    long as the process, so it is moved out of the collector's reach (``gc.freeze``): a full
    collection no longer walks it, which took tens of milliseconds and showed as the slowest
    requests. Young collections run less often too; what requests leave behind is still
    collected. Measured with the benchmark at 16 connections: p99 of a fetch 131 -> 57 ms, API
    CPU per order about 14 % lower.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)
