"""The order views read with Core statements equal what the ``OrderRead`` models render.

Every way Kitdesk shows an order (fetch, list, operator fetch, the new order's own view, the
webhook payload) goes through ``kitdesk.domain.orders.views``; these tests hold its output to
the models' serialization, key order included, for orders of every shape.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db import driver
from kitdesk.db.models import Item
from kitdesk.domain.accounts.service import KEY_COLUMNS, hash_key
from kitdesk.domain.orders import queries, view_statements, views
from tests.api.order_views_reference import load, reference
from tests.api.orders_support import (
    ORDERS,
    add_loaner_kit,
    items,
    kits,
    new_patient,
    new_site,
)
from tests.api.returns_support import delivered_kit
from tests.conftest import Api
from tests.flows.test_order_lifecycle import move, place


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def advance(api: Api, op: str, order_id: int, *steps: str | tuple[str, dict[str, Any]]) -> None:
    for step in steps:
        status, extra = (step, {}) if isinstance(step, str) else step
        ok(move(api, op, order_id, status, **extra))


def shipped(value: str) -> tuple[str, dict[str, Any]]:
    return ("shipped", {"trackingNumbers": [{"carrier": "UPS", "value": value}]})


def varied_orders(api: Api, demo_keys: Any) -> tuple[list[int], list[dict[str, Any]]]:
    """Orders of every shape: patient and site orders, items, kits, notes, events, tracking
    numbers, packed devices and kits, loaners, a cancelled order and two-way orders.

    Returns the ids of the orders worked after their creation, and the creation answers
    (POST bodies) of those left as created.
    """
    key, op = demo_keys.customer, demo_keys.operator
    full = place(
        api,
        key,
        externalOrderIds=["ext-1", "ext-2"],
        orderItems=items(1000, 1003, count=2),
        orderKits=kits(1000, 1001, 1002),
        orderNotes=[{"note": "leave at the door"}, {"note": "ring twice"}],
        shippingOption="overnight",
    )["id"]
    advance(api, op, full, "processing", "packed", shipped("1ZFULL"), "delivered")
    ok(api.post(f"{ORDERS}/{full}/note", key=key, json={"note": "received, thanks"}), 201)
    site = ok(
        api.post(ORDERS, key=key, json={"site": {"id": 1234}, "orderItems": items(1001, 1003)}),
        201,
    )["id"]
    advance(api, op, site, "processing", "packed", shipped("1ZSITE"), "delivered")
    bare_site = new_site(api, key, "Annex without address")
    created = [
        ok(
            api.post(ORDERS, key=key, json={"site": {"id": bare_site}, "orderKits": kits(1001)}),
            201,
        ),
        place(api, key, patient={"id": new_patient(api, key)}, orderKits=kits(1004)),
        place(
            api,
            key,
            externalOrderIds=["new-1", "new-2"],
            orderItems=items(1002, 1000, count=3),
            orderKits=kits(1002, 1001),
            orderNotes=[{"note": "first"}, {"note": "second"}],
            shippingOption="expedited",
        ),
        place(api, key, orderKits=kits(add_loaner_kit(api), 1000)),
    ]
    cancelled = place(api, key, orderItems=items(1005))["id"]
    ok(api.post(f"{ORDERS}/{cancelled}/cancel", key=key))
    device = ok(api.get(f"{ORDERS}/{full}", key=key))["devices"][0]["id"]
    created.append(
        place(
            api,
            key,
            orderItems=items(1003),
            returnDevices=[{"id": device}],
            returnItems=items(1003, count=3),
            emailLabel=True,
        )
    )
    kit = delivered_kit(api, key, ["VIEW-LOAN-1"])
    created.append(
        place(api, key, orderKits=kits(1000), returnPackedKits=[{"id": kit.packed_kit_id}])
    )
    return [full, site, cancelled, kit.order_id], created


def references(api: Api, ids: list[int]) -> dict[int, dict[str, Any]]:
    async def run(session: AsyncSession) -> dict[int, dict[str, Any]]:
        return {i: reference(await load(session, i)) for i in ids}

    return api.call(run)


def same(view: dict[str, Any], expected: dict[str, Any]) -> None:
    """Equal values with keys in the same order, as the JSON text shows them."""
    assert json.dumps(view) == json.dumps(expected)


def all_ids(api: Api, demo_keys: Any) -> list[int]:
    worked, created = varied_orders(api, demo_keys)
    return sorted([*worked, *(o["id"] for o in created)])


def test_the_orders_cover_every_part_of_the_view(api: Api, demo_keys: Any) -> None:
    ids = all_ids(api, demo_keys)
    expected = list(references(api, ids).values())
    filled = {name for order in expected for name, value in order.items() if value}
    assert filled >= set(expected[0]) - {"shippingOption"}
    assert any(d["currentPatient"] for o in expected for d in o["devices"])
    assert any(d["site"] for o in expected for d in o["devices"])
    assert any(k["devices"] for o in expected for k in o["packedKits"])
    assert any(o["site"] and o["site"]["address"] is None for o in expected)
    assert {o["currentStatus"] for o in expected} >= {"received", "delivered", "cancelled"}


def test_new_orders_are_answered_with_the_model_rendering(api: Api, demo_keys: Any) -> None:
    _, created = varied_orders(api, demo_keys)
    expected = references(api, [o["id"] for o in created])
    assert any(o["returnDevices"] and o["returnItems"] for o in created)
    assert any(o["returnPackedKits"] for o in created)
    for order in created:
        same(order, expected[order["id"]])


def test_fetched_and_listed_orders_equal_the_model_rendering(api: Api, demo_keys: Any) -> None:
    ids = all_ids(api, demo_keys)
    expected = references(api, ids)
    for order_id in ids:
        fetched = api.get(f"{ORDERS}/{order_id}", key=demo_keys.customer)
        assert fetched.headers["content-type"] == "application/json"
        same(ok(fetched), expected[order_id])
        same(
            ok(api.get(f"/api/v3/ops/order/{order_id}", key=demo_keys.operator)), expected[order_id]
        )
    page = ok(api.get(f"{ORDERS}?size=50", key=demo_keys.customer))
    assert [o["id"] for o in page["content"]] == sorted(ids)
    for order in page["content"]:
        same(order, expected[order["id"]])


def test_views_read_together_equal_the_model_rendering(api: Api, demo_keys: Any) -> None:
    ids = all_ids(api, demo_keys)
    expected = references(api, ids)

    async def run(session: AsyncSession) -> dict[int, Any]:
        return await views.load_views(session, list(reversed(ids)))

    read = api.call(run)
    assert sorted(read) == sorted(ids)
    for order_id in ids:
        same(views.jsonable(read[order_id]), expected[order_id])


def test_the_one_statement_fetch_is_read_whatever_order_its_arrays_hold(
    api: Api, demo_keys: Any, backend: str
) -> None:
    # KEYED_ONE (PostgreSQL only) hands over the order's items and parts as two arrays in no
    # particular order: the reader sorts them. Fed each array reversed, it must build the same
    # view as from the arrays PostgreSQL returned.
    if backend != "postgresql":
        return
    ids = all_ids(api, demo_keys)
    expected = references(api, ids)

    async def run(session: AsyncSession) -> dict[int, list[Any]]:
        read = {}
        for order_id in ids:
            params = queries.keyed_fetch_params(
                digest=hash_key(demo_keys.customer), order_id=order_id
            )
            rows = await driver.fetch(session, view_statements.KEYED_ONE, params)
            read[order_id] = [row[KEY_COLUMNS:] for row in rows]
        return read

    read = api.call(run)
    reordered = 0
    for order_id in ids:
        found = read[order_id]
        assert len(found) == 1
        items, parts = list(found[0][-2]), list(found[0][-1])
        reversed_row = (*found[0][:-2], items[::-1], parts[::-1])
        reordered += items != items[::-1] or parts != parts[::-1]
        same(views.jsonable(queries.keyed_order_view(order_id, [reversed_row])), expected[order_id])
        same(views.jsonable(queries.keyed_order_view(order_id, found)), expected[order_id])
    assert reordered == len(ids)  # every order's arrays held rows whose order matters


def test_another_accounts_order_is_not_found(api: Api, demo_keys: Any) -> None:
    order_id = place(api, demo_keys.customer, orderItems=items(1000))["id"]
    missing = api.get(f"{ORDERS}/{order_id}", key=demo_keys.other_customer)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_the_one_statement_fetch_reads_its_times_as_utc_whatever_the_sessions_time_zone(
    api: Api, demo_keys: Any, backend: str
) -> None:
    # The items and parts arrays are JSON, where PostgreSQL writes a timestamp with the
    # session's offset: read back, every time must be the same instant, in UTC, as asyncpg
    # reads a timestamp column.
    if backend != "postgresql":
        return
    ids = all_ids(api, demo_keys)
    expected = references(api, ids)

    async def run(session: AsyncSession) -> dict[int, list[Any]]:
        await session.execute(text("SET LOCAL TIME ZONE 'America/New_York'"))
        read = {}
        for order_id in ids:
            params = queries.keyed_fetch_params(
                digest=hash_key(demo_keys.customer), order_id=order_id
            )
            rows = await driver.fetch(session, view_statements.KEYED_ONE, params)
            read[order_id] = [row[KEY_COLUMNS:] for row in rows]
        return read

    read = api.call(run)
    moments = 0
    for order_id in ids:
        view = queries.keyed_order_view(order_id, read[order_id])
        for event in view["orderEvents"]:
            assert event["eventTimestamp"].utcoffset() == timedelta(0)
            moments += 1
        same(views.jsonable(view), expected[order_id])
    assert moments >= len(ids)


def test_an_items_dimensions_come_back_exact_in_a_fetched_order(api: Api, demo_keys: Any) -> None:
    # A catalog item's dimensions are free-form JSON: an integer beyond 64 bits, a float and a
    # long run of digits inside a string come back as they were stored, through every read.
    dimensions = {
        "widthMicrons": 123456789012345678901234567890,
        "depth": 1.5,
        "code": "00000000000000000000000042",
        "note": "caf\u00e9 \u2603",
    }

    async def store(session: AsyncSession) -> None:
        await session.execute(update(Item).where(Item.id == 1002).values(dimensions=dimensions))

    api.call(store)
    order_id = place(api, demo_keys.customer, orderItems=items(1002))["id"]
    fetched = ok(api.get(f"{ORDERS}/{order_id}", key=demo_keys.customer))
    assert fetched["orderItems"][0]["item"]["dimensions"] == dimensions
    listed = ok(api.get(f"{ORDERS}?size=50", key=demo_keys.customer))["content"]
    assert [o["orderItems"][0]["item"]["dimensions"] for o in listed] == [dimensions]
    catalog = ok(api.get("/api/v3/item/1002", key=demo_keys.customer))
    assert catalog["dimensions"] == dimensions
