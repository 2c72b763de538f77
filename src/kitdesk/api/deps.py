"""Request dependencies: the transaction, the caller, paging."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.engine import session_scope
from kitdesk.domain.accounts.service import Caller, authenticate
from kitdesk.domain.common import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE, PageRequest
from kitdesk.errors import Forbidden

API_KEY_HEADER = "Impilo-API-Key"
api_key_scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    # One transaction per request. scope="function" (below) makes the commit happen before the
    # response is sent, so a client never sees a success for a change that did not commit.
    async with session_scope(request.app.state.session_factory) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(_session, scope="function")]


async def _caller(request: Request, key: Annotated[str | None, Depends(api_key_scheme)]) -> Caller:
    # A short transaction of its own, before the request's: the key's last use is recorded even
    # when the request then fails and rolls back, and the key's row is not kept locked while a
    # long request runs (which would queue every other request made with the same key).
    async with session_scope(request.app.state.session_factory) as session:
        return await authenticate(session, key)


CallerDep = Annotated[Caller, Depends(_caller)]


async def _operator(caller: CallerDep) -> Caller:
    if not caller.is_operator:
        raise Forbidden(code="forbidden", message="this endpoint needs an operator key")
    return caller


OperatorDep = Annotated[Caller, Depends(_operator)]


def _page(
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
