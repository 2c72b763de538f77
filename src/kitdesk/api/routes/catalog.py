"""Catalog endpoints: the items and kits a customer may order."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kitdesk.api.deps import CallerDep, PageDep, SessionDep
from kitdesk.api.problems import error_responses
from kitdesk.api.routes import PathId
from kitdesk.domain.catalog import service
from kitdesk.domain.catalog.schemas import ItemRead, KitRead
from kitdesk.domain.common import MAX_ID, Page

router = APIRouter(prefix="/api/v3", tags=["catalog"])


@router.get("/item", response_model=Page[ItemRead], responses=error_responses(400, 401))
async def list_items(session: SessionDep, caller: CallerDep, paging: PageDep) -> Page[ItemRead]:
    """List the items of the caller's catalog."""
    return await service.list_items(session, account_id=caller.account_id, page=paging)


@router.get("/item/{itemId}", response_model=ItemRead, responses=error_responses(400, 401, 404))
async def get_item(itemId: PathId, session: SessionDep, caller: CallerDep) -> ItemRead:
    """Fetch one item of the caller's catalog."""
    return service.item_read(
        await service.get_item(session, account_id=caller.account_id, item_id=itemId)
    )


@router.get("/kit", response_model=Page[KitRead], responses=error_responses(400, 401))
async def list_kits(
    session: SessionDep,
    caller: CallerDep,
    paging: PageDep,
    item_id: Annotated[
        int | None, Query(alias="itemId", ge=1, le=MAX_ID, description="Only kits with this item.")
    ] = None,
    archived: Annotated[bool | None, Query(description="Only (non-)archived kits.")] = None,
) -> Page[KitRead]:
    """List the kits the caller may order."""
    filters = service.KitFilters(item_id=item_id, archived=archived)
    return await service.list_kits(
        session, account_id=caller.account_id, filters=filters, page=paging
    )


@router.get("/kit/{kitId}", response_model=KitRead, responses=error_responses(400, 401, 404))
async def get_kit(kitId: PathId, session: SessionDep, caller: CallerDep) -> KitRead:
    """Fetch one kit."""
    return service.kit_read(
        await service.get_kit(session, account_id=caller.account_id, kit_id=kitId)
    )
