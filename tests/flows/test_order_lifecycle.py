"""An order worked from placement to completion through the operator API, with its stock and
devices followed at every step."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, assert_problem

OPS = "/api/v3/ops/order"


def place(api: Api, key: str, **body: Any) -> dict[str, Any]:
    payload = {"patient": {"id": 1234}, "shippingOption": "standard", **body}
    r = api.post("/api/v3/order", key=key, json=payload)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def move(api: Api, op_key: str, order_id: int, status: str, **extra: Any) -> Any:
    return api.post(f"{OPS}/{order_id}/status", key=op_key, json={"status": status, **extra})


def stock(api: Api, op_key: str, item_id: int) -> dict[str, int]:
    rows = api.get(f"/api/v3/ops/stock?itemId={item_id}", key=op_key).json()
    return {k: rows[0][k] for k in ("onHand", "reserved", "available")}


def test_a_patient_order_goes_from_received_to_completed(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    before = stock(api, op, 1000)
    order = place(
        api,
        demo_keys.customer,
        orderItems=[{"item": {"id": 1000}, "count": 2}, {"item": {"id": 1003}, "count": 5}],
        orderKits=[{"kit": {"id": 1000}, "count": 1}],
    )
    assert stock(api, op, 1000)["reserved"] == before["reserved"] + 3
    for status in ("processing", "packed"):
        r = move(api, op, order["id"], status)
        assert r.status_code == 200, r.text
    packed = r.json()
    assert packed["currentStatus"] == "packed"
    assert len(packed["devices"]) == 2
    assert [d["item"]["id"] for d in packed["devices"]] == [1000, 1000]
    assert all(d["currentStatus"] == "allocated" for d in packed["devices"])
    assert len(packed["packedKits"]) == 1
    assert packed["packedKits"][0]["kit"]["id"] == 1000
    assert [d["item"]["id"] for d in packed["packedKits"][0]["devices"]] == [1000]

    shipped = move(
        api, op, order["id"], "shipped", trackingNumbers=[{"carrier": "UPS", "value": "1Z999"}]
    )
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["trackingNumbers"] == [{"carrier": "UPS", "value": "1Z999"}]
    after_ship = stock(api, op, 1000)
    assert after_ship["onHand"] == before["onHand"] - 3
    assert after_ship["reserved"] == before["reserved"]

    delivered = move(api, op, order["id"], "delivered").json()
    devices = delivered["devices"] + delivered["packedKits"][0]["devices"]
    assert {d["currentStatus"] for d in devices} == {"withPatient"}
    assert {d["currentPatient"]["id"] for d in devices} == {1234}
    done = move(api, op, order["id"], "completed").json()
    assert [e["name"] for e in done["orderEvents"]] == [
        "received",
        "processing",
        "packed",
        "shipped",
        "delivered",
        "completed",
    ]
    mine = api.get(f"/api/v3/device/{devices[0]['id']}", key=demo_keys.customer)
    assert mine.status_code == 200
    assert [e["type"] for e in mine.json()["deviceEvents"]][-3:] == [
        "allocated",
        "shipped",
        "delivered",
    ]


def test_an_illegal_move_names_the_current_and_allowed_statuses(api: Api, demo_keys: Any) -> None:
    order = place(api, demo_keys.customer, orderItems=[{"item": {"id": 1003}, "count": 1}])
    r = move(api, demo_keys.operator, order["id"], "shipped")
    body = assert_problem(r, 409, "illegal_status_move")
    assert body["currentStatus"] == "received"
    assert body["allowedStatuses"] == ["processing", "cancelled", "onHold"]


def test_a_site_order_delivers_devices_to_the_site(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    order = api.post(
        "/api/v3/order",
        key=demo_keys.customer,
        json={"site": {"id": 1234}, "orderItems": [{"item": {"id": 1001}, "count": 1}]},
    ).json()
    for status, extra in (
        ("processing", {}),
        ("packed", {}),
        ("shipped", {"trackingNumbers": [{"carrier": "FedEx", "value": "7788"}]}),
        ("delivered", {}),
    ):
        r = move(api, op, order["id"], status, **extra)
        assert r.status_code == 200, r.text
    device = r.json()["devices"][0]
    assert device["currentStatus"] == "availableAtSite"
    assert device["site"]["id"] == 1234
    assert device["currentPatient"] is None


def test_a_packed_and_shipped_order_costs_the_same_statements_to_fetch(
    api: Api, demo_keys: Any, backend: str
) -> None:
    from tests.api.test_orders_queries import FETCH_STATEMENTS, LIST_STATEMENTS

    order = place(
        api,
        demo_keys.customer,
        orderItems=[{"item": {"id": 1000}, "count": 3}],
        orderKits=[{"kit": {"id": 1003}, "count": 2}],
    )
    for status, extra in (
        ("processing", {}),
        ("packed", {}),
        ("shipped", {"trackingNumbers": [{"carrier": "UPS", "value": "1"}]}),
    ):
        assert move(api, demo_keys.operator, order["id"], status, **extra).status_code == 200
    api.get(f"/api/v3/order/{order['id']}", key=demo_keys.customer)  # key use recorded
    with api.count_queries() as counter:
        body = api.get(f"/api/v3/order/{order['id']}", key=demo_keys.customer).json()
    fetch_cost = counter.count
    assert len(body["packedKits"]) == 2
    assert len(body["devices"]) == 3
    with api.count_queries() as counter:
        page = api.get("/api/v3/order?size=50", key=demo_keys.customer).json()
    assert page["total"] == 1
    assert (fetch_cost, counter.count) == (FETCH_STATEMENTS[backend], LIST_STATEMENTS[backend])


def test_a_customer_cancels_before_packing_and_the_stock_comes_back(
    api: Api, demo_keys: Any
) -> None:
    op = demo_keys.operator
    before = stock(api, op, 1003)
    order = place(api, demo_keys.customer, orderItems=[{"item": {"id": 1003}, "count": 7}])
    assert stock(api, op, 1003)["reserved"] == before["reserved"] + 7
    assert move(api, op, order["id"], "processing").status_code == 200
    r = api.post(f"/api/v3/order/{order['id']}/cancel", key=demo_keys.customer)
    assert r.status_code == 200, r.text
    assert r.json()["currentStatus"] == "cancelled"
    assert r.json()["orderEvents"][-1]["name"] == "cancelled"
    assert stock(api, op, 1003) == before


def test_a_customer_cannot_cancel_a_packed_order(api: Api, demo_keys: Any) -> None:
    order = place(api, demo_keys.customer, orderItems=[{"item": {"id": 1000}, "count": 1}])
    for status in ("processing", "packed"):
        assert move(api, demo_keys.operator, order["id"], status).status_code == 200
    r = api.post(f"/api/v3/order/{order['id']}/cancel", key=demo_keys.customer)
    body = assert_problem(r, 409, "not_cancellable")
    assert body["currentStatus"] == "packed"


def test_the_operator_cancels_a_packed_order_and_its_devices_return_to_stock(
    api: Api, demo_keys: Any
) -> None:
    op = demo_keys.operator
    before = stock(api, op, 1000)
    order = place(api, demo_keys.customer, orderItems=[{"item": {"id": 1000}, "count": 2}])
    move(api, op, order["id"], "processing")
    packed = move(api, op, order["id"], "packed").json()
    device_ids = [d["id"] for d in packed["devices"]]
    cancelled = move(api, op, order["id"], "cancelled")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["devices"] == []
    assert stock(api, op, 1000) == before
    for device_id in device_ids:
        listed = api.get(f"/api/v3/ops/order/{order['id']}", key=op).json()
        assert listed["currentStatus"] == "cancelled"
        events = api.call(lambda s, d=device_id: _device_status(s, d))
        assert events == "inStock"


def test_the_operator_cannot_cancel_a_shipped_order(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    order = place(api, demo_keys.customer, orderItems=[{"item": {"id": 1003}, "count": 1}])
    for status, extra in (
        ("processing", {}),
        ("packed", {}),
        ("shipped", {"trackingNumbers": [{"carrier": "UPS", "value": "9"}]}),
    ):
        assert move(api, op, order["id"], status, **extra).status_code == 200
    body = assert_problem(move(api, op, order["id"], "cancelled"), 409, "illegal_status_move")
    assert body["allowedStatuses"] == ["delivered", "deliveryException", "onHold"]


def test_hold_and_release_return_to_the_status_left(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    order = place(api, demo_keys.customer, orderItems=[{"item": {"id": 1003}, "count": 1}])
    move(api, op, order["id"], "processing")
    held = move(api, op, order["id"], "onHold")
    assert held.json()["currentStatus"] == "onHold"
    wrong = move(api, op, order["id"], "packed")
    assert assert_problem(wrong, 409, "illegal_status_move")["allowedStatuses"] == ["processing"]
    released = move(api, op, order["id"], "processing").json()
    assert released["currentStatus"] == "processing"
    assert [e["name"] for e in released["orderEvents"]] == [
        "received",
        "processing",
        "onHold",
        "processing",
    ]


def test_notes_are_added_to_an_order(api: Api, demo_keys: Any) -> None:
    order = place(api, demo_keys.customer, orderItems=[{"item": {"id": 1003}, "count": 1}])
    r = api.post(
        f"/api/v3/order/{order['id']}/note", key=demo_keys.customer, json={"note": "Leave at door"}
    )
    assert r.status_code == 201, r.text
    assert [n["note"] for n in r.json()["orderNotes"]] == ["Leave at door"]
    other = api.post(
        f"/api/v3/order/{order['id']}/note", key=demo_keys.other_customer, json={"note": "x"}
    )
    assert_problem(other, 404, "not_found")


async def _device_status(session: Any, device_id: int) -> str:
    from kitdesk.db.models import Device

    device = await session.get(Device, device_id)
    return str(device.current_status)
