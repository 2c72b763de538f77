"""Writing a new order: one INSERT per table, and the objects join the session as loaded.

The order's graph is complete before anything is written (``placement._build``), so plain
INSERTs are enough; a unit-of-work flush would work out the same statements at a much higher
cost on the busiest write Kitdesk has.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Insert, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from kitdesk.db import driver
from kitdesk.db.base import Base, utcnow
from kitdesk.db.models import (
    Order,
    OrderEvent,
    OrderExternalId,
    OrderItem,
    OrderKit,
    OrderNote,
    OrderReservation,
)


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _insert(model: type[Base]) -> Insert:
    """An INSERT of every column but a generated id, whose value it returns in input order."""
    table = _table(model)
    statement = insert(table)
    if "id" in table.c:
        statement = statement.returning(table.c.id, sort_by_parameter_order=True)
    return statement


_EXTERNAL_IDS = insert(cast(Table, OrderExternalId.__table__))

_INSERTS: dict[type[Base], Insert] = {
    model: _insert(model)
    for model in (Order, OrderItem, OrderKit, OrderEvent, OrderNote, OrderReservation)
}


def _values(obj: Base) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in _table(type(obj)).c if c.key != "id"}


async def _insert_rows(session: AsyncSession, rows: Sequence[Base]) -> None:
    """Insert new objects of one class in one round trip, setting their generated ids."""
    if not rows:
        return
    model = type(rows[0])
    values = [_values(row) for row in rows]
    if "id" not in _table(model).c:
        await driver.execute_many(session, _INSERTS[model], values)
        return
    if len(rows) == 1:
        ids = [r[0] for r in await driver.fetch(session, _INSERTS[model], values[0])]
    else:
        # Several new ids: one multi-row INSERT ... RETURNING, as SQLAlchemy batches it.
        connection = await session.connection()
        ids = list((await connection.execute(_INSERTS[model], values)).scalars())
    for row, new_id in zip(rows, ids, strict=True):
        row.id = new_id  # type: ignore[attr-defined]  # every table with an id


async def insert_order(session: AsyncSession, *, account_id: int, order: Order) -> None:
    """Insert the order and its collections with one statement per table.

    Plain INSERTs rather than a unit-of-work flush: every value is known here, the foreign keys
    are set by hand, and the objects then join the session as if just loaded, so the order
    renders from them without a reload.
    """
    now = utcnow()
    order.patient_id = order.patient.id if order.patient is not None else None
    order.site_id = order.site.id if order.site is not None else None
    order.held_from = None
    order.created_at = order.updated_at = now
    # The session's own connection and transaction, without the session's per-statement work.
    await _insert_rows(session, [order])
    for line in order.order_items:
        line.order_id, line.item_id = order.id, line.item.id
    for kline in order.order_kits:
        kline.order_id, kline.kit_id = order.id, kline.kit.id
    for event in order.order_events:
        event.order_id, event.event_timestamp = order.id, now
    for note in order.order_notes:
        note.order_id, note.created_at = order.id, now
    for reservation in order.reservations:
        reservation.order_id = order.id
    children: list[Sequence[Base]] = [
        order.reservations,
        order.order_events,
        order.order_items,
        order.order_kits,
        order.order_notes,
    ]
    for rows in children:
        await _insert_rows(session, rows)
    for obj in (order, *(row for rows in children for row in rows)):
        make_transient_to_detached(obj)
    session.add(order)
    if order.external_order_ids:
        # The lookup rows: nothing reads them back as objects.
        await driver.execute_many(
            session,
            _EXTERNAL_IDS,
            [
                {"order_id": order.id, "position": n, "account_id": account_id, "value": value}
                for n, value in enumerate(order.external_order_ids)
            ],
        )
