"""Order endpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from kitdesk.api.deps import CallerDep, PageDep, SessionDep
from kitdesk.api.integrity import state as integrity_state
from kitdesk.api.lean import LeanRoute
from kitdesk.api.problems import error_responses
from kitdesk.api.rendered import RenderedJSON
from kitdesk.api.routes import IdList, PathId
from kitdesk.domain.common import Page, Timestamp
from kitdesk.domain.orders import fulfillment, lifecycle, placement, queries
from kitdesk.domain.orders.lifecycle import Status
from kitdesk.domain.orders.schemas import (
    OrderCreate,
    OrderNoteIn,
    OrderRead,
    OrderSort,
    OrderStatusRead,
)

# Its two busiest routes answer plain requests without FastAPI's per-request work (api/lean.py).
router = APIRouter(prefix="/api/v3", tags=["orders"], route_class=LeanRoute)

CREATED_MIN_DOC = "Only orders created at or after this ISO-8601 time (UTC when it has no offset)."
CREATED_MAX_DOC = "Only orders created at or before this ISO-8601 time (UTC when it has no offset)."


def _as_utc(moment: datetime | None) -> datetime | None:
    # Impilo's timestamps are UTC: a time sent without an offset means UTC, not server time.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.post(
    "/order", status_code=201, response_model=OrderRead, responses=error_responses(400, 401)
)
async def create_order(
    request: Request, body: OrderCreate, session: SessionDep, caller: CallerDep
) -> RenderedJSON:
    """Create an order for exactly one existing patient or site."""
    placed = await placement.place_order(
        session,
        account_id=caller.account_id,
        data=body,
        key_prefix=caller.key_prefix,
        # The request's own transaction ends with the order; an Idempotency-Key request's goes
        # on to store the response, and commits with it.
        commit=integrity_state.shared_session(request) is None,
    )
    # Placement assembled the new order's view from the rows it read and wrote: no reload.
    return RenderedJSON(placed.view, status_code=201)


@router.get("/order", response_model=Page[OrderRead], responses=error_responses(400, 401))
async def list_orders(
    session: SessionDep,
    caller: CallerDep,
    paging: PageDep,
    id: Annotated[IdList, Query(description="Only these order ids (repeatable).")] = [],
    patient_id: Annotated[IdList, Query(alias="patientId")] = [],
    site_id: Annotated[IdList, Query(alias="siteId")] = [],
    external_order_id: Annotated[
        str | None, Query(alias="externalOrderId", description="Orders carrying this id.")
    ] = None,
    current_status: Annotated[list[Status], Query(alias="currentStatus")] = [],
    created_at_min: Annotated[
        Timestamp | None, Query(alias="createdAtMin", description=CREATED_MIN_DOC)
    ] = None,
    created_at_max: Annotated[
        Timestamp | None, Query(alias="createdAtMax", description=CREATED_MAX_DOC)
    ] = None,
    sort: OrderSort = "id",
) -> RenderedJSON:
    """List the account's orders, page by page, with filters."""
    filters = queries.OrderFilters(
        ids=id,
        patient_ids=patient_id,
        site_ids=site_id,
        external_order_id=external_order_id,
        statuses=current_status,
        created_at_min=_as_utc(created_at_min),
        created_at_max=_as_utc(created_at_max),
    )
    return RenderedJSON(
        await queries.list_orders(
            session, account_id=caller.account_id, filters=filters, page=paging, sort=sort
        )
    )


@router.get("/order/{orderId}", response_model=OrderRead, responses=error_responses(400, 401, 404))
async def get_order(orderId: PathId, session: SessionDep, caller: CallerDep) -> RenderedJSON:
    """Fetch one order."""
    return RenderedJSON(
        await queries.get_order(session, account_id=caller.account_id, order_id=orderId)
    )


@router.get("/order-status", response_model=list[OrderStatusRead], responses=error_responses(401))
async def order_statuses(caller: CallerDep) -> list[dict[str, object]]:
    """The order lifecycle: every status and the statuses it may move to."""
    return lifecycle.table()


@router.post(
    "/order/{orderId}/cancel",
    response_model=OrderRead,
    responses=error_responses(400, 401, 404, 409),
)
async def cancel_order(orderId: PathId, session: SessionDep, caller: CallerDep) -> RenderedJSON:
    """Cancel an order that is not packed yet; its reserved stock is released."""
    order = await fulfillment.lock_order(session, order_id=orderId, account_id=caller.account_id)
    await fulfillment.cancel(session, order, allowed=lifecycle.CUSTOMER_CANCELLABLE)
    return RenderedJSON(
        await queries.get_order(session, account_id=caller.account_id, order_id=orderId)
    )


@router.post(
    "/order/{orderId}/note",
    status_code=201,
    response_model=OrderRead,
    responses=error_responses(400, 401, 404),
)
async def add_order_note(
    orderId: PathId,
    body: OrderNoteIn,
    session: SessionDep,
    caller: CallerDep,
) -> RenderedJSON:
    """Attach a note to an order."""
    await fulfillment.add_note(
        session,
        account_id=caller.account_id,
        order_id=orderId,
        note=body.note,
        key_prefix=caller.key_prefix,
    )
    return RenderedJSON(
        await queries.get_order(session, account_id=caller.account_id, order_id=orderId),
        status_code=201,
    )
