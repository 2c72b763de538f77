"""The operator's warehouses and stock: creating warehouses, receiving counted units and devices,
and the stock report as orders reserve, release and consume units."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.ops_support import OPS, level, receive, receive_devices, warehouse
from tests.conftest import Api, assert_problem
from tests.flows.test_order_lifecycle import move, place

ADDRESS = {
    "lineOne": "1 Dock Road",
    "city": "Joliet",
    "state": "IL",
    "zipCode": "60431",
    "country": "US",
}


def test_the_operator_creates_a_warehouse_and_lists_it(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    r = api.post(
        f"{OPS}/fulfillment-site",
        key=op,
        json={"code": "EAST-1", "name": "East depot", "address": ADDRESS},
    )
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/json"
    created = r.json()
    assert created == {
        "id": created["id"],
        "code": "EAST-1",
        "name": "East depot",
        "active": True,
        "address": {**ADDRESS, "lineTwo": None, "lineThree": None, "note": None},
    }
    listed = api.get(f"{OPS}/fulfillment-site", key=op)
    assert listed.status_code == 200
    assert [(w["id"], w["code"], w["active"]) for w in listed.json()] == [
        (1, "MAIN", True),
        (created["id"], "EAST-1", True),
    ]


def test_a_second_warehouse_with_the_same_code_is_a_conflict(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    r = api.post(f"{OPS}/fulfillment-site", key=op, json={"code": "MAIN", "name": "Again"})
    assert_problem(r, 409, "duplicate_code", "a warehouse with code MAIN exists")
    assert len(api.get(f"{OPS}/fulfillment-site", key=op).json()) == 1


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["code", "name"]),
        ({"code": "", "name": " "}, ["code", "name"]),
        ({"code": "X" * 33, "name": "Too long a code"}, ["code"]),
        ({"code": "W2", "name": "W2", "active": False}, ["active"]),
        ({"code": "W2", "name": "W2", "address": {"city": "Joliet"}}, ["address.lineOne"]),
        ({"code": 7, "name": "W2"}, ["code"]),
    ],
)
def test_a_warehouse_with_bad_input_is_refused(
    api: Api, demo_keys: Any, body: dict[str, Any], fields: list[str]
) -> None:
    r = api.post(f"{OPS}/fulfillment-site", key=demo_keys.operator, json=body)
    problem = assert_problem(r, 400, "invalid_request")
    named = [e["field"] for e in problem["errors"]]
    assert all(f in named for f in fields), named
    assert len(api.get(f"{OPS}/fulfillment-site", key=demo_keys.operator).json()) == 1


def test_counted_units_add_up_at_a_warehouse(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    site = warehouse(api, op, "EAST")
    first = receive(api, op, site, 1003, 10)
    assert first.status_code == 200, first.text
    [row] = first.json()
    assert row["fulfillmentSiteId"] == site
    assert row["item"]["id"] == 1003
    assert (row["onHand"], row["reserved"], row["available"]) == (10, 0, 10)
    assert receive(api, op, site, 1003, 5).status_code == 200
    assert level(api, op, site, 1003) == (15, 0, 15)
    assert level(api, op, 1, 1003) == (100_000, 0, 100_000)


def test_a_serialized_item_is_not_received_as_counted_units(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    site = warehouse(api, op, "EAST")
    r = receive(api, op, site, 1000, 3)
    body = assert_problem(
        r, 400, "serialized_item", "item 1000 is serialized: receive its units as devices"
    )
    assert body["errors"] == [
        {"field": "itemId", "message": "serialized items are received as devices"}
    ]
    assert level(api, op, site, 1000) is None


def test_receiving_an_unknown_item_or_at_an_unknown_warehouse_is_refused(
    api: Api, demo_keys: Any
) -> None:
    op = demo_keys.operator
    unknown_item = assert_problem(receive(api, op, 1, 4242, 3), 400, "unknown_item")
    assert unknown_item["message"] == "item 4242 not found"
    assert unknown_item["errors"] == [{"field": "itemId", "message": "item 4242 not found"}]
    assert_problem(receive(api, op, 77, 1003, 3), 404, "not_found", "fulfillment site 77 not found")
    devices = receive_devices(api, op, 77, 1000, ["NEW-1"])
    assert_problem(devices, 404, "not_found", "fulfillment site 77 not found")
    assert level(api, op, 1, 1003) == (100_000, 0, 100_000)


@pytest.mark.parametrize("quantity", [0, -1, 100_001, "5", 2.5])
def test_a_receipt_needs_a_sensible_quantity(api: Api, demo_keys: Any, quantity: Any) -> None:
    r = api.post(
        f"{OPS}/fulfillment-site/1/stock",
        key=demo_keys.operator,
        json={"itemId": 1003, "quantity": quantity},
    )
    body = assert_problem(r, 400, "invalid_request")
    assert [e["field"] for e in body["errors"]] == ["quantity"]
    assert level(api, demo_keys.operator, 1, 1003) == (100_000, 0, 100_000)


def test_received_devices_are_in_stock_with_a_received_event(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    site = warehouse(api, op, "EAST")
    r = receive_devices(api, op, site, 1000, ["350000000000001", " 350000000000002 "])
    assert r.status_code == 201, r.text
    devices = r.json()
    assert [d["deviceIdentifiers"] for d in devices] == [
        [{"type": "imei", "value": "350000000000001"}],
        [{"type": "imei", "value": "350000000000002"}],
    ]
    for device in devices:
        assert device["item"]["id"] == 1000
        assert device["currentStatus"] == "inStock"
        assert device["currentPatient"] is None
        assert device["site"] is None
        assert [e["type"] for e in device["deviceEvents"]] == ["received"]
    assert level(api, op, site, 1000) == (2, 0, 2)


def test_a_counted_item_is_not_received_as_devices(api: Api, demo_keys: Any) -> None:
    r = receive_devices(api, demo_keys.operator, 1, 1003, ["STRIP-1"])
    body = assert_problem(
        r, 400, "not_serialized", "item 1003 is not serialized: receive it as counted stock"
    )
    assert body["errors"] == [
        {"field": "itemId", "message": "counted items are received with a quantity"}
    ]


def test_a_device_receipt_names_every_duplicate_and_writes_nothing(
    api: Api, demo_keys: Any
) -> None:
    op = demo_keys.operator
    before = level(api, op, 1, 1000)
    idents = ["NEW-A", "IMEI-1000-000001", "NEW-B", "NEW-A", " ", "NEW-B "]
    r = receive_devices(api, op, 1, 1000, idents)
    body = assert_problem(r, 400, "invalid_devices", "some identifiers cannot be received")
    assert sorted((e["field"], e["message"]) for e in body["errors"]) == [
        ("identifiers[1]", "a device with imei IMEI-1000-000001 already exists"),
        ("identifiers[3]", "NEW-A appears twice in this receipt"),
        ("identifiers[4]", "empty identifier"),
        ("identifiers[5]", "NEW-B appears twice in this receipt"),
    ]
    assert level(api, op, 1, 1000) == before
    again = receive_devices(api, op, 1, 1000, ["NEW-A", "NEW-B"])
    assert again.status_code == 201, again.text


def test_an_identifier_may_repeat_across_identifier_types(api: Api, demo_keys: Any) -> None:
    # Item 1000 is identified by IMEI, item 1001 by serial number: values are unique per type.
    r = receive_devices(api, demo_keys.operator, 1, 1001, ["IMEI-1000-000001"])
    assert r.status_code == 201, r.text
    assert r.json()[0]["deviceIdentifiers"] == [{"type": "serial", "value": "IMEI-1000-000001"}]


def test_the_stock_report_follows_reservations_releases_and_shipments(
    api: Api, demo_keys: Any
) -> None:
    op, customer = demo_keys.operator, demo_keys.customer
    lines = [{"item": {"id": 1000}, "count": 1}, {"item": {"id": 1003}, "count": 4}]
    assert level(api, op, 1, 1003) == (100_000, 0, 100_000)
    cancelled = place(api, customer, orderItems=lines)
    assert level(api, op, 1, 1003) == (100_000, 4, 99_996)
    assert level(api, op, 1, 1000) == (200, 1, 199)
    assert api.post(f"/api/v3/order/{cancelled['id']}/cancel", key=customer).status_code == 200
    assert level(api, op, 1, 1003) == (100_000, 0, 100_000)
    assert level(api, op, 1, 1000) == (200, 0, 200)
    shipped = place(api, customer, orderItems=lines)
    for status, extra in (
        ("processing", {}),
        ("packed", {}),
        ("shipped", {"trackingNumbers": [{"carrier": "UPS", "value": "1Z1"}]}),
    ):
        assert move(api, op, shipped["id"], status, **extra).status_code == 200
    assert level(api, op, 1, 1003) == (99_996, 0, 99_996)
    assert level(api, op, 1, 1000) == (199, 0, 199)


def test_the_stock_report_lists_every_warehouse_and_item_in_order(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    site = warehouse(api, op, "EAST")
    receive(api, op, site, 1005, 3)
    r = api.get(f"{OPS}/stock", key=op)
    assert r.status_code == 200
    assert [(row["fulfillmentSiteId"], row["item"]["id"]) for row in r.json()] == [
        (1, 1000),
        (1, 1001),
        (1, 1002),
        (1, 1003),
        (1, 1005),
        (site, 1005),
    ]
    by_site = api.get(f"{OPS}/stock", key=op, params={"fulfillmentSiteId": site}).json()
    assert [(row["item"]["id"], row["onHand"]) for row in by_site] == [(1005, 3)]
    assert_problem(api.get(f"{OPS}/stock?itemId=0", key=op), 400, "invalid_request")
