"""Sites: the customer's own locations."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import Site
from kitdesk.domain.common import (
    Page,
    PageRequest,
    address_patch_errors,
    check_body_id,
    invalid_input,
    make_page,
    merged_address,
    read_address,
    to_camel,
    write_address,
)
from kitdesk.domain.sites.schemas import SiteCreate, SitePatch, SiteRead, SiteUpdate
from kitdesk.errors import FieldError, Invalid, not_found


@dataclass(frozen=True)
class SiteFilters:
    """Filters of the site list."""

    ids: list[int] = field(default_factory=list)
    name: str | None = None
    active: bool | None = None


def to_read(site: Site) -> SiteRead:
    """The API view of a site."""
    return SiteRead(
        id=site.id,
        name=site.name,
        active=site.active,
        phone_number=site.phone_number,
        address=read_address(site),
        created_at=site.created_at,
        updated_at=site.updated_at,
    )


async def get_site(session: AsyncSession, *, account_id: int, site_id: int) -> Site:
    """One of the account's sites, or 404."""
    site = await session.scalar(
        select(Site).where(Site.id == site_id, Site.account_id == account_id)
    )
    if site is None:
        raise not_found("site", site_id)
    return site


async def resolve_site(
    session: AsyncSession, *, account_id: int, site_id: int, field_name: str
) -> Site:
    """A site referenced from a request body: unknown or foreign ids are a 400 on that field."""
    site = await session.scalar(
        select(Site).where(Site.id == site_id, Site.account_id == account_id)
    )
    if site is None:
        raise Invalid(
            code="unknown_site",
            message=f"site {site_id} not found",
            errors=[FieldError(field_name, f"site {site_id} not found")],
        )
    return site


async def create_site(session: AsyncSession, *, account_id: int, data: SiteCreate) -> Site:
    """Create a site for the account."""
    site = Site(account_id=account_id)
    _apply_full(site, data)
    session.add(site)
    await session.flush()
    return site


async def replace_site(
    session: AsyncSession, *, account_id: int, site_id: int, data: SiteUpdate
) -> Site:
    """Overwrite a site with the given fields (PUT)."""
    site = await get_site(session, account_id=account_id, site_id=site_id)
    check_body_id(data.id, site_id)
    _apply_full(site, data)
    await session.flush()
    return site


async def patch_site(
    session: AsyncSession, *, account_id: int, site_id: int, data: SitePatch
) -> Site:
    """Change only the fields present in the body (PATCH)."""
    site = await get_site(session, account_id=account_id, site_id=site_id)
    check_body_id(data.id, site_id)
    changes = data.model_dump(exclude_unset=True, exclude={"id"})
    errors = [
        FieldError(to_camel(k), "cannot be null")
        for k in ("name", "active")
        if k in changes and changes[k] is None
    ]
    if "address" in changes:
        errors += address_patch_errors(site, changes["address"], required=False)
    if errors:
        raise invalid_input(errors)
    for key in ("name", "active", "phone_number"):
        if key in changes:
            setattr(site, key, changes[key])
    if "address" in changes:
        write_address(site, merged_address(site, changes["address"]))
    await session.flush()
    return site


async def list_sites(
    session: AsyncSession, *, account_id: int, filters: SiteFilters, page: PageRequest
) -> Page[SiteRead]:
    """One page of the account's sites, ordered by id."""
    query = _filtered(select(Site).where(Site.account_id == account_id), filters)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = Site.id.desc() if page.sort_descending else Site.id.asc()
    rows = (await session.scalars(query.order_by(order).offset(page.offset).limit(page.size))).all()
    return make_page([to_read(s) for s in rows], request=page, total=total)


def _filtered(query: Select[Site], filters: SiteFilters) -> Select[Site]:
    if filters.ids:
        query = query.where(Site.id.in_(filters.ids))
    if filters.name is not None:
        query = query.where(func.lower(Site.name).contains(filters.name.lower(), autoescape=True))
    if filters.active is not None:
        query = query.where(Site.active == filters.active)
    return query


def _apply_full(site: Site, data: SiteCreate) -> None:
    site.name = data.name
    site.active = data.active
    site.phone_number = data.phone_number
    write_address(site, data.address.model_dump() if data.address else None)
