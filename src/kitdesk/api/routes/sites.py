"""Site endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kitdesk.api.deps import CallerDep, PageDep, SessionDep
from kitdesk.api.problems import error_responses
from kitdesk.api.routes import IdList, PathId
from kitdesk.domain.common import Page
from kitdesk.domain.sites import service
from kitdesk.domain.sites.schemas import SiteCreate, SitePatch, SiteRead, SiteUpdate

router = APIRouter(prefix="/api/v3/site", tags=["sites"])


@router.post("", status_code=201, response_model=SiteRead, responses=error_responses(400, 401))
async def create_site(body: SiteCreate, session: SessionDep, caller: CallerDep) -> SiteRead:
    """Create a site; orders and patients refer to it by the returned id."""
    site = await service.create_site(session, account_id=caller.account_id, data=body)
    return service.to_read(site)


@router.get("", response_model=Page[SiteRead], responses=error_responses(400, 401))
async def list_sites(
    session: SessionDep,
    caller: CallerDep,
    paging: PageDep,
    id: Annotated[IdList, Query(description="Only these site ids (repeatable).")] = [],
    name: Annotated[str | None, Query(description="Case-insensitive part of the name.")] = None,
    active: bool | None = None,
) -> Page[SiteRead]:
    """List the account's sites, page by page."""
    filters = service.SiteFilters(ids=id, name=name, active=active)
    return await service.list_sites(
        session, account_id=caller.account_id, filters=filters, page=paging
    )


@router.get("/{siteId}", response_model=SiteRead, responses=error_responses(400, 401, 404))
async def get_site(siteId: PathId, session: SessionDep, caller: CallerDep) -> SiteRead:
    """Fetch one site."""
    return service.to_read(
        await service.get_site(session, account_id=caller.account_id, site_id=siteId)
    )


@router.put("/{siteId}", response_model=SiteRead, responses=error_responses(400, 401, 404))
async def replace_site(
    siteId: PathId,
    body: SiteUpdate,
    session: SessionDep,
    caller: CallerDep,
) -> SiteRead:
    """Overwrite a site: absent optional fields are cleared."""
    site = await service.replace_site(
        session, account_id=caller.account_id, site_id=siteId, data=body
    )
    return service.to_read(site)


@router.patch("/{siteId}", response_model=SiteRead, responses=error_responses(400, 401, 404))
async def patch_site(
    siteId: PathId,
    body: SitePatch,
    session: SessionDep,
    caller: CallerDep,
) -> SiteRead:
    """Change only the fields present in the body."""
    site = await service.patch_site(
        session, account_id=caller.account_id, site_id=siteId, data=body
    )
    return service.to_read(site)
