"""Operator endpoints (operator keys only): warehouses, stock, and working orders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kitdesk.api.deps import OperatorDep, PageDep, SessionDep
from kitdesk.api.problems import error_responses
from kitdesk.api.rendered import RenderedJSON
from kitdesk.api.routes import IdList, PathId
from kitdesk.domain.common import MAX_ID, Page
from kitdesk.domain.devices.schemas import DeviceRead
from kitdesk.domain.devices.views import device_read
from kitdesk.domain.inventory import service as inventory
from kitdesk.domain.inventory.schemas import (
    DeviceReceipt,
    FulfillmentSiteCreate,
    FulfillmentSiteRead,
    StockLevelRead,
    StockReceipt,
)
from kitdesk.domain.orders import fulfillment, queries
from kitdesk.domain.orders.fulfillment_schemas import OrderMove
from kitdesk.domain.orders.lifecycle import Status
from kitdesk.domain.orders.schemas import OrderRead

router = APIRouter(prefix="/api/v3/ops", tags=["operator"])
ERRORS = error_responses(400, 401, 403, 404)
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.post(
    "/fulfillment-site",
    status_code=201,
    response_model=FulfillmentSiteRead,
    responses=error_responses(400, 401, 403, 409),
)
async def create_fulfillment_site(
    body: FulfillmentSiteCreate, session: SessionDep, _: OperatorDep
) -> FulfillmentSiteRead:
    """Add a warehouse."""
    return inventory.site_read(await inventory.create_fulfillment_site(session, data=body))


@router.get("/fulfillment-site", response_model=list[FulfillmentSiteRead], responses=ERRORS)
async def list_fulfillment_sites(session: SessionDep, _: OperatorDep) -> list[FulfillmentSiteRead]:
    """Every warehouse."""
    return [inventory.site_read(s) for s in await inventory.list_fulfillment_sites(session)]


@router.post(
    "/fulfillment-site/{siteId}/stock", response_model=list[StockLevelRead], responses=ERRORS
)
async def receive_stock(
    siteId: PathId,
    body: StockReceipt,
    session: SessionDep,
    _: OperatorDep,
) -> list[StockLevelRead]:
    """Counted units arrive at a warehouse; returns the item's new stock level there."""
    await inventory.receive_stock(session, site_id=siteId, data=body)
    return await inventory.stock_levels(session, site_id=siteId, item_id=body.item_id)


@router.post(
    "/fulfillment-site/{siteId}/devices",
    status_code=201,
    response_model=list[DeviceRead],
    responses=ERRORS,
)
async def receive_devices(
    siteId: PathId,
    body: DeviceReceipt,
    session: SessionDep,
    _: OperatorDep,
) -> list[DeviceRead]:
    """Serialized units arrive at a warehouse, one device per identifier."""
    devices = await inventory.receive_devices(session, site_id=siteId, data=body)
    return [device_read(d) for d in await inventory.load_devices(session, [d.id for d in devices])]


@router.get("/stock", response_model=list[StockLevelRead], responses=ERRORS)
async def stock(
    session: SessionDep,
    _: OperatorDep,
    fulfillment_site_id: Annotated[OptionalId, Query(alias="fulfillmentSiteId")] = None,
    item_id: Annotated[OptionalId, Query(alias="itemId")] = None,
) -> list[StockLevelRead]:
    """On hand, reserved and available, per warehouse and item."""
    return await inventory.stock_levels(session, site_id=fulfillment_site_id, item_id=item_id)


@router.get("/order", response_model=Page[OrderRead], responses=ERRORS)
async def list_orders(
    session: SessionDep,
    _: OperatorDep,
    paging: PageDep,
    account_id: Annotated[OptionalId, Query(alias="accountId")] = None,
    id: Annotated[IdList, Query()] = [],
    current_status: Annotated[list[Status], Query(alias="currentStatus")] = [],
) -> RenderedJSON:
    """Orders of every customer, oldest first, with filters."""
    filters = queries.OrderFilters(ids=id, statuses=current_status)
    return RenderedJSON(
        await queries.list_orders(session, account_id=account_id, filters=filters, page=paging)
    )


@router.get("/order/{orderId}", response_model=OrderRead, responses=ERRORS)
async def get_order(orderId: PathId, session: SessionDep, _: OperatorDep) -> RenderedJSON:
    """Any customer's order."""
    return RenderedJSON(await queries.get_order(session, account_id=None, order_id=orderId))


@router.post(
    "/order/{orderId}/status",
    response_model=OrderRead,
    responses=error_responses(400, 401, 403, 404, 409),
)
async def move_order(
    orderId: PathId,
    body: OrderMove,
    session: SessionDep,
    caller: OperatorDep,
) -> RenderedJSON:
    """Move an order to its next status (see GET /api/v3/order-status for the table)."""
    order = await fulfillment.lock_order(session, order_id=orderId, account_id=None)
    await fulfillment.move(session, order, body, key_prefix=caller.key_prefix)
    return RenderedJSON(await queries.get_order(session, account_id=None, order_id=orderId))
