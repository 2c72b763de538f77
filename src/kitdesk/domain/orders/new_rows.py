"""A new order's rows: what it refers to, read in the order view's layout, and its INSERTs.

Placement reads everything an order refers to with one statement (``references``): the patient
or site, the items, the kits with their lines, and the stock levels of every item involved at
the active warehouses. The rows keep the column layout of ``view_statements`` so that
``view_rows.for_new_order`` lays out the new order's view from them without reading it back. The
order is then written with one statement on PostgreSQL (``write``).
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
    ColumnElement,
    Insert,
    Integer,
    Select,
    String,
    Text,
    Update,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    null,
    schema,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kitdesk.db import driver
from kitdesk.domain.accounts.service import KEY_COLUMNS, key_account, key_lookup_with
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.orders import view_statements as sql

Row = Sequence[Any]

_tables = sql.orders.metadata.tables
_catalog = _tables["catalog_entries"]
_stock = _tables["stock_levels"]
_warehouses = _tables["fulfillment_sites"]
_subscriptions = _tables["webhook_subscriptions"]
_audit = _tables["audit_entries"]
_accounts = _tables["accounts"]


def _id(name: str) -> BindParameter[int]:
    return bindparam(name, type_=BigInteger)


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


@dataclass
class References:
    """What a new order refers to; unknown (or other accounts') references are absent."""

    patient: Row | None = None  # PATIENT_COLUMNS, then its site's SUMMARY_COLUMNS
    site: Row | None = None  # SITE_COLUMNS
    items: dict[int, ItemRow] = field(default_factory=dict)
    kits: dict[int, KitRow] = field(default_factory=dict)
    # (warehouse id, item id, available units) at active warehouses, for the order's items and
    # its kits' items.
    stock: list[tuple[int, int, int]] = field(default_factory=list)
    # The account's live webhook subscriptions, (event type, subscription id), for ``publish``.
    subscribers: list[tuple[str, int]] = field(default_factory=list)
    # Whether the account keeps external order ids unique (None: the account was not read).
    unique_external_ids: bool | None = None
    # The new order's id, when the read drew one (``keyed_references``' ``draw_order_id``).
    order_id: int | None = None


# The references statement is a UNION ALL whose rows each fill one group of columns (kit lines
# fill two: the kit and the line's item) and leave the other groups NULL. Each group has its own
# column range, so every column keeps one type down the union.
_GROUPS: list[list[ColumnElement[Any]]] = [
    [
        *sql.columns(sql.patients, sql.PATIENT_COLUMNS),
        *sql.columns(sql.patient_site, sql.SUMMARY_COLUMNS),
    ],
    sql.columns(sql.sites, sql.SITE_COLUMNS),
    [*sql.columns(sql.kits, sql.KIT_COLUMNS), sql.kit_items.c.position, sql.kit_items.c.count],
    sql.item_columns(),
    [
        _stock.c.fulfillment_site_id,
        _stock.c.item_id,
        (_stock.c.on_hand - _stock.c.reserved).label("available"),
    ],
    [_subscriptions.c.type, _subscriptions.c.id],
    [_accounts.c.unique_external_order_ids, cast(null(), BigInteger).label("new_order_id")],
]
_PATIENT, _SITE, _KIT, _ITEM, _STOCK, _SUBSCRIBER, _ACCOUNT = range(len(_GROUPS))
_START = [1 + sum(len(g) for g in _GROUPS[:n]) for n in range(len(_GROUPS))]


def _group(row: Row, group: int) -> tuple[Any, ...]:
    start = _START[group]
    return tuple(row[start : start + len(_GROUPS[group])])


def _branch(
    kind: int, *filled: int, instead: dict[tuple[int, int], ColumnElement[Any]] | None = None
) -> Select[Any]:
    """A SELECT of the union filling ``filled`` groups, typed NULLs elsewhere; ``instead`` gives
    other values to some columns, by (group, place). Every column has a name of its own (group
    and place), so the union reads the same as a subquery."""
    instead = instead or {}
    return select(
        literal_column(str(kind), Integer).label("kind"),
        *(
            (instead.get((n, i), column) if n in filled else cast(null(), column.type)).label(
                f"g{n}_{i}"
            )
            for n, group in enumerate(_GROUPS)
            for i, column in enumerate(group)
        ),
    )


def _bucket(count: int) -> int:
    # Id lists are padded with NULLs to a power of two: a bounded set of statements (a few
    # dozen) serves any order, each sent as a prepared statement PostgreSQL keeps a plan for.
    size = 1
    while size < count:
        size *= 2
    return size


def _in(column: Any, prefix: str, size: int) -> ColumnElement[bool]:
    result: ColumnElement[bool] = column.in_([_id(f"{prefix}_{n}") for n in range(size)])
    return result


# An id for the new order, drawn from the orders' sequence before it is written: its view and
# its webhook payloads name it before the statement that writes it, which returns nothing.
ORDER_IDS = schema.Sequence("orders_id_seq")
_DRAWN = (_ACCOUNT, len(_GROUPS[_ACCOUNT]) - 1)


@functools.cache
def _references_statement(
    item_slots: int, kit_slots: int, *, keyed: bool = False, draw_order_id: bool = False
) -> Any:
    """The references read; ``keyed``: the key lookup (parameter ``digest``) beside it, for the
    key's account, instead of the parameter ``account_id``. ``draw_order_id`` (PostgreSQL): an
    id for the new order drawn from its sequence (an order refused later leaves a gap, as a
    rolled-back INSERT does)."""
    kits, lines, items = sql.kits, sql.kit_items, sql.items
    account: Any = key_account() if keyed else _id("account_id")
    kit_items_wanted = select(lines.c.item_id).where(_in(lines.c.kit_id, "kit", kit_slots))
    read = union_all(
        _branch(_PATIENT, _PATIENT)
        .select_from(
            sql.patients.outerjoin(
                sql.patient_site, sql.patient_site.c.id == sql.patients.c.site_id
            )
        )
        .where(sql.patients.c.id == _id("patient_id"), sql.patients.c.account_id == account),
        _branch(_SITE, _SITE).where(
            sql.sites.c.id == _id("site_id"), sql.sites.c.account_id == account
        ),
        # The account's catalog items among those ordered.
        _branch(_ITEM, _ITEM)
        .select_from(
            items.join(
                _catalog, (_catalog.c.item_id == items.c.id) & (_catalog.c.account_id == account)
            ).outerjoin(sql.manufacturers, sql.manufacturers.c.id == items.c.manufacturer_id)
        )
        .where(_in(items.c.id, "item", item_slots)),
        # The kits (the account's own or shared), one row per line with its item; a kit without
        # lines has one row with NULL line and item.
        _branch(_KIT, _KIT, _ITEM)
        .select_from(
            kits.outerjoin(lines, lines.c.kit_id == kits.c.id)
            .outerjoin(items, items.c.id == lines.c.item_id)
            .outerjoin(sql.manufacturers, sql.manufacturers.c.id == items.c.manufacturer_id)
        )
        .where(
            _in(kits.c.id, "kit", kit_slots),
            (kits.c.account_id == account) | kits.c.account_id.is_(None),
        ),
        # Unlocked stock levels at the active warehouses: the choice a new order starts from.
        _branch(_STOCK, _STOCK)
        .select_from(_stock.join(_warehouses, _warehouses.c.id == _stock.c.fulfillment_site_id))
        .where(
            _warehouses.c.active.is_(True),
            _in(_stock.c.item_id, "item", item_slots) | _stock.c.item_id.in_(kit_items_wanted),
        ),
        # Who will hear of the new order (read here to spare a round trip later).
        _branch(_SUBSCRIBER, _SUBSCRIBER).where(
            _subscriptions.c.account_id == account, _subscriptions.c.deleted_at.is_(None)
        ),
        # The account's rule on external ids (placement decides its way of writing by it), and
        # the new order's id when asked for.
        _branch(_ACCOUNT, _ACCOUNT, instead=_drawn_id() if draw_order_id else None).where(
            _accounts.c.id == account
        ),
    )
    if not keyed:
        return read
    # Every row of the read beside the key's row (one row with NULLs when nothing resolved).
    found = read.subquery("refs")
    return key_lookup_with(list(found.c), found, true())


def _drawn_id() -> dict[tuple[int, int], ColumnElement[Any]]:
    return {_DRAWN: ORDER_IDS.next_value()}


def _reference_params(
    patient_id: int | None, site_id: int | None, item_ids: Sequence[int], kit_ids: Sequence[int]
) -> tuple[int, int, dict[str, Any]]:
    item_slots, kit_slots = _bucket(len(item_ids)), _bucket(len(kit_ids))
    params: dict[str, Any] = {"patient_id": patient_id, "site_id": site_id}
    for prefix, ids, slots in (("item", item_ids, item_slots), ("kit", kit_ids, kit_slots)):
        padded = [*ids, *(None,) * (slots - len(ids))]
        params.update((f"{prefix}_{n}", ident) for n, ident in enumerate(padded))
    return item_slots, kit_slots, params


async def references(
    session: AsyncSession | AsyncConnection,
    *,
    account_id: int,
    patient_id: int | None,
    site_id: int | None,
    item_ids: Sequence[int],
    kit_ids: Sequence[int],
) -> References:
    """Everything a new order refers to, in one statement."""
    item_slots, kit_slots, params = _reference_params(patient_id, site_id, item_ids, kit_ids)
    params["account_id"] = account_id
    rows = await driver.fetch(session, _references_statement(item_slots, kit_slots), params)
    return _references_from(rows)


async def keyed_references(
    session: AsyncSession | AsyncConnection,
    *,
    digest: str,
    patient_id: int | None,
    site_id: int | None,
    item_ids: Sequence[int],
    kit_ids: Sequence[int],
    draw_order_id: bool = False,
) -> tuple[list[Row], References]:
    """The API key whose hash is ``digest`` and what a new order would refer to in the key's
    account, in one statement: the key's rows for ``check_key`` (``found``), and the references.

    The references belong to the key's own account whatever the key's state, and must be
    dropped unless the key passes its checks. ``draw_order_id`` (PostgreSQL only): the
    references carry an id drawn for the new order (``References.order_id``; placement writes
    the order with it)."""
    item_slots, kit_slots, params = _reference_params(patient_id, site_id, item_ids, kit_ids)
    params["digest"] = digest
    statement = _references_statement(
        item_slots, kit_slots, keyed=True, draw_order_id=draw_order_id
    )
    rows = await driver.fetch(session, statement, params)
    keys = [row[:KEY_COLUMNS] for row in rows[:1]]
    found = [row[KEY_COLUMNS:] for row in rows if row[KEY_COLUMNS] is not None]
    return keys, _references_from(found)


def _references_from(rows: Sequence[Row]) -> References:
    found = References()
    for row in rows:
        kind = row[0]
        if kind == _PATIENT:
            found.patient = _group(row, _PATIENT)
        elif kind == _SITE:
            found.site = _group(row, _SITE)
        elif kind == _ITEM:
            item = ItemRow(_group(row, _ITEM))
            found.items[item.id] = item
        elif kind == _KIT:
            ident, name, archived, loaner, position, count = _group(row, _KIT)
            kit = found.kits.get(ident)
            if kit is None:
                kit = found.kits[ident] = KitRow(ident, name, archived, loaner)
            if position is not None:
                kit.lines.append(KitLine(position, count, ItemRow(_group(row, _ITEM))))
        elif kind == _STOCK:
            found.stock.append(_group(row, _STOCK))
        elif kind == _ACCOUNT:
            unique, found.order_id = _group(row, _ACCOUNT)
            found.unique_external_ids = bool(unique)
        else:
            found.subscribers.append(_group(row, _SUBSCRIBER))
    for kit in found.kits.values():
        kit.lines.sort(key=lambda line: line.position)
    found.subscribers.sort(key=lambda subscriber: subscriber[1])
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
    id: int | None = None  # drawn before the write (``References.order_id``); else assigned by it


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
    .values(
        {
            # The id drawn for the order, else the next one.
            "id": func.coalesce(bindparam("order_id", type_=BigInteger), ORDER_IDS.next_value()),
            **{name: bindparam(name) for name in _ORDER_VALUES},
        }
    )
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
    table_ = _tables[table]
    written = insert(table_).from_select(["order_id", *arrays, *scalars], rows)
    return written.returning(table_.c.order_id).cte(prefix)


_unique_ids = (
    select(_tables["accounts"].c.unique_external_order_ids)
    .where(_tables["accounts"].c.id == bindparam("account_id"))
    .scalar_subquery()
    .label("unique_external_ids")
)
# The audit entry of the order's creation, naming the new id.
_AUDIT_COLUMNS = [c.key for c in _audit.c if c.key != "id"]
_new_audit_entry = (
    insert(_audit)
    .from_select(
        _AUDIT_COLUMNS,
        select(
            *(
                _new_order.c.id
                if name == "resource_id"
                else bindparam(f"audit_{name}", type_=_audit.c[name].type)
                for name in _AUDIT_COLUMNS
            )
        ).select_from(_new_order),
    )
    .returning(_audit.c.id)
    .cte("audit_entry")
)
# The order's INSERT (``NEW_ORDER_ID`` is its new id) and its rows', for a statement that does
# more with the new order in the same statement (placement reserves its stock). Each returns
# its first column, so that such a statement can read it and so decide when it runs.
WRITE_CTES: tuple[CTE, ...] = (
    _new_audit_entry,
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
NEW_ORDER_ID = _new_order.c.id
_WRITE_ON_POSTGRESQL: Select[Any] = select(_new_order.c.id, _unique_ids).add_cte(*WRITE_CTES)


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


async def write(session: AsyncSession, order: NewOrder, audit_entry: dict[str, Any]) -> Written:
    """Write the order, its rows and the audit entry of its creation (``audit.entry``, whose
    ``resource_id`` becomes the new id): one statement on PostgreSQL, one per table elsewhere."""
    if not driver.is_postgresql(session):
        order_id = await _write_per_table(session, order)
        entry = {**audit_entry, "resource_id": order_id}
        await driver.execute_many(session, audit.write_entry_statement(), [entry])
        return Written(order_id, None)
    params = write_params(order, audit_entry)
    (order_id, unique), *_ = await driver.fetch(session, _WRITE_ON_POSTGRESQL, params)
    return Written(order_id, unique)


def write_params(order: NewOrder, audit_entry: dict[str, Any]) -> dict[str, Any]:
    """PostgreSQL: the parameters of ``WRITE_CTES`` for ``order`` and its creation's audit entry
    (``audit.entry``, whose ``resource_id`` is the new id)."""
    ids = order.external_order_ids
    return {
        **_order_values(order),
        "order_id": order.id,
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
        **{f"audit_{name}": audit_entry[name] for name in _AUDIT_COLUMNS if name != "resource_id"},
    }


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
    statement, params = move_statement(order_id, warehouse_id, at=at)
    await driver.execute_many(session, statement, [params])


def move_statement(
    order_id: int, warehouse_id: int, *, at: datetime
) -> tuple[Update, dict[str, Any]]:
    """The statement of ``move_to_warehouse``, with its parameters."""
    return _MOVE, {"order_id": order_id, "warehouse_id": warehouse_id, "moved_at": at}
