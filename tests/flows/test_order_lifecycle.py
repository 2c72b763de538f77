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
    api: Api, demo_keys: Any
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
    assert (fetch_cost, counter.count) == (FETCH_STATEMENTS, LIST_STATEMENTS)
