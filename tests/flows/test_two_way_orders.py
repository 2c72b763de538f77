"""Two-way orders: an outbound shipment with a return leg, worked to completion."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, assert_problem
from tests.flows.test_order_lifecycle import move, place, stock

OPS = "/api/v3/ops"
MSG_SHIPPING = "shippingOption is required when emailLabel is false and return items are included"


def delivered_devices(api: Api, demo_keys: Any, item_id: int, count: int) -> list[dict[str, Any]]:
    """Ship ``count`` devices of an item to patient 1234 and deliver them."""
    op = demo_keys.operator
    order = place(api, demo_keys.customer, orderItems=[{"item": {"id": item_id}, "count": count}])
    for status, extra in (
        ("processing", {}),
        ("packed", {}),
        ("shipped", {"trackingNumbers": [{"carrier": "UPS", "value": f"1Z{order['id']}"}]}),
        ("delivered", {}),
        ("completed", {}),
    ):
        r = move(api, op, order["id"], status, **extra)
        assert r.status_code == 200, r.text
    devices: list[dict[str, Any]] = r.json()["devices"]
    return devices


def test_returns_without_email_label_need_a_shipping_option(api: Api, demo_keys: Any) -> None:
    device = delivered_devices(api, demo_keys, 1000, 1)[0]
    r = api.post(
        "/api/v3/order",
        key=demo_keys.customer,
        json={"patient": {"id": 1234}, "returnDevices": [{"id": device["id"]}]},
    )
    assert_problem(r, 400, "shipping_option_required", MSG_SHIPPING)
    emailed = api.post(
        "/api/v3/order",
        key=demo_keys.customer,
        json={
            "patient": {"id": 1234},
            "returnDevices": [{"id": device["id"]}],
            "emailLabel": True,
        },
    )
    assert emailed.status_code == 201, emailed.text


def test_returns_cannot_travel_with_a_loaner_kit(api: Api, demo_keys: Any) -> None:
    device = delivered_devices(api, demo_keys, 1000, 1)[0]
    r = api.post(
        "/api/v3/order",
        key=demo_keys.customer,
        json={
            "patient": {"id": 1234},
            "orderKits": [{"kit": {"id": 1004}, "count": 1}],
            "returnDevices": [{"id": device["id"]}],
            "shippingOption": "standard",
        },
    )
    assert_problem(r, 400, "no_returns_with_loaner_kit", "no_returns_with_loaner_kit")


def test_only_devices_the_customer_holds_can_be_returned(api: Api, demo_keys: Any) -> None:
    in_warehouse = 1  # demo device still in stock
    r = api.post(
        "/api/v3/order",
        key=demo_keys.customer,
        json={
            "patient": {"id": 1234},
            "returnDevices": [{"id": in_warehouse}],
            "shippingOption": "standard",
        },
    )
    body = assert_problem(r, 400, "unknown_device", f"device {in_warehouse} not found")
    assert [e["field"] for e in body["errors"]] == ["returnDevices[0].id"]
    assert api.get("/api/v3/order", key=demo_keys.customer).json()["total"] == 0


def test_a_two_way_order_swaps_a_device_and_completes(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    old = delivered_devices(api, demo_keys, 1000, 1)[0]
    before = stock(api, op, 1000)
    swap = place(
        api,
        demo_keys.customer,
        orderItems=[{"item": {"id": 1000}, "count": 1}],
        returnDevices=[{"id": old["id"]}],
    )
    assert swap["returnDevices"] == [{"id": old["id"]}]
    return_id = swap["returnId"]
    assert return_id is not None
    for status, extra in (
        ("processing", {}),
        ("packed", {}),
        ("shipped", {"trackingNumbers": [{"carrier": "UPS", "value": "SWAP1"}]}),
        ("delivered", {}),
    ):
        assert move(api, op, swap["id"], status, **extra).status_code == 200
    assert_problem(move(api, op, swap["id"], "completed"), 409, "illegal_status_move")
    assert move(api, op, swap["id"], "awaitingReturn").status_code == 200

    shipped_back = api.post(
        f"{OPS}/return/{return_id}/status",
        key=op,
        json={"status": "inTransit", "trackingNumbers": [{"carrier": "UPS", "value": "RET1"}]},
    )
    assert shipped_back.status_code == 200, shipped_back.text
    received = api.post(f"{OPS}/return/{return_id}/receive", key=op, json={"fulfillmentSiteId": 1})
    assert received.status_code == 200, received.text
    order = api.get(f"/api/v3/order/{swap['id']}", key=demo_keys.customer).json()
    assert order["currentStatus"] == "returnReceived"
    assert move(api, op, swap["id"], "completed").status_code == 200

    inspected = api.post(f"{OPS}/device/{old['id']}/inspect", key=op, json={"result": "inStock"})
    assert inspected.status_code == 200, inspected.text
    assert inspected.json()["currentStatus"] == "inStock"
    after = stock(api, op, 1000)
    assert after["onHand"] == before["onHand"] - 1 + 1  # one unit shipped, one came back


def test_a_return_only_order_waits_for_the_goods_without_reserving_stock(
    api: Api, demo_keys: Any
) -> None:
    op = demo_keys.operator
    old = delivered_devices(api, demo_keys, 1001, 1)[0]
    before = stock(api, op, 1001)
    order = place(api, demo_keys.customer, returnDevices=[{"id": old["id"]}])
    assert order["orderItems"] == []
    assert stock(api, op, 1001) == before
    body = assert_problem(move(api, op, order["id"], "processing"), 409, "illegal_status_move")
    assert body["allowedStatuses"] == ["awaitingReturn", "cancelled", "onHold"]
    assert move(api, op, order["id"], "awaitingReturn").status_code == 200
