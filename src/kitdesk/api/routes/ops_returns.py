"""Operator endpoints for returns: moving and receiving them, inspecting devices, loaners out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kitdesk.api.deps import OperatorDep, PageDep, SessionDep
from kitdesk.api.problems import error_responses
from kitdesk.api.routes import IdList, PathId
from kitdesk.domain.common import MAX_ID, Page
from kitdesk.domain.devices.schemas import DeviceRead
from kitdesk.domain.devices.views import device_read
from kitdesk.domain.returns import service
from kitdesk.domain.returns.schemas import (
    DeviceInspection,
    LoanerRead,
    ReturnMove,
    ReturnRead,
    ReturnReceipt,
)
from kitdesk.domain.returns.states import ReturnStatus

router = APIRouter(prefix="/api/v3/ops", tags=["operator"])
ERRORS = error_responses(400, 401, 403, 404)
MOVE_ERRORS = error_responses(400, 401, 403, 404, 409)
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get("/return", response_model=Page[ReturnRead], responses=ERRORS)
async def list_returns(
    session: SessionDep,
    _: OperatorDep,
    paging: PageDep,
    account_id: Annotated[OptionalId, Query(alias="accountId")] = None,
    id: Annotated[IdList, Query(description="Only these return ids (repeatable).")] = [],
    related_order_id: Annotated[IdList, Query(alias="relatedOrderId")] = [],
    current_status: Annotated[list[ReturnStatus], Query(alias="currentStatus")] = [],
) -> Page[ReturnRead]:
    """Returns of every customer, oldest first, with filters."""
    filters = service.ReturnFilters(
        ids=id, related_order_ids=related_order_id, statuses=current_status
    )
    return await service.list_returns(session, account_id=account_id, filters=filters, page=paging)


@router.get("/return/{returnId}", response_model=ReturnRead, responses=ERRORS)
async def get_return(returnId: PathId, session: SessionDep, _: OperatorDep) -> ReturnRead:
    """Any customer's return."""
    return await service.get_return(session, account_id=None, return_id=returnId)


@router.post("/return/{returnId}/status", response_model=ReturnRead, responses=MOVE_ERRORS)
async def move_return(
    returnId: PathId,
    body: ReturnMove,
    session: SessionDep,
    _: OperatorDep,
) -> ReturnRead:
    """Move a return: requested -> labelSent | inTransit | cancelled, labelSent -> inTransit |
    cancelled, received -> completed (receiving has its own operation)."""
    ret = await service.lock_return(session, return_id=returnId)
    await service.move_return(session, ret, body.status, body.tracking_numbers)
    return await service.get_return(session, account_id=None, return_id=returnId)


@router.post("/return/{returnId}/receive", response_model=ReturnRead, responses=MOVE_ERRORS)
async def receive_return(
    returnId: PathId,
    body: ReturnReceipt,
    session: SessionDep,
    _: OperatorDep,
) -> ReturnRead:
    """A return in transit arrives at a warehouse: its devices wait there for inspection."""
    ret = await service.lock_return(session, return_id=returnId)
    await service.receive_return(session, ret, body.fulfillment_site_id)
    return await service.get_return(session, account_id=None, return_id=returnId)


@router.post("/device/{deviceId}/inspect", response_model=DeviceRead, responses=MOVE_ERRORS)
async def inspect_device(
    deviceId: PathId,
    body: DeviceInspection,
    session: SessionDep,
    _: OperatorDep,
) -> DeviceRead:
    """Inspect a returned device: back in stock at its warehouse, or retired."""
    device = await service.inspect_device(session, device_id=deviceId, result=body.result)
    return device_read(device)


@router.get("/loaner", response_model=list[LoanerRead], responses=ERRORS)
async def list_loaners(
    session: SessionDep,
    _: OperatorDep,
    account_id: Annotated[OptionalId, Query(alias="accountId")] = None,
) -> list[LoanerRead]:
    """Delivered loaner kits of every customer (or one) whose devices are not all back."""
    return await service.list_loaners_out(session, account_id=account_id)
