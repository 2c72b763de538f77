"""Create-order input: counts, enums, unknown and unsupported fields, duplicates, stale refs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.orders_support import (
    ORDERS,
    assert_no_orders,
    create,
    items,
    kits,
    patient_order,
    reject,
    site_order,
)
from tests.conftest import Api, assert_problem

MSG_NON_ORDERABLE = "Order contains Items that are marked as non-orderable. Order cannot be placed."
SHIPPING_ENUM = "Input should be 'standard', 'expedited', 'overnight' or 'pickup'"


@pytest.mark.parametrize(
    ("count", "reason"),
    [
        (0, "Input should be greater than or equal to 1"),
        (-3, "Input should be greater than or equal to 1"),
        ("2", "Input should be a valid integer"),
        (1.5, "Input should be a valid integer"),
        (None, "Input should be a valid integer"),
        (True, "Input should be a valid integer"),
    ],
)
@pytest.mark.parametrize("lines", ["orderItems", "orderKits"])
def test_count_that_is_not_a_positive_integer_is_rejected(
    api: Api, key: str, lines: str, count: Any, reason: str
) -> None:
    ref = {"item": {"id": 1000}} if lines == "orderItems" else {"kit": {"id": 1000}}
    body = patient_order(**{lines: [{**ref, "count": 1}, {**ref, "count": count}]})
    field = f"{lines}[1].count"
    reject(api, key, body, "invalid_request", f"invalid request: {field}: {reason}", [field])


def test_line_without_count_is_rejected_as_missing_count(api: Api, key: str) -> None:
    body = patient_order(orderItems=[{"item": {"id": 1000}}])
    field = "orderItems[0].count"
    reject(api, key, body, "invalid_request", f"invalid request: {field}: is required", [field])


@pytest.mark.parametrize("option", ["standard", "expedited", "overnight", "pickup"])
def test_each_documented_shipping_option_is_accepted_and_returned(
    api: Api, key: str, option: str
) -> None:
    assert create(api, key, patient_order(shippingOption=option))["shippingOption"] == option


def test_order_without_shipping_option_is_accepted_with_none(api: Api, key: str) -> None:
    assert create(api, key, patient_order())["shippingOption"] is None


@pytest.mark.parametrize("option", ["fast", "Standard", "", 1])
def test_unknown_shipping_option_is_rejected(api: Api, key: str, option: Any) -> None:
    body = patient_order(shippingOption=option)
    message = f"invalid request: shippingOption: {SHIPPING_ENUM}"
    reject(api, key, body, "invalid_request", message, ["shippingOption"])


def one_line(lines: str, line: dict[str, Any]) -> dict[str, Any]:
    return patient_order(**{lines: [line]})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (patient_order(priority="high"), "priority"),
        (one_line("orderItems", {"item": {"id": 1000}, "count": 1, "qty": 1}), "orderItems[0].qty"),
        (
            one_line("orderItems", {"item": {"id": 1000, "colour": "red"}, "count": 1}),
            "orderItems[0].item.colour",
        ),
        (
            one_line("orderKits", {"kit": {"id": 1000, "size": 2}, "count": 1}),
            "orderKits[0].kit.size",
        ),
        (one_line("orderNotes", {"note": "ring first", "by": "me"}), "orderNotes[0].by"),
        (
            {"patient": {"id": 1234, "nickname": "Al"}, "orderItems": items(1000)},
            "patient.nickname",
        ),
    ],
    ids=["top", "line", "item", "kit", "note", "patient"],
)
def test_unknown_field_anywhere_in_the_body_is_rejected(
    api: Api, key: str, body: dict[str, Any], field: str
) -> None:
    message = f"invalid request: {field}: unknown field"
    reject(api, key, body, "invalid_request", message, [field])


def test_documented_fields_of_referenced_records_are_accepted_and_ignored(
    api: Api, key: str
) -> None:
    body = {
        "site": {"id": 1234, "name": "Elsewhere", "active": False, "address": {"city": "X"}},
        "orderItems": [{"item": {"id": 1000, "name": "renamed", "orderable": False}, "count": 1}],
        "orderKits": [{"kit": {"id": 1000, "loaner": True, "kitItems": []}, "count": 1}],
    }
    order = create(api, key, body)
    assert order["site"]["name"] == "Demo Clinic Main Office"
    assert order["orderItems"][0]["item"]["name"] == "Blood pressure monitor"
    assert order["orderKits"][0]["kit"]["loaner"] is False


def test_received_as_current_status_is_accepted(api: Api, key: str) -> None:
    assert create(api, key, patient_order(currentStatus="received"))["currentStatus"] == "received"


@pytest.mark.parametrize("status", ["shipped", "processing", "Received", "bogus"])
def test_current_status_other_than_received_is_rejected(api: Api, key: str, status: str) -> None:
    body = patient_order(currentStatus=status)
    message = "invalid request: currentStatus: Input should be 'received'"
    reject(api, key, body, "invalid_request", message, ["currentStatus"])


def test_duplicate_item_in_order_items_is_rejected_at_the_repeat(api: Api, key: str) -> None:
    body = patient_order(orderItems=items(1000, 1001, 1000))
    message = "item 1000 appears more than once in orderItems; give it once with a count"
    reject(api, key, body, "duplicate_item", message, ["orderItems[2].item.id"])


def test_duplicate_kit_in_order_kits_is_rejected_at_the_repeat(api: Api, key: str) -> None:
    body = site_order(orderKits=kits(1002, 1002))
    message = "kit 1002 appears more than once in orderKits; give it once with a count"
    reject(api, key, body, "duplicate_kit", message, ["orderKits[1].kit.id"])


def test_order_for_an_archived_patient_is_rejected(api: Api, key: str) -> None:
    archived = api.patch("/api/v3/patient/1234", key=key, json={"archived": True})
    assert archived.status_code == 200, archived.text
    body = patient_order()
    reject(api, key, body, "patient_archived", "patient 1234 is archived", ["patient.id"])


def test_order_for_an_inactive_site_is_rejected(api: Api, key: str) -> None:
    inactive = api.patch("/api/v3/site/1234", key=key, json={"active": False})
    assert inactive.status_code == 200, inactive.text
    body = site_order()
    reject(api, key, body, "site_inactive", "site 1234 is not active", ["site.id"])


def test_every_broken_business_rule_is_named_in_one_response(api: Api, key: str) -> None:
    body = {
        "patient": {"id": 999999},
        "orderItems": items(1000, 1004, 424242, 1000),
        "orderKits": [*kits(1005), *kits(1004, count=2), *kits(777777)],
    }
    duplicate = "item 1000 appears more than once in orderItems; give it once with a count"
    problem = reject(api, key, body, "duplicate_item", duplicate)
    assert problem["errors"] == [
        {"field": "orderItems[3].item.id", "message": duplicate},
        {"field": "patient.id", "message": "patient 999999 not found"},
        {"field": "orderItems[2].item.id", "message": "item 424242 not found"},
        {"field": "orderKits[2].kit.id", "message": "kit 777777 not found"},
        {"field": "orderItems[1].item.id", "message": "item 1004 is not orderable"},
        {
            "field": "orderKits[0].kit.id",
            "message": "kit 1005 contains item 1004, which is not orderable",
        },
        {"field": "orderKits[1].count", "message": "qty_over_one_loaner_kit"},
    ]


def test_every_malformed_field_is_named_in_one_response(api: Api, key: str) -> None:
    body = {
        "site": {"id": "1234"},
        "orderItems": [{"item": {"id": 1000}, "count": 0}, {"item": {"id": 1001}, "count": "x"}],
        "shippingOption": "teleport",
        "surprise": True,
    }
    response = api.post(ORDERS, key=key, json=body)
    problem = assert_problem(response, 400, "invalid_request")
    assert [e["field"] for e in problem["errors"]] == [
        "site.id",
        "orderItems[0].count",
        "orderItems[1].count",
        "shippingOption",
        "surprise",
    ]
    assert_no_orders(api, key)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"patient": {"id": 1234}', "the body is not valid JSON"),
        (b"[]", "Input should be a valid dictionary or object to extract fields from"),
    ],
    ids=["truncated", "array"],
)
def test_body_that_is_not_a_json_object_is_rejected(
    api: Api, key: str, payload: bytes, reason: str
) -> None:
    response = api.post(
        ORDERS, key=key, content=payload, headers={"Content-Type": "application/json"}
    )
    problem = assert_problem(response, 400, "invalid_request")
    assert [e["message"] for e in problem["errors"]] == [reason]
    assert_no_orders(api, key)


def test_notes_and_email_label_given_at_creation_are_returned(api: Api, key: str) -> None:
    body = patient_order(orderNotes=[{"note": "Leave with reception"}], emailLabel=True)
    order = create(api, key, body)
    assert order["emailLabel"] is True
    assert [n["note"] for n in order["orderNotes"]] == ["Leave with reception"]
    assert set(order["orderNotes"][0]) == {"note", "createdAt", "createdBy"}
    assert api.get(f"{ORDERS}/{order['id']}", key=key).json() == order


def test_more_than_a_hundred_lines_are_rejected(api: Api, key: str) -> None:
    body = patient_order(orderItems=[{"item": {"id": 1000 + n}, "count": 1} for n in range(101)])
    reason = "List should have at most 100 items after validation, not 101"
    reject(
        api, key, body, "invalid_request", f"invalid request: orderItems: {reason}", ["orderItems"]
    )
