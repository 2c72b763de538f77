"""The less travelled order paths: pickup, delivery exceptions, tracking numbers, the event trail
and the lifecycle table clients read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import Device
from kitdesk.domain.orders import lifecycle
from tests.api.ops_support import level
from tests.conftest import Api, assert_problem
from tests.flows.test_order_lifecycle import move, place

LINES = [{"item": {"id": 1000}, "count": 1}, {"item": {"id": 1003}, "count": 2}]


def tracking(value: str) -> dict[str, Any]:
    return {"trackingNumbers": [{"carrier": "UPS", "value": value}]}


def advance(api: Api, op: str, order_id: int, *steps: str | tuple[str, dict[str, Any]]) -> Any:
    """Make each move in turn (a status, or a status with its extra fields); returns the last."""
    body = None
    for step in steps:
        status, extra = (step, {}) if isinstance(step, str) else step
        r = move(api, op, order_id, status, **extra)
        assert r.status_code == 200, r.text
        body = r.json()
    return body


def event_names(order: dict[str, Any]) -> list[str]:
    return [e["name"] for e in order["orderEvents"]]


def whereabouts(api: Api, ids: list[int]) -> set[tuple[int | None, int | None, int | None]]:
    """(warehouse, customer account, order) of each device, as stored."""

    async def load(session: AsyncSession) -> set[tuple[int | None, int | None, int | None]]:
        rows = await session.execute(
            select(Device.fulfillment_site_id, Device.account_id, Device.order_id).where(
                Device.id.in_(ids)
            )
        )
        return {tuple(row) for row in rows}  # type: ignore[misc]

    return api.call(load)


def test_a_pickup_order_is_collected_instead_of_shipped(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    order = place(api, demo_keys.customer, orderItems=LINES, shippingOption="pickup")
    advance(api, op, order["id"], "processing", "packed")
    refused = move(api, op, order["id"], "shipped", **tracking("1Z1"))
    body = assert_problem(
        refused,
        409,
        "illegal_status_move",
        f"order {order['id']} is packed; it can move to: availableForPickup, cancelled, onHold",
    )
    assert body["allowedStatuses"] == ["availableForPickup", "cancelled", "onHold"]
    assert level(api, op, 1, 1000) == (200, 1, 199)
    ready = advance(api, op, order["id"], "availableForPickup")
    assert level(api, op, 1, 1000) == (199, 0, 199)
    assert level(api, op, 1, 1003) == (99_998, 0, 99_998)
    assert ready["trackingNumbers"] == []
    done = advance(api, op, order["id"], "delivered", "completed")
    assert event_names(done) == [
        "received",
        "processing",
        "packed",
        "availableForPickup",
        "delivered",
        "completed",
    ]
    [device] = done["devices"]
    assert device["currentStatus"] == "withPatient"
    assert device["currentPatient"]["id"] == 1234
    assert level(api, op, 1, 1000) == (199, 0, 199)


def test_only_a_pickup_order_becomes_available_for_pickup(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    order = place(api, demo_keys.customer, orderItems=LINES, shippingOption="expedited")
    advance(api, op, order["id"], "processing", "packed")
    body = assert_problem(
        move(api, op, order["id"], "availableForPickup"), 409, "illegal_status_move"
    )
    assert body["currentStatus"] == "packed"
    assert body["allowedStatuses"] == ["shipped", "cancelled", "onHold"]
    assert level(api, op, 1, 1000) == (200, 1, 199)


def test_a_delivery_exception_is_shipped_again_with_a_new_tracking_number(
    api: Api, demo_keys: Any
) -> None:
    op = demo_keys.operator
    order = place(api, demo_keys.customer, orderItems=LINES)
    advance(api, op, order["id"], "processing", "packed", ("shipped", tracking("1ZFIRST")))
    stuck = advance(api, op, order["id"], "deliveryException")
    assert [d["currentStatus"] for d in stuck["devices"]] == ["inTransit"]
    reshipped = advance(api, op, order["id"], ("shipped", tracking("1ZSECOND")))
    assert reshipped["trackingNumbers"] == [
        {"carrier": "UPS", "value": "1ZFIRST"},
        {"carrier": "UPS", "value": "1ZSECOND"},
    ]
    # The units left the warehouse once: shipping again takes nothing more from stock.
    assert level(api, op, 1, 1000) == (199, 0, 199)
    assert level(api, op, 1, 1003) == (99_998, 0, 99_998)
    delivered = advance(api, op, order["id"], "delivered")
    assert event_names(delivered) == [
        "received",
        "processing",
        "packed",
        "shipped",
        "deliveryException",
        "shipped",
        "delivered",
    ]
    assert [d["currentStatus"] for d in delivered["devices"]] == ["withPatient"]
    found = api.get(
        "/api/v3/order", key=demo_keys.customer, params={"trackingNumber": "1ZSECOND"}
    ).json()
    assert [o["id"] for o in found["content"]] == [order["id"]]


def test_a_shipment_returned_to_sender_comes_back_to_the_warehouse(
    api: Api, demo_keys: Any
) -> None:
    op = demo_keys.operator
    order = place(
        api, demo_keys.customer, orderItems=LINES, orderKits=[{"kit": {"id": 1000}, "count": 1}]
    )
    steps = ("processing", "packed", ("shipped", tracking("1Z9")), "deliveryException")
    advance(api, op, order["id"], *steps)
    assert level(api, op, 1, 1000) == (198, 0, 198)
    assert level(api, op, 1, 1005) == (99_999, 0, 99_999)
    back = advance(api, op, order["id"], "returnedToSender")
    assert event_names(back)[-2:] == ["deliveryException", "returnedToSender"]
    # Counted units are back on the shelf; devices wait for inspection before they count.
    assert level(api, op, 1, 1003) == (100_000, 0, 100_000)
    assert level(api, op, 1, 1005) == (100_000, 0, 100_000)
    assert level(api, op, 1, 1000) == (198, 0, 198)
    devices = back["devices"] + back["packedKits"][0]["devices"]
    for device in devices:
        assert device["currentStatus"] == "returned"
        assert device["currentPatient"] is None
        assert device["deviceEvents"][-1]["type"] == "shipmentReturned"
        assert device["deviceEvents"][-1]["orderId"] == order["id"]
        assert api.get(f"/api/v3/device/{device['id']}", key=demo_keys.customer).status_code == 404
    assert whereabouts(api, [d["id"] for d in devices]) == {(1, None, None)}
    for device in devices:
        r = api.post(
            f"/api/v3/ops/device/{device['id']}/inspect", key=op, json={"result": "inStock"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["currentStatus"] == "inStock"
    assert level(api, op, 1, 1000) == (200, 0, 200)
    body = assert_problem(move(api, op, order["id"], "onHold"), 409, "illegal_status_move")
    assert body["allowedStatuses"] == []


def test_shipping_needs_a_tracking_number(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    order = place(api, demo_keys.customer, orderItems=LINES)
    packed = advance(api, op, order["id"], "processing", "packed")
    for extra in ({}, {"trackingNumbers": []}):
        r = move(api, op, order["id"], "shipped", **extra)
        body = assert_problem(
            r, 400, "tracking_number_required", "shipping needs at least one tracking number"
        )
        assert body["errors"] == [
            {"field": "trackingNumbers", "message": "at least one tracking number is required"}
        ]
    blank = move(api, op, order["id"], "shipped", trackingNumbers=[{"carrier": "UPS", "value": ""}])
    assert_problem(blank, 400, "invalid_request")
    after = api.get(f"/api/v3/ops/order/{order['id']}", key=op).json()
    assert after["currentStatus"] == "packed"
    assert after["orderEvents"] == packed["orderEvents"]
    assert level(api, op, 1, 1000) == (200, 1, 199)
    assert [d["currentStatus"] for d in after["devices"]] == ["allocated"]


def test_every_move_appends_exactly_one_event(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    order = place(api, demo_keys.customer, orderItems=LINES)
    steps: list[str | tuple[str, dict[str, Any]]] = [
        "onHold",
        "received",
        "processing",
        "packed",
        "onHold",
        "packed",
        ("shipped", tracking("1Z5")),
        "deliveryException",
        ("shipped", tracking("1Z6")),
        "onHold",
        "shipped",
        "delivered",
        "completed",
    ]
    seen = event_names(order)
    assert seen == ["received"]
    for step in steps:
        after = advance(api, op, order["id"], step)
        status = step if isinstance(step, str) else step[0]
        assert event_names(after) == [*seen, status]
        assert after["currentStatus"] == status
        seen = event_names(after)
    failed = move(api, op, order["id"], "onHold")
    assert_problem(failed, 409, "illegal_status_move")
    assert event_names(api.get(f"/api/v3/ops/order/{order['id']}", key=op).json()) == seen


def test_a_cancel_by_the_operator_appends_one_event(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    order = place(api, demo_keys.customer, orderItems=LINES)
    cancelled = advance(api, op, order["id"], "processing", "packed", "cancelled")
    assert event_names(cancelled) == ["received", "processing", "packed", "cancelled"]


def test_a_note_given_with_a_move_is_kept_on_the_order(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    order = place(api, demo_keys.customer, orderItems=LINES)
    held = move(api, op, order["id"], "onHold", note="Address being confirmed")
    assert held.status_code == 200, held.text
    assert [n["note"] for n in held.json()["orderNotes"]] == ["Address being confirmed"]
    mine = api.get(f"/api/v3/order/{order['id']}", key=demo_keys.customer).json()
    assert [n["note"] for n in mine["orderNotes"]] == ["Address being confirmed"]
    refused = move(api, op, order["id"], "shipped", note="Never kept")
    assert_problem(refused, 409, "illegal_status_move")
    again = api.get(f"/api/v3/order/{order['id']}", key=demo_keys.customer).json()
    assert [n["note"] for n in again["orderNotes"]] == ["Address being confirmed"]


def test_the_lifecycle_table_is_served_to_clients(api: Api, demo_keys: Any) -> None:
    r = api.get("/api/v3/order-status", key=demo_keys.customer)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    rows = r.json()
    assert rows == lifecycle.table()
    assert [row["status"] for row in rows] == [s.value for s in lifecycle.Status]
    by_status = {row["status"]: row for row in rows}
    assert by_status["packed"]["next"] == ["shipped", "availableForPickup", "cancelled", "onHold"]
    assert by_status["deliveryException"]["next"] == ["shipped", "returnedToSender", "onHold"]
    for final in ("completed", "cancelled", "returnedToSender"):
        assert by_status[final]["next"] == []
        assert by_status[final]["terminal"] is True
    holdable = [s for s, row in by_status.items() if "onHold" in row["next"]]
    assert sorted(holdable) == sorted(
        s.value for s in lifecycle.Status if s not in lifecycle.NO_HOLD
    )
    assert [s for s, row in by_status.items() if row["customerCancellable"]] == [
        "received",
        "processing",
    ]
    assert api.get("/api/v3/order-status", key=demo_keys.operator).json() == rows
