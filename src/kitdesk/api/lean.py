"""The three busiest endpoints, served without FastAPI's per-request machinery where not needed.

``POST /api/v3/order``, ``GET /api/v3/order/{orderId}`` and ``GET /api/v3/order`` stay FastAPI
routes: routing, the OpenAPI document, the middleware and the exception handlers see them as
before. Only the route's ``handle`` differs (``LeanRoute``). A request it can answer exactly as
the route would (an API key is present, no ``Idempotency-Key`` transaction to join, a path id or
a JSON body that validates and no query string, or a list page asked for by ``page``, ``size``,
``sort`` and ``sortDescending`` alone, in plain values) is served by calling the same functions
the route's dependencies call, in the same order of effects: the key check and its last-use
write, the service call, the audit flush, the commit, then the rendered response. Everything
else (a missing key, a body or path that does not validate, a query string the handler does not
read, a request inside an idempotent transaction, a streamed body) goes to FastAPI's handler
untouched, with the body replayed, so every error keeps the route's own wording.

On PostgreSQL all three go further, on a connection in autocommit with no session (one of the
app's ``KeptConnections``), every statement a transaction of its own. An order fetch is one
statement that reads the key and the order and writes the read's audit entry, the entry only
where the key check that follows will accept the key (``view_statements.KEYED_ONE``); that is
the one exception to the order of effects. A list page reads the key with the page's total and
ids in one statement (``queries.KEYED_PAGES``), then the page's views, then writes its audit
entry; lists with filters, and every list on SQLite, go through the route. An order is placed
by two round trips: the key with everything the order refers to (and an id drawn for it), then,
in one message and one transaction, the order with all its rows, its audit entry and its webhook
events, and its stock reservation (``placement.place_order_in_one_message``). The orders that
does not take (returns, unique external ids) are placed in a session's transaction from the
references already read.
Measured: FastAPI's dependency solving, its exit stacks and its shielded
generator exits cost an order about a fifth of the API's CPU (``bench/README.md``).

An exception raised here travels the same way as one raised in the route: the transaction rolls
back and the app's exception handlers (``kitdesk.api.problems``) answer.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from kitdesk.api import deps
from kitdesk.api.integrity import state as integrity_state
from kitdesk.api.rendered import RenderedJSON
from kitdesk.db import driver
from kitdesk.db.engine import session_scope
from kitdesk.domain.accounts.service import KEY_COLUMNS, hash_key
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.common import (
    DEFAULT_PAGE_SIZE,
    MAX_ID,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    PageRequest,
)
from kitdesk.domain.orders import new_rows, placement, queries, view_statements
from kitdesk.domain.orders.schemas import OrderCreate, OrderSort

API_KEY = deps.API_KEY_HEADER.lower().encode("latin-1")

# A handler answers the request, or returns None to hand it to the route's FastAPI handler.
Handler = Callable[[Request, str, bytes], Awaitable[Response | None]]


async def create_order(request: Request, key: str, body: bytes) -> Response | None:
    """``POST /api/v3/order``, as ``kitdesk.api.routes.orders.create_order`` answers it."""
    if request.scope.get("query_string") or not body:
        return None
    if _media_type(request.scope) != "application/json":
        return None
    try:
        # As FastAPI reads it: json.loads, then the body model in Python mode, from attributes.
        data = OrderCreate.model_validate(json.loads(body), from_attributes=True)
    except ValueError:  # a JSON syntax error or a ValidationError: the route words it
        return None
    kept = request.app.state.kept_connections
    if kept is not None:
        # PostgreSQL: on a connection in autocommit, no session. The key and what the order
        # refers to in the key's account, in one read (the references are used only once the
        # key has passed its checks); then, for most orders, the order written and its stock
        # reserved in one round trip, a transaction of its own.
        async with kept.connect() as connection:
            found, references = await new_rows.keyed_references(
                connection,
                digest=hash_key(key),
                draw_order_id=True,
                **placement.reference_ids(data),
            )
            caller = await deps.identify(request, connection, key, found=found)
            assert caller.account_id is not None  # an API key always belongs to an account
            placed = await placement.place_order_in_one_message(
                connection,
                account_id=caller.account_id,
                data=data,
                key_prefix=caller.key_prefix,
                references=references,
            )
        if placed is None:
            # An order that way does not take: placed in a session's transaction,
            # from the references read above (a read takes no locks, and each statement of a
            # transaction reads its own snapshot anyway).
            async with session_scope(request.app.state.session_factory) as session:
                placed = await placement.place_order(
                    session,
                    account_id=caller.account_id,
                    data=data,
                    key_prefix=caller.key_prefix,
                    commit=True,
                    references=references,
                )
                await audit.write_pending(session)
        return RenderedJSON(placed.view, status_code=201)
    async with session_scope(request.app.state.session_factory) as session:
        # The key and what the order refers to in the key's account, in one read; the
        # references are used only once the key has passed its checks.
        found, references = await new_rows.keyed_references(
            session, digest=hash_key(key), **placement.reference_ids(data)
        )
        caller = await deps.identify(request, session, key, found=found)
        # Nothing is written after the order: placement may commit with the reservation.
        placed = await placement.place_order(
            session,
            account_id=caller.account_id,
            data=data,
            key_prefix=caller.key_prefix,
            commit=True,
            references=references,
        )
        await audit.write_pending(session)
    return RenderedJSON(placed.view, status_code=201)


async def get_order(request: Request, key: str, body: bytes) -> Response | None:
    """``GET /api/v3/order/{orderId}``, as ``kitdesk.api.routes.orders.get_order`` answers it."""
    if request.scope.get("query_string"):
        return None
    raw = request.scope.get("path_params", {}).get("orderId")
    # Plain decimal digits in range read the same to pydantic and to int(); the rest is the
    # route's to refuse.
    if not isinstance(raw, str) or not (raw.isascii() and raw.isdigit()):
        return None
    order_id = int(raw)
    if not 1 <= order_id <= MAX_ID:
        return None
    reads = request.app.state.kept_connections
    if reads is not None:
        # PostgreSQL: a connection in autocommit, no session. The reads and the audit entry's
        # INSERT need no transaction, and a session's bookkeeping cost as much CPU as two of
        # the fetch's statements.
        async with reads.connect() as connection:
            # The key, the order of the key's account with everything its view needs, and the
            # read's audit entry (written only for an accepted key and a found order), in one
            # statement. The order's values are used only once the key has passed its checks,
            # judged at the same time as the statement judged it.
            params = queries.keyed_fetch_params(digest=hash_key(key), order_id=order_id)
            rows = await driver.fetch(connection, view_statements.KEYED_ONE, params)
            width = KEY_COLUMNS
            await deps.identify(
                request, connection, key, found=[r[:width] for r in rows], now=params["now"]
            )
        # Built once the connection is given back, free for the next request meanwhile.
        view = queries.keyed_order_view(order_id, [r[width:] for r in rows if r[width] is not None])
        return RenderedJSON(view)
    async with session_scope(request.app.state.session_factory) as session:
        caller = await deps.identify(request, session, key)
        view = await queries.get_order(session, account_id=caller.account_id, order_id=order_id)
        await audit.write_pending(session)
    return RenderedJSON(view)


async def list_orders(request: Request, key: str, body: bytes) -> Response | None:
    """``GET /api/v3/order`` without filters, as ``kitdesk.api.routes.orders.list_orders``
    answers it; on PostgreSQL only."""
    reads = request.app.state.kept_connections
    asked = _plain_page(request.scope.get("query_string", b""))
    if reads is None or asked is None:
        return None
    page, sort = asked
    statement = queries.KEYED_PAGES[(sort, page.sort_descending)]
    params = {"digest": hash_key(key), "offset": page.offset, "size": page.size}
    # As the fetch: a connection in autocommit, no session; the key read with the page's total
    # and ids, the page's views read by the key's account only, then the list's audit entry.
    async with reads.connect() as connection:
        rows = await driver.fetch(connection, statement, params)
        width = KEY_COLUMNS
        caller = await deps.identify(request, connection, key, found=[r[:width] for r in rows])
        assert caller.account_id is not None  # an API key always belongs to an account
        view = await queries.keyed_page_view(
            connection, account_id=caller.account_id, page=page, found=[r[width:] for r in rows]
        )
    return RenderedJSON(view)


# The query parameters of a list page the lean list answers, and the values it reads itself; any
# other parameter (a filter), a repeated one or another spelling of a value goes to FastAPI.
_PAGE_PARAMETERS = {"page", "size", "sort", "sortDescending"}
_SORTS: dict[str, OrderSort] = {"id": "id", "createdAt": "createdAt"}
_DESCENDING = {"false": False, "true": True}


def _plain_page(query: bytes) -> tuple[PageRequest, OrderSort] | None:
    """The page and sort a list's query string asks for, if it asks for nothing else and every
    value is one the route's parameters read the same way; else None."""
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    given = dict(pairs)
    if len(given) != len(pairs) or not given.keys() <= _PAGE_PARAMETERS:
        return None
    number = _whole(given.get("page", "1"), MAX_PAGE)
    size = _whole(given.get("size", str(DEFAULT_PAGE_SIZE)), MAX_PAGE_SIZE)
    sort = _SORTS.get(given.get("sort", "id"))
    descending = _DESCENDING.get(given.get("sortDescending", "false"))
    if number is None or size is None or sort is None or descending is None:
        return None
    return PageRequest(page=number, size=size, sort_descending=descending), sort


def _whole(text: str, most: int) -> int | None:
    # Plain decimal digits within 1..most, which pydantic reads as int() does.
    if not (text.isascii() and text.isdigit()) or len(text) > 20:
        return None
    value = int(text)
    return value if 1 <= value <= most else None


# The wrapped routes: (method, path template) -> handler.
HANDLERS: dict[tuple[str, str], Handler] = {
    ("POST", "/api/v3/order"): create_order,
    ("GET", "/api/v3/order/{orderId}"): get_order,
    ("GET", "/api/v3/order"): list_orders,
}


class LeanRoute(APIRoute):
    """A route that answers through its handler in ``HANDLERS`` when it can, else as FastAPI does.

    The orders router builds its routes with this class; a route without a handler, and every
    request a handler declines, takes FastAPI's path (``APIRoute.handle``) unchanged.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = HANDLERS.get((scope["method"], self.path_format))
        key = _api_key(scope)
        if handler is None or not key or integrity_state.SESSION in scope.get("state", {}):
            await super().handle(scope, receive, send)
            return
        body = b""
        if scope["method"] == "POST":
            first = await receive()
            receive = _replaying(first, receive)
            if first["type"] != "http.request" or first.get("more_body", False):
                # A client that left, or a body in several pieces: FastAPI reads it as usual.
                await super().handle(scope, receive, send)
                return
            body = first.get("body", b"")
        response = await handler(Request(scope, receive), key, body)
        if response is None:
            await super().handle(scope, receive, send)
            return
        await response(scope, receive, send)


def _api_key(scope: Scope) -> str | None:
    # The first Impilo-API-Key header, decoded as FastAPI's APIKeyHeader reads it.
    for name, value in scope.get("headers", ()):
        if name == API_KEY:
            key: str = value.decode("latin-1")
            return key
    return None


def _media_type(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            text: str = value.decode("latin-1")
            return text.split(";", 1)[0].strip().lower()
    return None


def _replaying(first: Message, receive: Receive) -> Receive:
    """A ``receive`` that hands out ``first`` again, then defers to the real one."""
    pending = [first]

    async def replay() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replay
