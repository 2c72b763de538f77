"""Packing an order: the operator names the devices, or Kitdesk picks in-stock ones.

Demo devices: item 1000 (IMEI) has ids 1-200, item 1001 (serial) 201-400, item 1002 401-600; the
identifiers count from 000001 (``IMEI-1000-000001`` is device 1).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import Device
from tests.api.ops_support import level, receive_devices, warehouse
from tests.conftest import Api, assert_problem
from tests.flows.test_order_lifecycle import move, place

# Two monitors (1000) and strips (1003) by the item, a hypertension kit (1000 + batteries 1005)
# and a weight kit (1001 + batteries).
ORDER = {
    "orderItems": [{"item": {"id": 1000}, "count": 2}, {"item": {"id": 1003}, "count": 1}],
    "orderKits": [{"kit": {"id": 1000}, "count": 1}, {"kit": {"id": 1001}, "count": 1}],
}
GOOD_ITEMS = [
    {"item": {"id": 1000}, "devices": [{"id": 1}, {"deviceIdentifier": "IMEI-1000-000002"}]}
]
GOOD_KITS = [
    {"kit": {"id": 1001}, "devices": [{"deviceIdentifier": "SERIAL-1001-000001"}]},
    {"kit": {"id": 1000}, "devices": [{"id": 3}]},
]
INVALID = "the packing does not match the order"


def processing_order(api: Api, demo_keys: Any, body: dict[str, Any] | None = None) -> int:
    order = place(api, demo_keys.customer, **(body or ORDER))
    assert move(api, demo_keys.operator, order["id"], "processing").status_code == 200
    return int(order["id"])


def statuses(api: Api, ids: list[int]) -> dict[int, str]:
    async def load(session: AsyncSession) -> dict[int, str]:
        rows = await session.execute(
            select(Device.id, Device.current_status).where(Device.id.in_(ids))
        )
        return {row.id: row.current_status for row in rows}

    return api.call(load)


def test_the_operator_packs_named_devices(api: Api, demo_keys: Any) -> None:
    order_id = processing_order(api, demo_keys)
    r = move(
        api, demo_keys.operator, order_id, "packed", orderItems=GOOD_ITEMS, packedKits=GOOD_KITS
    )
    assert r.status_code == 200, r.text
    packed = r.json()
    assert [d["id"] for d in packed["devices"]] == [1, 2]
    assert [(k["kit"]["id"], [d["id"] for d in k["devices"]]) for k in packed["packedKits"]] == [
        (1001, [201]),
        (1000, [3]),
    ]
    for device in packed["devices"] + [d for k in packed["packedKits"] for d in k["devices"]]:
        assert device["currentStatus"] == "allocated"
        assert [e["type"] for e in device["deviceEvents"]] == ["received", "allocated"]
        assert device["deviceEvents"][-1]["orderId"] == order_id
    assert level(api, demo_keys.operator, 1, 1000) == (200, 3, 197)


def test_a_device_is_found_by_identifier_of_the_expected_item(api: Api, demo_keys: Any) -> None:
    # The same value can identify an IMEI device and a serial-numbered one.
    twin = receive_devices(api, demo_keys.operator, 1, 1001, ["IMEI-1000-000001"])
    assert twin.status_code == 201, twin.text
    order_id = processing_order(api, demo_keys)
    items = [
        {
            "item": {"id": 1000},
            "devices": [{"deviceIdentifier": "IMEI-1000-000001"}, {"id": 2}],
        }
    ]
    kits = [
        {"kit": {"id": 1001}, "devices": [{"deviceIdentifier": "IMEI-1000-000001"}]},
        {"kit": {"id": 1000}, "devices": [{"id": 3}]},
    ]
    r = move(api, demo_keys.operator, order_id, "packed", orderItems=items, packedKits=kits)
    assert r.status_code == 200, r.text
    assert [d["id"] for d in r.json()["devices"]] == [1, 2]
    assert r.json()["packedKits"][0]["devices"][0]["id"] == twin.json()[0]["id"]


def elsewhere_and_taken(api: Api, demo_keys: Any) -> tuple[int, int]:
    """A monitor in stock at another warehouse, and monitor 10 packed on another order."""
    far = warehouse(api, demo_keys.operator, "FAR")
    received = receive_devices(api, demo_keys.operator, far, 1000, ["FAR-1"])
    other = processing_order(api, demo_keys, {"orderItems": [{"item": {"id": 1000}, "count": 1}]})
    items = [{"item": {"id": 1000}, "devices": [{"id": 10}]}]
    assert move(api, demo_keys.operator, other, "packed", orderItems=items).status_code == 200
    return int(received.json()[0]["id"]), 10


def items_with(*refs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"item": {"id": 1000}, "devices": list(refs)}]


NEED = "the order's items need 2 of item 1000"
CASES: list[tuple[str, Any, Any, list[tuple[str, str]]]] = [
    (
        "wrong item",
        items_with({"id": 1}, {"id": 202}),
        GOOD_KITS,
        [("orderItems[0].devices[1]", "device 202 is item 1001, not item 1000")],
    ),
    (
        "not in stock",
        items_with({"id": 1}, {"id": 10}),
        GOOD_KITS,
        [("orderItems[0].devices[1]", "device 10 is allocated, not in stock")],
    ),
    (
        "at another warehouse",
        items_with({"id": 1}, {"deviceIdentifier": "FAR-1"}),
        GOOD_KITS,
        [("orderItems[0].devices[1]", "device {far} is in stock at another warehouse")],
    ),
    (
        "unknown",
        items_with({"id": 1}, {"deviceIdentifier": "NOPE"}),
        GOOD_KITS,
        [("orderItems[0].devices[1]", "no device has the identifier NOPE")],
    ),
    (
        "packed twice",
        items_with({"id": 1}, {"id": 2}),
        [
            GOOD_KITS[0],
            {"kit": {"id": 1000}, "devices": [{"deviceIdentifier": "IMEI-1000-000001"}]},
        ],
        [("packedKits[1].devices[0]", "device 1 is packed twice")],
    ),
    (
        "missing units",
        items_with({"id": 1}),
        [GOOD_KITS[0], {"kit": {"id": 1000}, "devices": []}],
        [
            ("orderItems", f"{NEED}; given 1 of item 1000"),
            ("packedKits[1].devices", "kit 1000 holds 1 of item 1000"),
        ],
    ),
    (
        "item not on the order",
        [*GOOD_ITEMS, {"item": {"id": 1002}, "devices": [{"id": 401}]}],
        GOOD_KITS,
        [("orderItems[1].item.id", "item 1002 has no devices to pack on this order")],
    ),
    (
        "wrong number of kits",
        GOOD_ITEMS,
        GOOD_KITS[:1],
        [("packedKits", "one entry per ordered kit unit: kits 1000, 1001; got 1001")],
    ),
    (
        "no devices at all",
        None,
        [],
        [
            ("orderItems", f"{NEED}; given no devices"),
            ("packedKits", "one entry per ordered kit unit: kits 1000, 1001; got none"),
        ],
    ),
]


@pytest.mark.parametrize(("case", "items", "kits", "errors"), CASES, ids=[c[0] for c in CASES])
def test_a_packing_that_does_not_match_is_refused_and_changes_nothing(
    api: Api, demo_keys: Any, case: str, items: Any, kits: Any, errors: list[tuple[str, str]]
) -> None:
    far, taken = elsewhere_and_taken(api, demo_keys)
    order_id = processing_order(api, demo_keys)
    before = statuses(api, [1, 2, 3, 201, 202, 401, far, taken])
    r = move(api, demo_keys.operator, order_id, "packed", orderItems=items, packedKits=kits)
    body = assert_problem(r, 400, "invalid_packing", INVALID)
    expected = [(f, m.format(far=far)) for f, m in errors]
    assert [(e["field"], e["message"]) for e in body["errors"]] == expected
    assert statuses(api, list(before)) == before
    after = api.get(f"/api/v3/ops/order/{order_id}", key=demo_keys.operator).json()
    assert after["currentStatus"] == "processing"
    assert (after["devices"], after["packedKits"]) == ([], [])
    assert [e["name"] for e in after["orderEvents"]] == ["received", "processing"]


@pytest.mark.parametrize("ref", [{}, {"id": 1, "deviceIdentifier": "IMEI-1000-000001"}])
def test_a_device_is_named_by_exactly_one_of_id_or_identifier(
    api: Api, demo_keys: Any, ref: dict[str, Any]
) -> None:
    order_id = processing_order(api, demo_keys)
    items = [{"item": {"id": 1000}, "devices": [ref, {"id": 2}]}]
    r = move(api, demo_keys.operator, order_id, "packed", orderItems=items, packedKits=GOOD_KITS)
    body = assert_problem(r, 400, "invalid_request")
    assert body["errors"] == [
        {
            "field": "orderItems[0].devices[0]",
            "message": "give exactly one of id or deviceIdentifier",
        }
    ]


def test_auto_packing_never_gives_one_device_to_two_orders(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    first, second = processing_order(api, demo_keys), processing_order(api, demo_keys)
    picked: list[set[int]] = []
    for order_id in (first, second):
        r = move(api, op, order_id, "packed")
        assert r.status_code == 200, r.text
        body = r.json()
        devices = body["devices"] + [d for k in body["packedKits"] for d in k["devices"]]
        assert sorted(d["item"]["id"] for d in devices) == [1000, 1000, 1000, 1001]
        assert {d["currentStatus"] for d in devices} == {"allocated"}
        assert sorted(k["kit"]["id"] for k in body["packedKits"]) == [1000, 1001]
        picked.append({d["id"] for d in devices})
    assert len(picked[0]) == len(picked[1]) == 4
    assert picked[0].isdisjoint(picked[1])
    assert level(api, op, 1, 1000) == (200, 6, 194)


def test_auto_packing_skips_devices_that_are_not_in_stock(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    first = processing_order(api, demo_keys, {"orderItems": [{"item": {"id": 1001}, "count": 1}]})
    named = [{"item": {"id": 1001}, "devices": [{"id": 201}]}]
    assert move(api, op, first, "packed", orderItems=named).status_code == 200
    second = processing_order(api, demo_keys, {"orderItems": [{"item": {"id": 1001}, "count": 1}]})
    auto = move(api, op, second, "packed").json()
    assert [d["id"] for d in auto["devices"]] == [202]


@pytest.mark.parametrize(
    ("status", "extra", "field"),
    [
        ("onHold", {"trackingNumbers": [{"carrier": "UPS", "value": "1"}]}, "trackingNumbers"),
        ("cancelled", {"orderItems": GOOD_ITEMS}, "orderItems"),
        ("packed", {"trackingNumbers": [{"carrier": "UPS", "value": "1"}]}, "trackingNumbers"),
    ],
)
def test_a_move_refuses_fields_it_would_ignore(
    api: Api, demo_keys: Any, status: str, extra: dict[str, Any], field: str
) -> None:
    order_id = processing_order(api, demo_keys)
    body = assert_problem(
        move(api, demo_keys.operator, order_id, status, **extra), 400, "invalid_request"
    )
    assert [e["field"] for e in body["errors"]] == [field]
    after = api.get(f"/api/v3/ops/order/{order_id}", key=demo_keys.operator).json()
    assert after["currentStatus"] == "processing"
    assert level(api, demo_keys.operator, 1, 1000) == (200, 3, 197)
