"""Operator endpoints for customer accounts' settings."""

from __future__ import annotations

from fastapi import APIRouter

from kitdesk.api.deps import OperatorDep, SessionDep
from kitdesk.api.problems import error_responses
from kitdesk.api.routes import PathId
from kitdesk.domain.accounts import service as accounts
from kitdesk.domain.accounts.schemas import AccountPatch, AccountRead
from kitdesk.domain.integrity import external_ids

router = APIRouter(prefix="/api/v3/ops", tags=["operator"])
ERRORS = error_responses(400, 401, 403, 404)


@router.get("/account/{accountId}", response_model=AccountRead, responses=ERRORS)
async def get_account(accountId: PathId, session: SessionDep, _: OperatorDep) -> AccountRead:
    """One account and its settings."""
    return AccountRead.model_validate(
        await accounts.get_account(session, accountId), from_attributes=True
    )


@router.patch("/account/{accountId}", response_model=AccountRead, responses=ERRORS)
async def update_account(
    accountId: PathId, body: AccountPatch, session: SessionDep, _: OperatorDep
) -> AccountRead:
    """Change an account's settings (uniqueExternalOrderIds)."""
    account = await accounts.get_account(session, accountId)
    if body.unique_external_order_ids is not None:
        account = await external_ids.set_unique(
            session, account_id=accountId, unique=body.unique_external_order_ids
        )
    return AccountRead.model_validate(account, from_attributes=True)
