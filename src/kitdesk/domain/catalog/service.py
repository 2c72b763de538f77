"""The catalog: items granted to customers, and kits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from kitdesk.db.models import Account, CatalogEntry, Item, Kit, KitItem, Manufacturer
from kitdesk.domain.catalog.schemas import (
    ItemCreate,
    ItemRead,
    KitCreate,
    KitItemRead,
    KitRead,
    ManufacturerRead,
)
from kitdesk.domain.common import Page, PageRequest, make_page
from kitdesk.errors import Conflict, FieldError, Invalid, not_found


@dataclass(frozen=True)
class KitFilters:
    """Filters of the kit list."""

    item_id: int | None = None
    archived: bool | None = None


def item_read(item: Item) -> ItemRead:
    """The API view of an item (its manufacturer is loaded with it)."""
    maker = item.manufacturer
    return ItemRead(
        id=item.id,
        name=item.name,
        model=item.model,
        sku=item.sku,
        manufacturer=ManufacturerRead(id=maker.id, name=maker.name) if maker else None,
        orderable=item.orderable,
        device_identifier_type=item.device_identifier_type,
        item_class=item.item_class,
        item_class_type=item.item_class_type,
        size=item.size,
        reading_type=item.reading_type,
        dimensions=item.dimensions,
    )


def kit_read(kit: Kit) -> KitRead:
    """The API view of a kit (its lines and their items must be loaded)."""
    return KitRead(
        id=kit.id,
        name=kit.name,
        archived=kit.archived,
        loaner=kit.loaner,
        kit_items=[
            KitItemRead(item=item_read(line.item), count=line.count) for line in kit.kit_items
        ],
    )


def kit_loader() -> tuple[Any, ...]:
    """Loader options that bring a kit's lines and items in a fixed number of queries."""
    return (selectinload(Kit.kit_items).joinedload(KitItem.item),)


def _in_catalog(account_id: int) -> Select[Item]:
    return select(Item).join(
        CatalogEntry,
        (CatalogEntry.item_id == Item.id) & (CatalogEntry.account_id == account_id),
    )


def _visible_kits(account_id: int) -> Select[Kit]:
    return select(Kit).where(or_(Kit.account_id == account_id, Kit.account_id.is_(None)))


async def list_items(
    session: AsyncSession, *, account_id: int, page: PageRequest
) -> Page[ItemRead]:
    """One page of the items in the account's catalog."""
    query = _in_catalog(account_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = Item.id.desc() if page.sort_descending else Item.id.asc()
    rows = (await session.scalars(query.order_by(order).offset(page.offset).limit(page.size))).all()
    return make_page([item_read(i) for i in rows], request=page, total=total)


async def get_item(session: AsyncSession, *, account_id: int, item_id: int) -> Item:
    """One item of the account's catalog, or 404."""
    item = await session.scalar(_in_catalog(account_id).where(Item.id == item_id))
    if item is None:
        raise not_found("item", item_id)
    return item


async def list_kits(
    session: AsyncSession, *, account_id: int, filters: KitFilters, page: PageRequest
) -> Page[KitRead]:
    """One page of the kits the account may order (its own and the shared ones)."""
    query = _visible_kits(account_id)
    if filters.archived is not None:
        query = query.where(Kit.archived == filters.archived)
    if filters.item_id is not None:
        query = query.where(
            exists().where(KitItem.kit_id == Kit.id, KitItem.item_id == filters.item_id)
        )
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = Kit.id.desc() if page.sort_descending else Kit.id.asc()
    rows = (
        await session.scalars(
            query.options(*kit_loader()).order_by(order).offset(page.offset).limit(page.size)
        )
    ).all()
    return make_page([kit_read(k) for k in rows], request=page, total=total)


async def get_kit(session: AsyncSession, *, account_id: int, kit_id: int) -> Kit:
    """One kit the account may order, or 404."""
    kit = await session.scalar(
        _visible_kits(account_id).options(*kit_loader()).where(Kit.id == kit_id)
    )
    if kit is None:
        raise not_found("kit", kit_id)
    return kit


# --- operator side -------------------------------------------------------------------------


async def create_item(
    session: AsyncSession, *, data: ItemCreate, item_id: int | None = None
) -> Item:
    """Add an item to the global catalog."""
    maker = None
    if data.manufacturer:
        maker = await session.scalar(
            select(Manufacturer).where(Manufacturer.name == data.manufacturer)
        )
        if maker is None:
            maker = Manufacturer(name=data.manufacturer)
            session.add(maker)
    sku = data.sku or "KD-" + secrets.token_hex(4).upper()
    if await session.scalar(select(Item.id).where(Item.sku == sku)) is not None:
        raise Conflict(code="duplicate_sku", message=f"an item with sku {sku} already exists")
    item = Item(
        name=data.name,
        model=data.model,
        sku=sku,
        manufacturer=maker,
        orderable=data.orderable,
        device_identifier_type=data.device_identifier_type,
        size=data.size,
    )
    if item_id is not None:
        item.id = item_id
    session.add(item)
    await session.flush()
    return item


async def list_all_items(session: AsyncSession) -> list[Item]:
    """Every item of the global catalog."""
    return list((await session.scalars(select(Item).order_by(Item.id))).all())


async def set_item_orderable(session: AsyncSession, *, item_id: int, orderable: bool) -> Item:
    """Approve an item for ordering, or withdraw it."""
    item = await session.get(Item, item_id)
    if item is None:
        raise not_found("item", item_id)
    item.orderable = orderable
    await session.flush()
    return item


async def _customer(session: AsyncSession, account_id: int) -> Account | None:
    """The account, or None when there is none; an operator account is refused."""
    account = await session.get(Account, account_id)
    if account is not None and account.kind != "customer":
        raise Invalid(
            code="not_a_customer", message=f"account {account_id} is not a customer account"
        )
    return account


async def grant_items(session: AsyncSession, *, account_id: int, item_ids: list[int]) -> int:
    """Put items in a customer's catalog; returns how many were newly granted."""
    if await _customer(session, account_id) is None:
        raise not_found("account", account_id)
    known = set((await session.scalars(select(Item.id).where(Item.id.in_(item_ids)))).all())
    missing = [i for i in item_ids if i not in known]
    if missing:
        raise Invalid(
            code="unknown_item",
            message="unknown items: " + ", ".join(map(str, missing)),
        )
    granted = set(
        (
            await session.scalars(
                select(CatalogEntry.item_id).where(
                    CatalogEntry.account_id == account_id, CatalogEntry.item_id.in_(item_ids)
                )
            )
        ).all()
    )
    new = [i for i in dict.fromkeys(item_ids) if i not in granted]
    session.add_all(CatalogEntry(account_id=account_id, item_id=i) for i in new)
    await session.flush()
    return len(new)


async def create_kit(session: AsyncSession, *, data: KitCreate, kit_id: int | None = None) -> Kit:
    """Create a kit from existing items, owned by one customer or (no account) shared by all."""
    if data.account_id is not None and await _customer(session, data.account_id) is None:
        message = f"account {data.account_id} not found"
        raise Invalid(
            code="unknown_account", message=message, errors=[FieldError("accountId", message)]
        )
    ids = [line.item.id for line in data.kit_items]
    items = {i.id: i for i in (await session.scalars(select(Item).where(Item.id.in_(ids)))).all()}
    errors = [
        FieldError(f"kitItems[{n}].item.id", f"item {line.item.id} not found")
        for n, line in enumerate(data.kit_items)
        if line.item.id not in items
    ]
    if errors:
        raise Invalid(code="unknown_item", message="the kit names unknown items", errors=errors)
    kit = Kit(name=data.name, loaner=data.loaner, account_id=data.account_id)
    if kit_id is not None:
        kit.id = kit_id
    kit.kit_items = [
        KitItem(position=n, item=items[line.item.id], count=line.count)
        for n, line in enumerate(data.kit_items)
    ]
    session.add(kit)
    await session.flush()
    return kit


async def set_kit_archived(session: AsyncSession, *, kit_id: int, archived: bool) -> Kit:
    """Archive a kit (no new orders) or bring it back."""
    kit = await session.scalar(select(Kit).options(*kit_loader()).where(Kit.id == kit_id))
    if kit is None:
        raise not_found("kit", kit_id)
    kit.archived = archived
    await session.flush()
    return kit


async def list_all_kits(session: AsyncSession) -> list[Kit]:
    """Every kit, with its lines."""
    return list((await session.scalars(select(Kit).options(*kit_loader()).order_by(Kit.id))).all())
