"""A new order's rows: what it refers to, read in the order view's layout, and its INSERTs.

Placement reads the recipient, the items and the kits with the constant statements below (one
set per number of ids, as plain parameters, so the driver sends them as prepared statements and
PostgreSQL keeps one plan for each) and writes the order with one INSERT per table. The rows
read keep the column layout of ``view_statements`` so that ``view_rows.for_new_order`` lays out
the new order's view from them without reading it back.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CTE,
    BigInteger,
    BindParameter,
    Insert,
    Integer,
    Select,
    String,
    Text,
    Update,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db import driver
from kitdesk.domain.orders import view_statements as sql

Row = Sequence[Any]

_tables = sql.orders.metadata.tables
_catalog = _tables["catalog_entries"]


def _id(name: str) -> BindParameter[int]:
    return bindparam(name, type_=BigInteger)


# The recipient, by id and account: PATIENT_COLUMNS then its site's SUMMARY_COLUMNS; SITE_COLUMNS.
PATIENT: Select[Any] = (
    select(
        *sql.columns(sql.patients, sql.PATIENT_COLUMNS),
        *sql.columns(sql.patient_site, sql.SUMMARY_COLUMNS),
    )
    .select_from(
        sql.patients.outerjoin(sql.patient_site, sql.patient_site.c.id == sql.patients.c.site_id)
    )
    .where(sql.patients.c.id == _id("id"), sql.patients.c.account_id == _id("account_id"))
)
SITE: Select[Any] = select(*sql.columns(sql.sites, sql.SITE_COLUMNS)).where(
    sql.sites.c.id == _id("id"), sql.sites.c.account_id == _id("account_id")
)

_ORDERABLE = sql.ITEM_COLUMNS.index("orderable")


@dataclass(frozen=True)
class ItemRow:
    """An item as the order view shows it: ITEM_COLUMNS, then its manufacturer's id and name."""

    row: tuple[Any, ...]

    @property
    def id(self) -> int:
        ident: int = self.row[0]
        return ident

    @property
    def orderable(self) -> bool:
        return bool(self.row[_ORDERABLE])


@dataclass(frozen=True)
class KitLine:
    position: int
    count: int
    item: ItemRow


@dataclass
class KitRow:
    """A kit with its lines in position order."""

    id: int
    name: str
    archived: bool
    loaner: bool
    lines: list[KitLine] = field(default_factory=list)


def _ids(size: int) -> list[BindParameter[int]]:
    return [_id(f"id_{n}") for n in range(size)]


def _id_params(ids: Sequence[int]) -> dict[str, Any]:
    return {f"id_{n}": ident for n, ident in enumerate(ids)}


@functools.cache
def _items_statement(size: int) -> Select[Any]:
    """These items, when they are in the account's catalog."""
    in_catalog = (_catalog.c.item_id == sql.items.c.id) & (
        _catalog.c.account_id == _id("account_id")
    )
    return (
        select(*sql.item_columns())
        .select_from(
            sql.items.join(_catalog, in_catalog).outerjoin(
                sql.manufacturers, sql.manufacturers.c.id == sql.items.c.manufacturer_id
            )
        )
        .where(sql.items.c.id.in_(_ids(size)))
    )


@functools.cache
def _kits_statement(size: int) -> Select[Any]:
    """These kits (the account's own or shared), one row per line with the line's item."""
    kits, lines, items = sql.kits, sql.kit_items, sql.items
    return (
        select(
            *sql.columns(kits, sql.KIT_COLUMNS),
            lines.c.position,
            lines.c.count,
            *sql.item_columns(),
        )
        .select_from(
            kits.outerjoin(lines, lines.c.kit_id == kits.c.id)
            .outerjoin(items, items.c.id == lines.c.item_id)
            .outerjoin(sql.manufacturers, sql.manufacturers.c.id == items.c.manufacturer_id)
        )
        .where(
            kits.c.id.in_(_ids(size)),
            (kits.c.account_id == _id("account_id")) | kits.c.account_id.is_(None),
        )
        .order_by(kits.c.id, lines.c.position)
    )


async def items(session: AsyncSession, account_id: int, ids: Sequence[int]) -> dict[int, ItemRow]:
    """The account's catalog items among ``ids``, by id (unknown ones are absent)."""
    params = {"account_id": account_id, **_id_params(ids)}
    rows = await driver.fetch(session, _items_statement(len(ids)), params)
    found = [ItemRow(tuple(r)) for r in rows]
    return {item.id: item for item in found}


async def kits(session: AsyncSession, account_id: int, ids: Sequence[int]) -> dict[int, KitRow]:
    """The kits among ``ids`` the account may order, with their lines, by id."""
    params = {"account_id": account_id, **_id_params(ids)}
    rows = await driver.fetch(session, _kits_statement(len(ids)), params)
    found: dict[int, KitRow] = {}
    width = len(sql.KIT_COLUMNS)
    for r in rows:
        kit = found.get(r[0])
        if kit is None:
            kit = found[r[0]] = KitRow(r[0], r[1], r[2], r[3])
        if r[width] is not None:  # a kit without lines has one row of NULLs for them
            kit.lines.append(KitLine(r[width], r[width + 1], ItemRow(tuple(r[width + 2 :]))))
    return found


@dataclass
class NewOrder:
    """Everything written for a new order (its id comes from the INSERT)."""

    account_id: int
    patient_id: int | None
    site_id: int | None
    current_status: str
    shipping_option: str | None
    email_label: bool
    external_order_ids: list[str]
    fulfillment_site_id: int | None
    two_way: bool
    created_at: datetime
    item_lines: list[tuple[int, int]]  # (item id, count), in position order
    kit_lines: list[tuple[int, int]]  # (kit id, count)
    notes: list[str]
    note_author: str | None  # the key prefix of the caller
    reservations: list[tuple[int, int]]  # (item id, units), kits expanded to items


def _insert(name: str) -> Insert:
    return insert(_tables[name])


# On PostgreSQL the whole order is one statement: the order's INSERT as a CTE whose new id the
# INSERTs of its rows take (each from arrays, one per column, unnested), and the account's
# unique-external-ids flag read alongside (``external_ids.claim_for_order`` needs it). The
# foreign keys are checked at the end of the statement, when every row is there.
_ORDER_VALUES = (
    "account_id",
    "patient_id",
    "site_id",
    "current_status",
    "shipping_option",
    "email_label",
    "external_order_ids",
    "fulfillment_site_id",
    "held_from",
    "two_way",
    "created_at",
    "updated_at",
)
_new_order = (
    insert(sql.orders)
    .values({name: bindparam(name) for name in _ORDER_VALUES})
    .returning(sql.orders.c.id)
    .cte("new_order")
)


def _rows_of_new_order(table: str, prefix: str, arrays: dict[str, Any], **scalars: Any) -> CTE:
    """INSERT into ``table`` one row per element of the ``{prefix}_{column}`` arrays."""
    unnested = (
        func.unnest(*(bindparam(f"{prefix}_{c}", type_=ARRAY(t)) for c, t in arrays.items()))
        .table_valued(*arrays)
        .render_derived(name=f"{prefix}_rows")
    )
    rows = select(_new_order.c.id, *(unnested.c[c] for c in arrays), *scalars.values()).select_from(
        _new_order, unnested
    )
    return insert(_tables[table]).from_select(["order_id", *arrays, *scalars], rows).cte(prefix)


_unique_ids = (
    select(_tables["accounts"].c.unique_external_order_ids)
    .where(_tables["accounts"].c.id == bindparam("account_id"))
    .scalar_subquery()
)
_WRITE_ON_POSTGRESQL: Select[Any] = select(_new_order.c.id, _unique_ids).add_cte(
    _rows_of_new_order(
        "order_reservations", "reservation", {"item_id": BigInteger, "quantity": Integer}
    ),
    _rows_of_new_order(
        "order_events",
        "event",
        {"name": String},
        event_timestamp=bindparam("created_at"),
    ),
    _rows_of_new_order(
        "order_items", "item", {"position": Integer, "item_id": BigInteger, "count": Integer}
    ),
    _rows_of_new_order(
        "order_kits", "kit", {"position": Integer, "kit_id": BigInteger, "count": Integer}
    ),
    _rows_of_new_order(
        "order_notes",
        "note",
        {"note": Text},
        created_at=bindparam("created_at"),
        created_by_key_prefix=bindparam("note_author"),
    ),
    _rows_of_new_order(
        "order_external_ids",
        "external_id",
        {"position": Integer, "value": String},
        account_id=bindparam("account_id"),
    ),
)


_ORDER = insert(sql.orders).returning(sql.orders.c.id)
_RESERVATIONS = _insert("order_reservations")
_EVENTS = _insert("order_events")
_ITEMS = _insert("order_items")
_KITS = _insert("order_kits")
_NOTES = _insert("order_notes")
_EXTERNAL_IDS = _insert("order_external_ids")
_MOVE: Update = (
    update(sql.orders)
    .where(sql.orders.c.id == _id("order_id"))
    .values(fulfillment_site_id=_id("warehouse_id"), updated_at=bindparam("moved_at"))
)


@dataclass(frozen=True)
class Written:
    """A new order's id, and its account's unique-external-ids flag when it was read with it."""

    order_id: int
    unique_external_ids: bool | None


def _order_values(order: NewOrder) -> dict[str, Any]:
    return {
        "account_id": order.account_id,
        "patient_id": order.patient_id,
        "site_id": order.site_id,
        "current_status": order.current_status,
        "shipping_option": order.shipping_option,
        "email_label": order.email_label,
        "external_order_ids": order.external_order_ids,
        "fulfillment_site_id": order.fulfillment_site_id,
        "held_from": None,
        "two_way": order.two_way,
        "created_at": order.created_at,
        "updated_at": order.created_at,
    }


async def write(session: AsyncSession, order: NewOrder) -> Written:
    """Write the order and its rows: one statement on PostgreSQL, one per table elsewhere."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return Written(await _write_per_table(session, order), None)
    ids = order.external_order_ids
    params = {
        **_order_values(order),
        "reservation_item_id": [item_id for item_id, _ in order.reservations],
        "reservation_quantity": [units for _, units in order.reservations],
        "event_name": [order.current_status],
        "item_position": list(range(len(order.item_lines))),
        "item_item_id": [item_id for item_id, _ in order.item_lines],
        "item_count": [count for _, count in order.item_lines],
        "kit_position": list(range(len(order.kit_lines))),
        "kit_kit_id": [kit_id for kit_id, _ in order.kit_lines],
        "kit_count": [count for _, count in order.kit_lines],
        "note_note": order.notes,
        "note_author": order.note_author,
        "external_id_position": list(range(len(ids))),
        "external_id_value": ids,
    }
    (order_id, unique), *_ = await driver.fetch(session, _WRITE_ON_POSTGRESQL, params)
    return Written(order_id, unique)


async def _write_per_table(session: AsyncSession, order: NewOrder) -> int:
    now = order.created_at
    order_id: int = (await driver.fetch(session, _ORDER, _order_values(order)))[0][0]
    children: list[tuple[Insert, list[dict[str, Any]]]] = [
        (
            _RESERVATIONS,
            [
                {"order_id": order_id, "item_id": item_id, "quantity": units}
                for item_id, units in order.reservations
            ],
        ),
        (
            _EVENTS,
            [{"order_id": order_id, "name": order.current_status, "event_timestamp": now}],
        ),
        (
            _ITEMS,
            [
                {"order_id": order_id, "position": n, "item_id": item_id, "count": count}
                for n, (item_id, count) in enumerate(order.item_lines)
            ],
        ),
        (
            _KITS,
            [
                {"order_id": order_id, "position": n, "kit_id": kit_id, "count": count}
                for n, (kit_id, count) in enumerate(order.kit_lines)
            ],
        ),
        (
            _NOTES,
            [
                {
                    "order_id": order_id,
                    "note": note,
                    "created_at": now,
                    "created_by_key_prefix": order.note_author,
                }
                for note in order.notes
            ],
        ),
        (
            # The lookup rows of the externalOrderId filter.
            _EXTERNAL_IDS,
            [
                {"order_id": order_id, "position": n, "account_id": order.account_id, "value": v}
                for n, v in enumerate(order.external_order_ids)
            ],
        ),
    ]
    for statement, rows in children:
        if rows:
            await driver.execute_many(session, statement, rows)
    return order_id


async def move_to_warehouse(
    session: AsyncSession, order_id: int, warehouse_id: int, *, at: datetime
) -> None:
    """Record the warehouse an order's stock was finally reserved at."""
    params = {"order_id": order_id, "warehouse_id": warehouse_id, "moved_at": at}
    await driver.execute_many(session, _MOVE, [params])
