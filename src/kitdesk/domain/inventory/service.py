"""Warehouses and stock: receiving goods, reporting levels, and reserving them for orders.

Stock never goes negative: every change is a single conditional UPDATE or a change to rows
locked first, in item-id order, and the table's CHECK constraints back that up.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    Update,
    bindparam,
    case,
    func,
    literal,
    select,
    update,
)
from sqlalchemy import cast as cast_
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ClauseElement

from kitdesk.db import driver
from kitdesk.db.base import utcnow
from kitdesk.db.models import (
    Device,
    DeviceIdentifier,
    FulfillmentSite,
    Item,
    StockLevel,
)
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.catalog.service import item_read
from kitdesk.domain.common import read_address, write_address
from kitdesk.domain.devices.history import record
from kitdesk.domain.devices.states import DeviceEventType, DeviceStatus
from kitdesk.domain.devices.views import device_options
from kitdesk.domain.inventory.schemas import (
    DeviceReceipt,
    FulfillmentSiteCreate,
    FulfillmentSiteRead,
    StockLevelRead,
    StockReceipt,
)
from kitdesk.errors import Conflict, FieldError, Invalid, not_found

INSUFFICIENT = "insufficient_inventory"


def site_read(site: FulfillmentSite) -> FulfillmentSiteRead:
    """The API view of a warehouse."""
    return FulfillmentSiteRead(
        id=site.id, code=site.code, name=site.name, active=site.active, address=read_address(site)
    )


async def create_fulfillment_site(
    session: AsyncSession, *, data: FulfillmentSiteCreate, site_id: int | None = None
) -> FulfillmentSite:
    """Add a warehouse."""
    duplicate = Conflict(code="duplicate_code", message=f"a warehouse with code {data.code} exists")
    if await session.scalar(select(FulfillmentSite.id).where(FulfillmentSite.code == data.code)):
        raise duplicate
    site = FulfillmentSite(code=data.code, name=data.name)
    if site_id is not None:
        site.id = site_id
    write_address(site, data.address.model_dump() if data.address else None)
    try:
        # Two operators creating the same code at once: the unique constraint decides.
        async with session.begin_nested():
            session.add(site)
            await session.flush()
    except IntegrityError as exc:
        raise duplicate from exc
    return site


async def list_fulfillment_sites(session: AsyncSession) -> list[FulfillmentSite]:
    """Every warehouse."""
    return list((await session.scalars(select(FulfillmentSite).order_by(FulfillmentSite.id))).all())


async def get_fulfillment_site(session: AsyncSession, site_id: int) -> FulfillmentSite:
    """One warehouse, or 404."""
    site = await session.get(FulfillmentSite, site_id)
    if site is None:
        raise not_found("fulfillment site", site_id)
    return site


async def _item(session: AsyncSession, item_id: int) -> Item:
    item = await session.get(Item, item_id)
    if item is None:
        raise Invalid(
            code="unknown_item",
            message=f"item {item_id} not found",
            errors=[FieldError("itemId", f"item {item_id} not found")],
        )
    return item


async def _add_on_hand(session: AsyncSession, site_id: int, item_id: int, quantity: int) -> None:
    """Add units to a stock level, creating the row on first receipt."""
    result = await session.execute(
        update(StockLevel)
        .where(StockLevel.fulfillment_site_id == site_id, StockLevel.item_id == item_id)
        .values(on_hand=StockLevel.on_hand + quantity)
    )
    if result.rowcount > 0:  # type: ignore[attr-defined]
        return
    try:
        # A concurrent first receipt may create the row first; then add to that row instead.
        async with session.begin_nested():
            session.add(
                StockLevel(
                    fulfillment_site_id=site_id, item_id=item_id, on_hand=quantity, reserved=0
                )
            )
            await session.flush()
    except IntegrityError:
        await session.execute(
            update(StockLevel)
            .where(StockLevel.fulfillment_site_id == site_id, StockLevel.item_id == item_id)
            .values(on_hand=StockLevel.on_hand + quantity)
        )


async def receive_stock(session: AsyncSession, *, site_id: int, data: StockReceipt) -> None:
    """Counted units arrive at a warehouse."""
    await get_fulfillment_site(session, site_id)
    item = await _item(session, data.item_id)
    if item.device_identifier_type is not None:
        raise Invalid(
            code="serialized_item",
            message=f"item {item.id} is serialized: receive its units as devices",
            errors=[FieldError("itemId", "serialized items are received as devices")],
        )
    await _add_on_hand(session, site_id, item.id, data.quantity)


async def _check_identifiers(session: AsyncSession, kind: str, values: list[str]) -> None:
    """Refuse a receipt naming every bad entry, in receipt order: blank, repeated within the
    receipt, or already used by a device with this identifier type."""
    taken = set(
        (
            await session.scalars(
                select(DeviceIdentifier.value).where(
                    DeviceIdentifier.type == kind, DeviceIdentifier.value.in_(values)
                )
            )
        ).all()
    )
    errors: list[FieldError] = []
    seen: set[str] = set()
    for n, value in enumerate(values):
        if not value:
            problem = "empty identifier"
        elif value in seen:
            problem = f"{value} appears twice in this receipt"
        elif value in taken:
            problem = f"a device with {kind} {value} already exists"
        else:
            problem = None
        seen.add(value)
        if problem is not None:
            errors.append(FieldError(f"identifiers[{n}]", problem))
    if errors:
        raise Invalid(
            code="invalid_devices", message="some identifiers cannot be received", errors=errors
        )


def _new_device(item_id: int, site_id: int, kind: str, value: str) -> Device:
    device = Device(
        item_id=item_id,
        current_status=DeviceStatus.IN_STOCK.value,
        fulfillment_site_id=site_id,
        identifiers=[DeviceIdentifier(type=kind, value=value)],
        events=[],
    )
    record(device, DeviceEventType.RECEIVED)
    return device


async def receive_devices(
    session: AsyncSession, *, site_id: int, data: DeviceReceipt
) -> list[Device]:
    """Serialized units arrive at a warehouse: one device per identifier, all ``inStock``."""
    await get_fulfillment_site(session, site_id)
    item = await _item(session, data.item_id)
    kind = item.device_identifier_type
    if kind is None:
        raise Invalid(
            code="not_serialized",
            message=f"item {item.id} is not serialized: receive it as counted stock",
            errors=[FieldError("itemId", "counted items are received with a quantity")],
        )
    values = [v.strip() for v in data.identifiers]
    await _check_identifiers(session, kind, values)
    devices = [_new_device(item.id, site_id, kind, value) for value in values]
    try:
        async with session.begin_nested():
            session.add_all(devices)
            await session.flush()
    except IntegrityError as exc:
        # The same identifier was received concurrently: name the entries now taken.
        await _check_identifiers(session, kind, values)
        raise Conflict(
            code="duplicate_identifier",
            message="a device with one of these identifiers was received at the same time",
        ) from exc
    await _add_on_hand(session, site_id, item.id, len(devices))
    audit.record(
        session,
        action="device.create",
        resource_type="device",
        resource_ids=[d.id for d in devices],
    )
    return devices


async def stock_levels(
    session: AsyncSession, *, site_id: int | None = None, item_id: int | None = None
) -> list[StockLevelRead]:
    """On hand, reserved and available per warehouse and item."""
    query = select(StockLevel, Item).join(Item, Item.id == StockLevel.item_id)
    if site_id is not None:
        query = query.where(StockLevel.fulfillment_site_id == site_id)
    if item_id is not None:
        query = query.where(StockLevel.item_id == item_id)
    rows = (
        await session.execute(query.order_by(StockLevel.fulfillment_site_id, StockLevel.item_id))
    ).all()
    return [
        StockLevelRead(
            fulfillment_site_id=level.fulfillment_site_id,
            item=item_read(item),
            on_hand=level.on_hand,
            reserved=level.reserved,
            available=level.on_hand - level.reserved,
        )
        for level, item in rows
    ]


# Constant statements, built once: reserving runs on every order placed.
# Placement's statements, one set per number of distinct items an order needs (``item_0``,
# ``item_1``... as plain parameters): constant statements that the driver sends directly and that
# PostgreSQL keeps one cached plan for.
_STOCK = cast(Table, StockLevel.__table__)


def _item_ids(size: int) -> list[BindParameter[int]]:
    return [bindparam(f"item_{n}", type_=BigInteger) for n in range(size)]


def _item_params(items: Sequence[int]) -> dict[str, Any]:
    return {f"item_{n}": item_id for n, item_id in enumerate(items)}


@functools.cache
def _lock_statement(size: int) -> Select[Any]:
    """One warehouse's stock rows for these items, locked in item order."""
    return (
        select(_STOCK.c.item_id, _STOCK.c.on_hand, _STOCK.c.reserved)
        .where(
            _STOCK.c.fulfillment_site_id == bindparam("site_id"),
            _STOCK.c.item_id.in_(_item_ids(size)),
        )
        .order_by(_STOCK.c.item_id)
        .with_for_update()
    )


def warehouses_from(
    levels: Iterable[tuple[int, int, int]], *, needs: Mapping[int, int]
) -> list[int]:
    """Active warehouses that hold enough of every needed item, in warehouse order.

    ``levels`` are unlocked (warehouse id, item id, available units) rows of the active
    warehouses: this is the choice a new order starts from, checked again under lock by
    ``reserve``. Raises ``insufficient_inventory`` when no warehouse can serve the order.
    """
    covered: dict[int, int] = {}
    for site_id, item_id, available in levels:
        if item_id in needs and available >= needs[item_id]:
            covered[site_id] = covered.get(site_id, 0) + 1
    candidates = sorted(site_id for site_id, count in covered.items() if count == len(needs))
    if not candidates:
        raise Invalid(code=INSUFFICIENT, message=INSUFFICIENT)
    return candidates


async def reserve(
    session: AsyncSession, *, needs: Mapping[int, int], candidates: Sequence[int]
) -> int:
    """Reserve ``needs`` (item id -> units) at the first of ``candidates`` that still has them.

    The stock rows are locked in item order, checked and updated; a warehouse that another order
    emptied meanwhile is passed over. Returns the warehouse id, or raises
    ``insufficient_inventory`` having reserved nothing.
    """
    for site_id in candidates:
        if await _reserve_at(session, site_id, needs):
            return site_id
    raise Invalid(code=INSUFFICIENT, message=INSUFFICIENT)


async def reserve_and_commit(
    session: AsyncSession,
    *,
    needs: Mapping[int, int],
    site_id: int,
    then: Sequence[tuple[ClauseElement, Mapping[str, Any]]] = (),
) -> bool:
    """PostgreSQL: reserve ``needs`` at one warehouse, run ``then``, and commit, in one round trip.

    The session's transaction ends here when the warehouse has the goods (True). When it falls
    short, nothing of this call remains and the transaction goes on (False): the caller tries
    the next warehouse, or refuses the order. The stock rows stay locked only while PostgreSQL
    reserves and commits; no wait for the worker falls in between (``driver.commit_with``).
    """
    reserve, params = reservation(needs, site_id=site_id, at=utcnow())
    return await driver.commit_with(session, [(reserve, params), *then], declined=fell_short)


def reservation(
    needs: Mapping[int, int], *, site_id: int, at: datetime
) -> tuple[Select[Any], dict[str, Any]]:
    """PostgreSQL: the statement reserving ``needs`` at one warehouse or failing when it falls
    short (``fell_short`` recognises its error), with its parameters. Its CTEs may join another
    statement's (placement writes a new order in the same statement)."""
    items = sorted(needs)
    params: dict[str, Any] = {"warehouse_id": site_id, "now": at, **_item_params(items)}
    params.update(gate_params(site_id))
    for n, item_id in enumerate(items):
        params[f"units_{n}"] = needs[item_id]
    return reservation_statement(len(items)), params


def reservation_statement(size: int) -> Select[Any]:
    """The statement of ``reservation`` for ``size`` distinct items."""
    return _reserve_or_fail_statement(size)


# What the reservation that must not fall short says when it does (an error of its own making).
SHORTFALL_MARKER = "kitdesk: stock fell short"


def fell_short(error: BaseException) -> bool:
    """Whether ``error`` (asyncpg's, or SQLAlchemy's wrapping it) is a reservation's shortfall."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    return getattr(error, "sqlstate", None) == "22P02" and SHORTFALL_MARKER in str(error)


@functools.cache
def _reserve_or_fail_statement(size: int) -> Select[Any]:
    """PostgreSQL: the reservation of ``_lock_check_reserve_statement``, failing when it falls
    short. It returns 0 when every item was reserved; otherwise casting the shortfall's message
    to an integer fails (invalid_text_representation, with ``SHORTFALL_MARKER`` in its text),
    which ends the statement with nothing changed. The message depends on the row count, so
    PostgreSQL cannot evaluate it while planning."""
    reserved = _lock_check_reserve_statement(size).cte("reserved")
    count = func.count()
    outcome = case(
        (count == size, literal("0")),
        else_=literal(f"{SHORTFALL_MARKER}: ") + cast_(count, String) + literal(f" of {size}"),
    )
    return select(cast_(outcome, Integer)).select_from(reserved)


async def _reserve_at(session: AsyncSession, site_id: int, needs: Mapping[int, int]) -> bool:
    """Lock the warehouse's rows for these items (in item order), check, then reserve."""
    items = sorted(needs)
    params: dict[str, Any] = {"site_id": site_id, **_item_params(items)}
    if driver.is_postgresql(session):
        # One statement locks, checks and reserves: the rows stay locked from here to the
        # commit only, with no round trip in between.
        for n, item_id in enumerate(items):
            params[f"units_{n}"] = needs[item_id]
        params["now"] = utcnow()
        params["warehouse_id"] = site_id
        params.update(gate_params(site_id))
        reserved = await driver.fetch(session, _lock_check_reserve_statement(len(items)), params)
        return len(reserved) == len(items)
    rows = await driver.fetch(session, _lock_statement(len(items)), params)
    available = {item_id: on_hand - reserved for item_id, on_hand, reserved in rows}
    if any(available.get(i, 0) < needs[i] for i in items):
        return False
    for n, item_id in enumerate(items):
        params[f"units_{n}"] = needs[item_id]
    params["now"] = utcnow()
    await driver.execute_many(session, _reserve_statement(len(items)), [params])
    return True


def _units(size: int) -> ColumnElement[int]:
    # Each item's units (``units_n`` for ``item_n``).
    return case(
        *(
            (_STOCK.c.item_id == bindparam(f"item_{n}"), bindparam(f"units_{n}", type_=Integer))
            for n in range(size)
        ),
        else_=0,
    )


# The first key of the advisory lock that queues reservations (``gate_params``): Kitdesk's own
# range of PostgreSQL's two-key advisory locks.
GATE_NAMESPACE = 0x4B440001
_GATE_MODULUS = 2_147_483_648


def gate_params(site_id: int) -> dict[str, int]:
    """The second key of the advisory lock that reservations at ``site_id`` queue on, as the
    parameter ``gate``. Two warehouses may share a key (ids 2**31 apart): their reservations
    then queue together, which costs time, never correctness (the row locks decide)."""
    return {"gate": site_id % _GATE_MODULUS}


def _gate() -> Any:
    """PostgreSQL: take the warehouse's reservation lock (``gate_params``), as a count of one.

    Waiters on an advisory lock are granted it one at a time, first come, first served; waiters
    on a row lock are all woken when its holder commits and race for it, so under contention an
    unlucky order could lose that race again and again. pgbench replaying order creation's
    statements at 16 connections: p99 89-97 ms with the row locks alone, 32-33 ms queued on one
    lock per warehouse (the same throughput), 43-45 ms on one lock per warehouse and item (a
    tenth less throughput). Orders for different items at one warehouse queue too; each holds the
    lock only for its reservation and commit."""
    taken = func.count(
        func.pg_advisory_xact_lock(literal(GATE_NAMESPACE), bindparam("gate", type_=Integer))
    )
    return select(taken.label("taken")).cte("gate")


@functools.cache
def _lock_check_reserve_statement(size: int) -> Update:
    """PostgreSQL: reserve every item's units at the warehouse ``warehouse_id`` (a name no
    statement that writes an order uses), or none when one falls short.

    The first CTE queues on the warehouse's reservation lock (``_gate``; its parameter from
    ``gate_params``); once it is held, the next locks the rows in item order (its ORDER BY sits
    under the row locks) and reads their latest committed values; the UPDATE adds the units
    only when every item is there with enough available, and returns the rows it changed. The
    advisory lock ends with the transaction, as the row locks do.
    """
    gate = _gate()
    locked = (
        select(
            _STOCK.c.item_id,
            (_STOCK.c.on_hand - _STOCK.c.reserved >= _units(size)).label("enough"),
        )
        .select_from(gate.join(_STOCK, gate.c.taken == 1))
        .where(
            _STOCK.c.fulfillment_site_id == bindparam("warehouse_id"),
            _STOCK.c.item_id.in_(_item_ids(size)),
        )
        .order_by(_STOCK.c.item_id)
        .with_for_update(of=_STOCK)
        .cte("locked")
    )
    all_there = (
        select(func.count() == size).select_from(locked).where(locked.c.enough).scalar_subquery()
    )
    return (
        update(_STOCK)
        .where(
            _STOCK.c.fulfillment_site_id == bindparam("warehouse_id"),
            _STOCK.c.item_id.in_(_item_ids(size)),
            all_there,
        )
        .values(reserved=_STOCK.c.reserved + _units(size), updated_at=bindparam("now"))
        .returning(_STOCK.c.item_id)
    )


@functools.cache
def _reserve_statement(size: int) -> Update:
    """Add each item's units to ``reserved`` in one UPDATE (one statement per order size)."""
    units = _units(size)
    return (
        update(_STOCK)
        .where(
            _STOCK.c.fulfillment_site_id == bindparam("site_id"),
            _STOCK.c.item_id.in_(_item_ids(size)),
        )
        .values(reserved=_STOCK.c.reserved + units, updated_at=bindparam("now"))
    )


async def release(session: AsyncSession, *, site_id: int, held: Mapping[int, int]) -> None:
    """Give reserved units back (a cancelled order)."""
    await _change(session, site_id, held, reserved_by=-1, on_hand_by=0)


async def consume(session: AsyncSession, *, site_id: int, held: Mapping[int, int]) -> None:
    """Reserved units leave the warehouse (a shipped order)."""
    await _change(session, site_id, held, reserved_by=-1, on_hand_by=-1)


async def restock(session: AsyncSession, *, site_id: int, units: Mapping[int, int]) -> None:
    """Units come back into a warehouse's stock."""
    for item_id in sorted(units):
        await _add_on_hand(session, site_id, item_id, units[item_id])


async def _change(
    session: AsyncSession,
    site_id: int,
    held: Mapping[int, int],
    *,
    reserved_by: int,
    on_hand_by: int,
) -> None:
    if not held:
        return
    # Lock in item order first, as reserve() does, so concurrent changes cannot deadlock.
    await session.execute(
        select(StockLevel.item_id)
        .where(StockLevel.fulfillment_site_id == site_id, StockLevel.item_id.in_(sorted(held)))
        .order_by(StockLevel.item_id)
        .with_for_update()
    )
    amounts = case(dict(held), value=StockLevel.item_id, else_=0)
    result = await session.execute(
        update(StockLevel)
        .where(StockLevel.fulfillment_site_id == site_id, StockLevel.item_id.in_(sorted(held)))
        .values(
            reserved=StockLevel.reserved + reserved_by * amounts,
            on_hand=StockLevel.on_hand + on_hand_by * amounts,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != len(held):  # type: ignore[attr-defined]
        raise RuntimeError("stock rows missing for a reservation")


async def load_devices(session: AsyncSession, ids: list[int]) -> list[Device]:
    """Devices with everything their view needs."""
    rows = await session.scalars(
        select(Device).options(*device_options()).where(Device.id.in_(ids)).order_by(Device.id)
    )
    return list(rows.all())
