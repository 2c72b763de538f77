"""Request dependencies: the transaction, the caller, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kitdesk import context
from kitdesk.api import documented
from kitdesk.api.integrity import state as integrity_state
from kitdesk.db.engine import session_scope
from kitdesk.domain.accounts.service import Caller, KeyRejected, check_key, record_use
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.common import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    PageRequest,
    invalid_input,
)
from kitdesk.errors import FieldError, Forbidden

API_KEY_HEADER = "Impilo-API-Key"
api_key_scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    # One transaction per request. scope="function" (below) makes the commit happen before the
    # response is sent, so a client never sees a success for a change that did not commit.
    shared = integrity_state.shared_session(request)
    if shared is not None:
        # An Idempotency-Key request: the middleware commits this transaction together with
        # the stored response, or rolls both back.
        yield shared
        return
    async with session_scope(request.app.state.session_factory) as session:
        yield session
        # Reached only when the request succeeded: its audit entries go in with the commit.
        await audit.write_pending(session)


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]


async def _caller(
    request: Request, session: SessionDep, key: Annotated[str | None, Depends(api_key_scheme)]
) -> Caller:
    return await identify(request, session, key)


async def identify(
    request: Request,
    session: AsyncSession | AsyncConnection,
    key: str | None,
    *,
    found: Sequence[Sequence[Any]] | None = None,
    now: datetime | None = None,
) -> Caller:
    """The caller behind the request's API key, named in the request's context (or 401).

    ``found`` and ``now``: as ``check_key`` takes them."""
    # The key is read in the request's own transaction: a request costs one transaction. Once
    # its last recorded use is older than the configured resolution, that use is written and
    # committed at once, before the request does anything else: it is recorded even when the
    # request then fails and rolls back, and the key's row is not kept locked while a long
    # request runs (which would queue every other request made with the same key).
    known = integrity_state.known_caller(request)  # already authenticated by the middleware
    if known is None:
        resolution = timedelta(seconds=request.app.state.settings.api_key_last_used_seconds)
        try:
            check = await check_key(session, key, resolution=resolution, found=found, now=now)
        except KeyRejected as exc:
            _name_caller(exc.account_id, exc.key_prefix)  # its refusal names the key's owner
            raise
        if check.use_due:
            await record_use(session, key_id=check.key_id, resolution=resolution)
            await session.commit()
        known = check.caller
    _name_caller(known.account_id, known.key_prefix)
    return known


def _name_caller(account_id: int | None, key_prefix: str | None) -> None:
    """Name the caller in the request's context, for audit entries and the access-log line."""
    work = context.current()
    if work is not None:
        work.account_id, work.key_prefix = account_id, key_prefix


CallerDep = Annotated[Caller, Depends(_caller, scope="function")]


async def _operator(caller: CallerDep) -> Caller:
    if not caller.is_operator:
        raise Forbidden(code="forbidden", message="this endpoint needs an operator key")
    return caller


OperatorDep = Annotated[Caller, Depends(_operator, scope="function")]


async def _page(
    # async, like every dependency here: FastAPI runs a plain function in its thread pool.
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, 1-based.")] = 1,
    size: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size (default 15, max 250).")
    ] = DEFAULT_PAGE_SIZE,
    sort_descending: Annotated[
        bool, Query(alias="sortDescending", description="Sort descending when true.")
    ] = False,
) -> PageRequest:
    return PageRequest(page=page, size=size, sort_descending=sort_descending)


PageDep = Annotated[PageRequest, Depends(_page)]


async def single_valued_query(request: Request) -> None:
    """Refuse a repeated query parameter that the OpenAPI document declares single-valued
    (``?size=1&size=500``), rather than silently reading one of its values."""
    route = request.scope.get("route")
    if not request.query_params or not isinstance(route, APIRoute):
        return
    names = documented.single_valued_query(request.app, request.method, route.path_format)
    repeated = sorted(n for n in names if len(request.query_params.getlist(n)) > 1)
    if repeated:
        raise invalid_input([FieldError(n, "must be given at most once") for n in repeated])
