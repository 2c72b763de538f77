"""The API view of orders as plain JSON-ready dicts, read with a fixed number of Core statements.

The dicts have exactly the keys, key order and values of ``OrderRead`` serialized by alias
(``tests/api/test_order_views.py`` holds them to it), so a route can send them as they are,
without building and validating pydantic models on every request. Datetimes and dates stay
Python objects: ``pydantic_core`` writes them as the models would (``to_json``,
``to_jsonable_python``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kitdesk.db import driver
from kitdesk.domain.orders import view_statements as sql
from kitdesk.domain.orders.view_rows import ViewRows
from kitdesk.errors import not_found

View = dict[str, Any]
Row = Sequence[Any]

__all__ = ["View", "assemble", "jsonable", "load_views", "one_view", "order_view"]


async def load_views(
    session: AsyncSession | AsyncConnection, ids: Sequence[int], *, account_id: int | None = None
) -> dict[int, View]:
    """The views of these orders (of the account's only, when ``account_id`` is given), by id.

    Three statements whatever the orders hold; one when none of the ids is found.
    """
    if not ids:
        return {}
    rows = await _read(session, list(ids), account_id)
    return assemble(rows) if rows.orders else {}


async def order_view(
    session: AsyncSession | AsyncConnection, *, account_id: int | None, order_id: int
) -> View:
    """One order's view, or 404 (``account_id`` None: any account, for operators only)."""
    view = (await load_views(session, [order_id], account_id=account_id)).get(order_id)
    if view is None:
        raise not_found("order", order_id)
    return view


def one_view(
    order_id: int, found: Sequence[Row], items: Sequence[Row], parts: Sequence[Row]
) -> View:
    """One order's view from its rows already read (``found``: the order's row, none when it was
    not found; ``items`` and ``parts``: as the ``Statements`` read them), or 404."""
    view = assemble(ViewRows(found, items, parts)).get(order_id) if found else None
    if view is None:
        raise not_found("order", order_id)
    return view


def jsonable(view: View) -> View:
    """A view as JSON-compatible values only (datetimes as strings), e.g. for a webhook."""
    data: View = to_jsonable_python(view)
    return data


async def _read(
    session: AsyncSession | AsyncConnection,
    ids: list[int],
    account_id: int | None,
) -> ViewRows:
    if isinstance(session, AsyncSession):
        # Core statements do not autoflush: the session's pending changes must reach the
        # database before reading.
        await session.flush()
        dialect = (await session.connection()).dialect.name
    else:
        dialect = session.dialect.name
    statements, params = sql.for_ids(dialect, ids)
    # A customer's read names its account in the SQL itself: another tenant's order is never
    # read, not even to be discarded.
    if account_id is None:
        found = await driver.fetch(session, statements.orders, params)
    else:
        scoped = {**params, "account_id": account_id}
        found = await driver.fetch(session, statements.account_orders, scoped)
    if not found:
        return ViewRows()
    statements, params = sql.for_ids(dialect, [r[0] for r in found])
    items = await driver.fetch(session, statements.items, params)
    parts = await driver.fetch(session, statements.parts, params)
    return ViewRows(found, items, parts)


def assemble(rows: ViewRows) -> dict[int, View]:
    """Build the views from rows laid out as ``view_statements`` reads them, by order id."""
    parts = _parts(rows.parts)
    lines, devices = _items(rows.items, parts[sql.DEVICE_IDENTIFIER], parts[sql.DEVICE_EVENT])
    kit_lines = lines[sql.KIT_LINE]
    views: dict[int, View] = {}
    for r in rows.orders:
        order_id = r[0]
        views[order_id] = {
            "id": order_id,
            "externalOrderIds": list(r[2]),
            "patient": _patient(r),
            "site": _site(r, sql.ORDER_SITE),
            "currentStatus": r[3],
            "shippingOption": r[4],
            "emailLabel": r[5],
            "orderItems": lines[sql.ORDERED_ITEM].get(order_id, []),
            "orderKits": [
                {"kit": _kit(p, kit_lines), "count": p[8]}
                for p in parts[sql.ORDERED_KIT].get(order_id, ())
            ],
            "orderNotes": [
                {"note": p[4], "createdAt": p[6], "createdBy": None}
                for p in parts[sql.NOTE].get(order_id, ())
            ],
            "orderEvents": [
                {"name": p[4], "eventTimestamp": p[6]} for p in parts[sql.EVENT].get(order_id, ())
            ],
            "trackingNumbers": [
                {"carrier": p[4], "value": p[5]} for p in parts[sql.TRACKING].get(order_id, ())
            ],
            "devices": devices.get((order_id, None), []),
            "packedKits": [
                {
                    "id": p[8],
                    "kit": _kit(p, kit_lines),
                    "devices": devices.get((order_id, p[8]), []),
                }
                for p in parts[sql.PACKED_KIT].get(order_id, ())
            ],
            **_return_leg(order_id, parts, lines[sql.RETURNED_ITEM]),
            "createdAt": r[6],
            "updatedAt": r[7],
        }
    return views


def _parts(rows: Sequence[Row]) -> list[dict[int, list[Row]]]:
    # PARTS rows by kind, then by owner, in the statement's order.
    by_kind: list[dict[int, list[Row]]] = [{} for _ in range(sql.RETURN_PACKED_KIT + 1)]
    for r in rows:
        by_kind[r[0]].setdefault(r[1], []).append(r)
    return by_kind


def _address(r: Row, i: int) -> View | None:
    values = r[i : i + 8]
    if all(v is None for v in values):
        return None
    return {
        "lineOne": values[0],
        "lineTwo": values[1],
        "lineThree": values[2],
        "city": values[3],
        "state": values[4],
        "zipCode": values[5],
        "country": values[6],
        "note": values[7],
    }


def _summary(r: Row, i: int) -> View | None:
    return None if r[i] is None else {"id": r[i], "name": r[i + 1], "active": r[i + 2]}


def _patient(r: Row) -> View | None:
    i = sql.ORDER_PATIENT
    if r[i] is None:
        return None
    return {
        **_device_patient(r, i),
        "enrolled": r[i + 8],
        "sex": r[i + 9],
        "address": _address(r, i + 10),
        "site": _summary(r, sql.ORDER_PATIENT_SITE),
        "createdAt": r[i + 18],
        "updatedAt": r[i + 19],
    }


def _device_patient(r: Row, i: int) -> View:
    return {
        "id": r[i],
        "externalIdentifier": r[i + 1],
        "firstName": r[i + 2],
        "lastName": r[i + 3],
        "dateOfBirth": r[i + 4],
        "email": r[i + 5],
        "phoneNumber": r[i + 6],
        "archived": r[i + 7],
    }


def _site(r: Row, i: int) -> View | None:
    if r[i] is None:
        return None
    return {
        "id": r[i],
        "name": r[i + 1],
        "active": r[i + 2],
        "phoneNumber": r[i + 3],
        "address": _address(r, i + 4),
        "createdAt": r[i + 12],
        "updatedAt": r[i + 13],
    }


def _kit(part: Row, kit_lines: dict[int, list[View]]) -> View:
    return {
        "id": part[7],
        "name": part[4],
        "archived": part[9],
        "loaner": part[10],
        "kitItems": kit_lines.get(part[7], []),
    }


def _item(r: Row) -> View:
    i = sql.ITEM
    maker = r[i + 11]
    return {
        "id": r[i],
        "name": r[i + 1],
        "model": r[i + 2],
        "sku": r[i + 3],
        "manufacturer": None if maker is None else {"id": maker, "name": r[i + 12]},
        "orderable": r[i + 4],
        "deviceIdentifierType": r[i + 5],
        "itemClass": r[i + 6],
        "itemClassType": r[i + 7],
        "size": r[i + 8],
        "readingType": r[i + 9],
        "dimensions": r[i + 10],
        "itemCertifications": [],
    }


def _items(
    rows: Sequence[Row],
    identifiers: dict[int, list[Row]],
    events: dict[int, list[Row]],
) -> tuple[list[dict[int, list[View]]], dict[tuple[int, int | None], list[View]]]:
    """Item lines by kind and owner; devices by (order id, packed kit id or None)."""
    lines: list[dict[int, list[View]]] = [{}, {}, {}]
    devices: dict[tuple[int, int | None], list[View]] = {}
    for r in rows:
        if r[0] != sql.ORDER_DEVICE:
            lines[r[0]].setdefault(r[1], []).append({"item": _item(r), "count": r[3]})
            continue
        i = sql.DEVICE
        device_id = r[i]
        patient = sql.DEVICE_PATIENT
        device = {
            "id": device_id,
            "item": _item(r),
            "currentStatus": r[i + 1],
            "used": r[i + 2],
            "currentPatient": None if r[patient] is None else _device_patient(r, patient),
            "site": _summary(r, sql.DEVICE_SITE),
            "lastHealthCheck": r[i + 3],
            "deviceIdentifiers": [
                {"type": p[4], "value": p[5]} for p in identifiers.get(device_id, ())
            ],
            "deviceEvents": [
                {"type": p[4], "eventTimestamp": p[6], "orderId": p[7], "returnId": p[8]}
                for p in events.get(device_id, ())
            ],
            "externalIdentifier": r[i + 4],
            "disabledReadings": r[i + 5],
            "createdAt": r[i + 6],
            "updatedAt": r[i + 7],
        }
        devices.setdefault((r[1], r[4]), []).append(device)
    return lines, devices


def _return_leg(
    order_id: int, parts: list[dict[int, list[Row]]], returned: dict[int, list[View]]
) -> View:
    # The order's first two-way return carries its return leg.
    legs = parts[sql.RETURN_LEG].get(order_id)
    if not legs:
        return {"returnId": None, "returnDevices": [], "returnItems": [], "returnPackedKits": []}
    return_id = legs[0][2]
    leg_devices = [p for p in parts[sql.RETURN_DEVICE].get(order_id, ()) if p[2] == return_id]
    in_kits = {p[7] for p in leg_devices if p[8] is not None}
    return {
        "returnId": return_id,
        "returnDevices": [{"id": p[7]} for p in leg_devices if p[7] not in in_kits],
        "returnItems": returned.get(return_id, []),
        "returnPackedKits": [
            {"id": p[7]}
            for p in parts[sql.RETURN_PACKED_KIT].get(order_id, ())
            if p[2] == return_id
        ],
    }
