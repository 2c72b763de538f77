"""Return (RMA) endpoints, and the customer's loaner kits out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kitdesk.api.deps import CallerDep, PageDep, SessionDep
from kitdesk.api.problems import error_responses
from kitdesk.api.routes import IdList, PathId
from kitdesk.domain.common import Page
from kitdesk.domain.returns import service
from kitdesk.domain.returns.schemas import LoanerRead, ReturnCreate, ReturnRead
from kitdesk.domain.returns.states import ReturnStatus

router = APIRouter(prefix="/api/v3", tags=["returns"])


@router.post(
    "/return", status_code=201, response_model=ReturnRead, responses=error_responses(400, 401)
)
async def create_return(body: ReturnCreate, session: SessionDep, caller: CallerDep) -> ReturnRead:
    """Open a return (RMA) of devices, counted items and packed kits from one patient or site."""
    ret = await service.create_return(session, account_id=caller.account_id, data=body)
    return await service.get_return(session, account_id=caller.account_id, return_id=ret.id)


@router.get("/return", response_model=Page[ReturnRead], responses=error_responses(400, 401))
async def list_returns(
    session: SessionDep,
    caller: CallerDep,
    paging: PageDep,
    id: Annotated[IdList, Query(description="Only these return ids (repeatable).")] = [],
    patient_id: Annotated[IdList, Query(alias="patientId")] = [],
    site_id: Annotated[IdList, Query(alias="siteId")] = [],
    related_order_id: Annotated[IdList, Query(alias="relatedOrderId")] = [],
    current_status: Annotated[list[ReturnStatus], Query(alias="currentStatus")] = [],
) -> Page[ReturnRead]:
    """List the account's returns, oldest first, page by page, with filters."""
    filters = service.ReturnFilters(
        ids=id,
        patient_ids=patient_id,
        site_ids=site_id,
        related_order_ids=related_order_id,
        statuses=current_status,
    )
    return await service.list_returns(
        session, account_id=caller.account_id, filters=filters, page=paging
    )


@router.get(
    "/return/{returnId}", response_model=ReturnRead, responses=error_responses(400, 401, 404)
)
async def get_return(returnId: PathId, session: SessionDep, caller: CallerDep) -> ReturnRead:
    """Fetch one return."""
    return await service.get_return(session, account_id=caller.account_id, return_id=returnId)


@router.get("/loaner", response_model=list[LoanerRead], responses=error_responses(401))
async def list_loaners(session: SessionDep, caller: CallerDep) -> list[LoanerRead]:
    """The account's delivered loaner kits whose devices are not all back yet."""
    return await service.list_loaners_out(session, account_id=caller.account_id)
