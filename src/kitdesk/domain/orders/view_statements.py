"""The SQL behind the order view: three Core statements for any list of order ids.

The statements are built once, here, with the ids as a parameter (one array on PostgreSQL, an
expanding IN list elsewhere), so SQLAlchemy computes their cache keys once and every request
reuses the compiled form. They return plain rows (no ORM entities); ``views`` assembles them.
Columns are read by position, so each statement lists its columns in the order of the
``*_COLUMNS`` groups below; ``view_rows`` builds rows of the same layout from ORM objects.
Collections that share a row layout are read by one UNION ALL whose ``kind`` column tells them
apart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    BigInteger,
    BindParameter,
    Boolean,
    ColumnElement,
    Date,
    Integer,
    String,
    Table,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import _anonymous_label

from kitdesk.db.base import UTCDateTime
from kitdesk.db.models import Order
from kitdesk.domain.accounts.service import key_accepted, key_lookup_with

_tables = Order.metadata.tables
orders: Table = _tables["orders"]
patients: Table = _tables["patients"]
sites: Table = _tables["sites"]
items: Table = _tables["items"]
manufacturers: Table = _tables["manufacturers"]
kits: Table = _tables["kits"]
kit_items: Table = _tables["kit_items"]
order_items: Table = _tables["order_items"]
order_kits: Table = _tables["order_kits"]
packed_kits: Table = _tables["packed_kits"]
order_events: Table = _tables["order_events"]
order_notes: Table = _tables["order_notes"]
tracking_numbers: Table = _tables["tracking_numbers"]
order_devices: Table = _tables["order_devices"]
devices: Table = _tables["devices"]
device_identifiers: Table = _tables["device_identifiers"]
device_events: Table = _tables["device_events"]
returns: Table = _tables["returns"]
return_devices: Table = _tables["return_devices"]
return_items: Table = _tables["return_items"]
return_packed_kits: Table = _tables["return_packed_kits"]

IDS: BindParameter[int] = bindparam("ids", expanding=True)
InIds = Callable[[Any], ColumnElement[bool]]
ADDRESS = (
    "address_line_one",
    "address_line_two",
    "address_line_three",
    "address_city",
    "address_state",
    "address_zip_code",
    "address_country",
    "address_note",
)
# Column names of each group, in row order (the ORM attributes carry the same names).
ORDER_COLUMNS = (
    "id",
    "account_id",
    "external_order_ids",
    "current_status",
    "shipping_option",
    "email_label",
    "created_at",
    "updated_at",
)
PATIENT_COLUMNS = (
    "id",
    "external_identifier",
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
    "phone_number",
    "archived",
    "enrolled",
    "sex",
    *ADDRESS,
    "created_at",
    "updated_at",
)
SITE_COLUMNS = ("id", "name", "active", "phone_number", *ADDRESS, "created_at", "updated_at")
SUMMARY_COLUMNS = ("id", "name", "active")
DEVICE_PATIENT_COLUMNS = PATIENT_COLUMNS[:8]
ITEM_COLUMNS = (
    "id",
    "name",
    "model",
    "sku",
    "orderable",
    "device_identifier_type",
    "item_class",
    "item_class_type",
    "size",
    "reading_type",
    "dimensions",
)
KIT_COLUMNS = ("id", "name", "archived", "loaner")
DEVICE_COLUMNS = (
    "id",
    "current_status",
    "used",
    "last_health_check",
    "external_identifier",
    "disabled_readings",
    "created_at",
    "updated_at",
)
# Where each group starts in the rows of its statement.
ORDER_PATIENT = len(ORDER_COLUMNS)
ORDER_PATIENT_SITE = ORDER_PATIENT + len(PATIENT_COLUMNS)
ORDER_SITE = ORDER_PATIENT_SITE + len(SUMMARY_COLUMNS)
ITEM = 5  # kind, owner, position, count, packed kit id
DEVICE = ITEM + len(ITEM_COLUMNS) + 2
DEVICE_PATIENT = DEVICE + len(DEVICE_COLUMNS)
DEVICE_SITE = DEVICE_PATIENT + len(DEVICE_PATIENT_COLUMNS)
ITEM_WIDTH = DEVICE_SITE + len(SUMMARY_COLUMNS)
# Kinds of ITEMS rows.
ORDERED_ITEM, KIT_LINE, RETURNED_ITEM, ORDER_DEVICE = range(4)
# Kinds of PARTS rows.
(
    EVENT,
    NOTE,
    TRACKING,
    ORDERED_KIT,
    PACKED_KIT,
    DEVICE_IDENTIFIER,
    DEVICE_EVENT,
    RETURN_LEG,
    RETURN_DEVICE,
    RETURN_PACKED_KIT,
) = range(10)

# The columns that order the rows of each statement: (kind, owner, position) for ITEMS;
# (kind, owner, sort, position) for PARTS.
ITEMS_ORDER = itemgetter(0, 1, 2)
PARTS_ORDER = itemgetter(0, 1, 2, 3)


def columns(table: Any, names: tuple[str, ...]) -> list[ColumnElement[Any]]:
    return [table.c[name] for name in names]


def _kind(value: int) -> ColumnElement[int]:
    return literal_column(str(value), Integer).label("kind")


def _none(type_: Any = None) -> ColumnElement[Any]:
    # A typed NULL where the column's type is not known from another SELECT of the UNION:
    # PostgreSQL types a UNION pair by pair, and SQLAlchemy reads each column's values by the
    # type it has in the first SELECT.
    return null() if type_ is None else cast(null(), type_)


def item_columns() -> list[ColumnElement[Any]]:
    return [*columns(items, ITEM_COLUMNS), manufacturers.c.id, manufacturers.c.name]


def _with_item(table: Any, column: Any) -> Any:
    return table.join(items, items.c.id == column).outerjoin(
        manufacturers, manufacturers.c.id == items.c.manufacturer_id
    )


patient_site = sites.alias("patient_site")
_order_site = sites.alias("order_site")


def _order_columns() -> list[ColumnElement[Any]]:
    return [
        *columns(orders, ORDER_COLUMNS),
        *columns(patients, PATIENT_COLUMNS),
        *columns(patient_site, SUMMARY_COLUMNS),
        *columns(_order_site, SITE_COLUMNS),
    ]


def _orders_from() -> Any:
    return (
        orders.outerjoin(patients, patients.c.id == orders.c.patient_id)
        .outerjoin(patient_site, patient_site.c.id == patients.c.site_id)
        .outerjoin(_order_site, _order_site.c.id == orders.c.site_id)
    )


def _orders(in_ids: InIds) -> Any:
    return select(*_order_columns()).select_from(_orders_from()).where(in_ids(orders.c.id))


def _two_way_returns(in_ids: InIds) -> ColumnElement[bool]:
    return in_ids(returns.c.related_order_id) & returns.c.two_way.is_(True)


def _kits_of_orders(in_ids: InIds) -> Any:
    return union_all(
        select(order_kits.c.kit_id).where(in_ids(order_kits.c.order_id)),
        select(packed_kits.c.kit_id).where(in_ids(packed_kits.c.order_id)),
    )


def _devices_of_orders(in_ids: InIds) -> Any:
    return select(order_devices.c.device_id).where(in_ids(order_devices.c.order_id))


_device_site = sites.alias("device_site")


# A device line's own columns (the device, its patient, its site), labelled apart in the lines.
_DEVICE_PARTS = [
    *(devices.c[name].label(f"device_{name}") for name in DEVICE_COLUMNS),
    *(patients.c[name].label(f"patient_{name}") for name in DEVICE_PATIENT_COLUMNS),
    *(_device_site.c[name].label(f"site_{name}") for name in SUMMARY_COLUMNS),
]
_NO_DEVICE = [_none()] * len(_DEVICE_PARTS)


def _line(kind: int, table: Any, owner: Any) -> Any:
    # kind, owner, position, count, packed kit id, item id, then the device's columns
    return select(
        _kind(kind),
        owner,
        table.c.position,
        table.c.count,
        _none(BigInteger),
        table.c.item_id,
        *_NO_DEVICE,
    )


def _items(in_ids: InIds) -> Any:
    """Everything that embeds an item, in (kind, owner, position) order.

    ORDER_DEVICE: the devices packed on the orders (owner: order id, position: device id) with
    their patient and site; ORDERED_ITEM: ordered items (owner: order id); KIT_LINE: the lines
    of the orders' kits, ordered or packed (owner: kit id); RETURNED_ITEM: items expected back
    on the orders' return legs (owner: return id).

    The lines of every kind are gathered first, without their item, and joined to it (and its
    manufacturer) once: PostgreSQL sets up each node of a plan at every execution, and one
    join in place of one per kind takes about a quarter off this statement's cost to the
    database. A device line brings its device, patient and site from its own branch, so only
    device lines are joined to them.
    """
    lines = union_all(
        select(
            _kind(ORDER_DEVICE),
            order_devices.c.order_id.label("owner"),
            order_devices.c.device_id.label("position"),
            _none(Integer).label("count"),
            order_devices.c.packed_kit_id.label("packed_kit_id"),
            devices.c.item_id.label("item_id"),
            *_DEVICE_PARTS,
        )
        .select_from(
            order_devices.join(devices, devices.c.id == order_devices.c.device_id)
            .outerjoin(patients, patients.c.id == devices.c.current_patient_id)
            .outerjoin(_device_site, _device_site.c.id == devices.c.site_id)
        )
        .where(in_ids(order_devices.c.order_id)),
        _line(ORDERED_ITEM, order_items, order_items.c.order_id).where(
            in_ids(order_items.c.order_id)
        ),
        _line(KIT_LINE, kit_items, kit_items.c.kit_id).where(
            kit_items.c.kit_id.in_(_kits_of_orders(in_ids))
        ),
        _line(RETURNED_ITEM, return_items, return_items.c.return_id)
        .join(returns, returns.c.id == return_items.c.return_id)
        .where(_two_way_returns(in_ids)),
    ).subquery("lines")
    return (
        select(
            lines.c.kind,
            lines.c.owner,
            lines.c.position,
            lines.c["count"],
            lines.c.packed_kit_id,
            *columns(items, ITEM_COLUMNS),
            # Named apart from the item's own id and name (``_json_rows_of`` needs every
            # column named).
            manufacturers.c.id.label("manufacturer_id"),
            manufacturers.c.name.label("manufacturer_name"),
            *(lines.c[column.name] for column in _DEVICE_PARTS),
        )
        .select_from(_with_item(lines, lines.c.item_id))
        .order_by("kind", "owner", "position")
    )


def _part(
    kind: int | ColumnElement[int],
    owner: Any,
    sort: Any,
    *,
    position: Any = None,
    label: Any = None,
    value: Any = None,
    moment: Any = None,
    ref: Any = None,
    ref2: Any = None,
    flags: tuple[Any, Any] = (None, None),
) -> Any:
    return select(
        _kind(kind) if isinstance(kind, int) else kind,
        owner.label("owner"),
        sort.label("sort"),
        (literal_column("0", Integer) if position is None else position).label("position"),
        (_none(String) if label is None else label).label("label"),
        (_none(String) if value is None else value).label("value"),
        (_none(UTCDateTime) if moment is None else moment).label("moment"),
        (_none(BigInteger) if ref is None else ref).label("ref"),
        (_none(BigInteger) if ref2 is None else ref2).label("ref2"),
        *(
            (_none(Boolean) if flag is None else flag).label(name)
            for flag, name in zip(flags, ("flag", "flag2"), strict=True)
        ),
    )


_kit_flags = (kits.c.archived, kits.c.loaner)


def _kits_parts(in_ids: InIds) -> Any:
    """ORDERED_KIT (ref2: the count) and PACKED_KIT (ref2: the packed kit's id) rows, sorted by
    position: the two kinds gathered narrow, then joined to their kit once."""
    lines = union_all(
        select(
            _kind(ORDERED_KIT),
            order_kits.c.order_id.label("owner"),
            order_kits.c.position.label("sort"),
            order_kits.c.kit_id.label("kit_id"),
            order_kits.c.count.label("ref2"),
        ).where(in_ids(order_kits.c.order_id)),
        select(
            _kind(PACKED_KIT),
            packed_kits.c.order_id,
            packed_kits.c.position,
            packed_kits.c.kit_id,
            packed_kits.c.id,
        ).where(in_ids(packed_kits.c.order_id)),
    ).subquery("kit_lines")
    return _part(
        lines.c.kind,
        lines.c.owner,
        lines.c.sort,
        label=kits.c.name,
        ref=kits.c.id,
        ref2=lines.c.ref2,
        flags=_kit_flags,
    ).select_from(lines.join(kits, kits.c.id == lines.c.kit_id))


def _parts(in_ids: InIds) -> Any:
    """The small parts, one row each, in (kind, owner, sort, position) order.

    Columns: kind, owner, sort, position, label, value, moment, ref, ref2, flag, flag2. Owners
    are order ids except for the DEVICE_* rows (device ids). Return rows sort by return id,
    then position; kits by position; the rest by id.
    """
    return union_all(
        _part(
            EVENT,
            order_events.c.order_id,
            order_events.c.id,
            label=order_events.c.name,
            moment=order_events.c.event_timestamp,
        ).where(in_ids(order_events.c.order_id)),
        _part(
            NOTE,
            order_notes.c.order_id,
            order_notes.c.id,
            label=order_notes.c.note,
            moment=order_notes.c.created_at,
        ).where(in_ids(order_notes.c.order_id)),
        _part(
            TRACKING,
            tracking_numbers.c.order_id,
            tracking_numbers.c.id,
            label=tracking_numbers.c.carrier,
            value=tracking_numbers.c.value,
        ).where(in_ids(tracking_numbers.c.order_id)),
        _kits_parts(in_ids),
        _part(
            DEVICE_IDENTIFIER,
            device_identifiers.c.device_id,
            device_identifiers.c.id,
            label=device_identifiers.c.type,
            value=device_identifiers.c.value,
        ).where(device_identifiers.c.device_id.in_(_devices_of_orders(in_ids))),
        _part(
            DEVICE_EVENT,
            device_events.c.device_id,
            device_events.c.id,
            label=device_events.c.type,
            moment=device_events.c.event_timestamp,
            ref=device_events.c.order_id,
            ref2=device_events.c.return_id,
        ).where(device_events.c.device_id.in_(_devices_of_orders(in_ids))),
        _part(RETURN_LEG, returns.c.related_order_id, returns.c.id).where(_two_way_returns(in_ids)),
        _part(
            RETURN_DEVICE,
            returns.c.related_order_id,
            returns.c.id,
            position=return_devices.c.position,
            ref=return_devices.c.device_id,
            ref2=return_devices.c.packed_kit_id,
        )
        .select_from(return_devices.join(returns, returns.c.id == return_devices.c.return_id))
        .where(_two_way_returns(in_ids)),
        _part(
            RETURN_PACKED_KIT,
            returns.c.related_order_id,
            returns.c.id,
            position=return_packed_kits.c.position,
            ref=return_packed_kits.c.packed_kit_id,
        )
        .select_from(
            return_packed_kits.join(returns, returns.c.id == return_packed_kits.c.return_id)
        )
        .where(_two_way_returns(in_ids)),
    ).order_by("kind", "owner", "sort", "position")


class Statements(NamedTuple):
    """The order view's statements for one database."""

    orders: Any
    account_orders: Any  # the same, of one account only (parameter ``account_id``)
    items: Any
    parts: Any


def _statements(in_ids: InIds) -> Statements:
    scoped = _orders(in_ids).where(orders.c.account_id == bindparam("account_id"))
    return Statements(_orders(in_ids), scoped, _items(in_ids), _parts(in_ids))


# PostgreSQL takes the ids as one array parameter (one prepared statement for any number of
# ids); other databases get an expanding IN list.
_ID_ARRAY: BindParameter[Any] = bindparam("ids", type_=ARRAY(BigInteger))
POSTGRESQL = _statements(lambda column: column == any_(_ID_ARRAY))
PORTABLE = _statements(lambda column: column.in_(IDS))


# One order (a fetch, the busiest read) is named by a plain equality. PostgreSQL cannot settle on
# one cached plan for a statement whose parameter is an array, since the best plan depends on how
# many ids it holds: it plans such a statement afresh at every execution, which for these unions
# costs it more than running them. With one scalar id it keeps a generic plan.
_ONE_ID: BindParameter[int] = bindparam("id", type_=BigInteger)
ONE = _statements(lambda column: column == _ONE_ID)


# An order fetch on PostgreSQL in one statement: the API key lookup (parameter ``digest``), the
# order ``id`` of the key's account with everything its view needs, and the read's audit entry.
#
# Its one row holds the key's ``KEY_COLUMNS`` values first (none when the key is unknown), then
# the order's row of ``Statements.orders`` (all NULL when the key's account has no such order),
# then the order's ``Statements.items`` rows as one JSON array and its ``Statements.parts`` rows
# as another (``typed_rows`` reads them), each in no particular order (sort them by
# ``ITEMS_ORDER`` and ``PARTS_ORDER``, the order of their statements). The arrays are read only
# for an order the LEFT JOIN found (NULL otherwise), so another account's order is never read.
# Everything after the key's values must be dropped unless the key passes ``check_key``.
#
# The audit entry is written by a data-modifying CTE (PostgreSQL runs it exactly once, whatever
# the SELECT returns) for an order of the key's account, and only if the key is accepted at the
# parameter ``now`` (``key_accepted``, the SQL twin of ``check_key``, which must be given the
# same ``now``); its account and key prefix are the key's own, its other columns the
# parameters named after them with ``AUDIT_PREFIX``. For PostgreSQL only, where the fetch runs
# in autocommit: the statement is a transaction of its own, and a failed INSERT fails it, so no
# patient data is read without its entry.
AUDIT_PREFIX = "audit_"
_audit_table: Table = _tables["audit_entries"]
AUDIT_COLUMNS = tuple(c.name for c in _audit_table.columns if c.name != "id")
_api_keys: Table = _tables["api_keys"]
_accounts: Table = _tables["accounts"]


def _json_rows_of(rows: Any, name: str) -> Any:
    """The rows of ``rows`` (a statement) as one JSON array of arrays, in no particular order:
    the reader sorts them (``ITEMS_ORDER``, ``PARTS_ORDER``), which costs it less than
    PostgreSQL's sort inside the aggregate costs the database.

    JSON rather than an array of records: asyncpg decodes a record field by field, looking up
    each field's type as it goes, which for an order's lines cost the API process more than the
    rest of the fetch's statement; one JSON text is parsed at once (``kitdesk.db.engine``'s
    ``json_loads``), for the same work on the database's side. Timestamps and dates arrive as
    text: ``typed_rows`` gives them their types back.
    """
    sub = rows.order_by(None).subquery(name)
    names = [column.name for column in sub.c]
    if len(set(names)) != len(names) or any(isinstance(n, _anonymous_label) for n in names):
        # An unnamed column is named anew wherever it is referenced: the array would repeat
        # one column in place of others.
        raise TypeError(f"{name}: every column needs a name of its own, not {names}")
    return select(func.json_agg(func.json_build_array(*sub.c))).select_from(sub).scalar_subquery()


def _moment(text: str | None) -> datetime | None:
    # PostgreSQL writes a timestamptz in JSON with the session's offset: read back as UTC.
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


# The column types a JSON array carries as they are (numbers, strings, booleans, JSON itself).
_AS_THEY_ARE = (Integer, String, Boolean, JSON)
Parse = Callable[[Any], Any]


def _parsers(statement: Any) -> tuple[tuple[int, Parse], ...]:
    """(position, parse) of the columns of ``statement`` whose values a JSON array carries as
    text; a column of any other type is refused, so that no value changes on the way."""
    found: list[tuple[int, Parse]] = []
    for position, column in enumerate(statement.selected_columns):
        kind = column.type
        if isinstance(kind, UTCDateTime):
            found.append((position, _moment))
        elif isinstance(kind, Date):
            found.append((position, _day))
        elif not isinstance(kind, _AS_THEY_ARE):
            raise TypeError(f"{column.name}: {kind!r} has no faithful JSON form here")
    return tuple(found)


ITEMS_TEXTS = _parsers(ONE.items)
PARTS_TEXTS = _parsers(ONE.parts)


def typed_rows(rows: list[list[Any]] | None, texts: tuple[tuple[int, Parse], ...]) -> list[Any]:
    """Rows read from a JSON array of ``_json_rows_of`` (None: no rows), with the values JSON
    carried as text (``ITEMS_TEXTS``, ``PARTS_TEXTS``) parsed back; new rows, ``rows`` is left
    as it was."""
    typed = []
    for row in rows or ():
        values = list(row)
        for position, parse in texts:
            if values[position] is not None:
                values[position] = parse(values[position])
        typed.append(values)
    return typed


def _one_order_of_key() -> Any:
    return (orders.c.account_id == _api_keys.c.account_id) & (orders.c.id == _ONE_ID)


_found = orders.c.id.is_not(None)
_read_entry = (
    _audit_table.insert()
    .from_select(
        list(AUDIT_COLUMNS),
        select(
            *(
                _api_keys.c.account_id
                if name == "account_id"
                else _api_keys.c.prefix
                if name == "key_prefix"
                else bindparam(AUDIT_PREFIX + name, type_=_audit_table.c[name].type)
                for name in AUDIT_COLUMNS
            )
        )
        .select_from(
            _api_keys.join(_accounts, _accounts.c.id == _api_keys.c.account_id).join(
                orders, _one_order_of_key()
            )
        )
        .where(
            _api_keys.c.key_hash == bindparam("digest"),
            key_accepted(bindparam("now", type_=UTCDateTime)),
        ),
    )
    .cte("read_entry")
)
KEYED_ONE = key_lookup_with(
    [
        *_order_columns(),
        case((_found, _json_rows_of(ONE.items, "one_items"))),
        case((_found, _json_rows_of(ONE.parts, "one_parts"))),
    ],
    _orders_from(),
    _one_order_of_key(),
).add_cte(_read_entry)


def for_ids(dialect: str, ids: list[int]) -> tuple[Statements, dict[str, Any]]:
    """The statements reading the orders ``ids`` on a database (by its SQLAlchemy dialect name),
    with their id parameter."""
    if len(ids) == 1:
        return ONE, {"id": ids[0]}
    return (POSTGRESQL if dialect == "postgresql" else PORTABLE), {"ids": ids}
