"""Opening a return (POST /api/v3/return): the created return, the sender and the body's shape."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.orders_support import create, patient_order, site_order
from tests.api.returns_support import (
    RETURNS,
    device_refs,
    field_names,
    give_devices,
    open_return,
)
from tests.conftest import Api, assert_problem

RETURN_FIELDS = {
    "id",
    "patient",
    "site",
    "currentStatus",
    "shippingOption",
    "emailLabel",
    "returnDevices",
    "returnItems",
    "returnKits",
    "returnEvents",
    "trackingNumbers",
    "relatedOrderId",
    "createdAt",
    "updatedAt",
}


def test_patient_return_of_a_device_with_the_patient_is_created_requested(
    api: Api, key: str
) -> None:
    [device] = give_devices(api, ["BP-1"], patient_id=1234)
    created = open_return(api, key, {"patientId": 1234, "returnDevices": device_refs(device)})
    assert set(created) == RETURN_FIELDS
    assert created["patient"]["id"] == 1234
    assert created["patient"]["site"] == {
        "id": 1234,
        "name": "Demo Clinic Main Office",
        "active": True,
    }
    assert created["site"] is None
    assert created["currentStatus"] == "requested"
    assert (created["shippingOption"], created["emailLabel"]) == ("standard", False)
    assert [e["name"] for e in created["returnEvents"]] == ["requested"]
    assert created["returnEvents"][0]["eventTimestamp"]
    assert (created["returnItems"], created["returnKits"]) == ([], [])
    assert (created["trackingNumbers"], created["relatedOrderId"]) == ([], None)
    assert created["createdAt"] <= created["updatedAt"]
    [returned] = created["returnDevices"]
    assert returned["id"] == device
    assert returned["deviceIdentifiers"] == [{"type": "imei", "value": "BP-1"}]
    assert returned["item"]["id"] == 1000
    assert returned["currentPatient"]["id"] == 1234


def test_requested_return_marks_its_devices_but_leaves_their_status(api: Api, key: str) -> None:
    [device] = give_devices(api, ["BP-1"], patient_id=1234)
    created = open_return(api, key, {"patientId": 1234, "returnDevices": device_refs(device)})
    [returned] = created["returnDevices"]
    assert returned["currentStatus"] == "withPatient"
    assert [(e["type"], e["returnId"]) for e in returned["deviceEvents"]] == [
        ("received", None),
        ("returnRequested", created["id"]),
    ]


def test_device_can_be_named_by_its_identifier(api: Api, key: str) -> None:
    [device] = give_devices(api, ["SCALE-9"], item_id=1001, patient_id=1234)
    body = {"patientId": 1234, "returnDevices": [{"deviceIdentifier": "SCALE-9"}]}
    created = open_return(api, key, body)
    assert [d["id"] for d in created["returnDevices"]] == [device]


def test_site_return_of_counted_items_with_an_emailed_expedited_label(api: Api, key: str) -> None:
    body = {
        "siteId": 1234,
        "returnItems": [{"item": {"id": 1003}, "count": 5}, {"item": {"id": 1005}, "count": 1}],
        "shippingOption": "expedited",
        "emailLabel": True,
    }
    created = open_return(api, key, body)
    assert created["patient"] is None
    assert created["site"]["id"] == 1234
    assert created["site"]["name"] == "Demo Clinic Main Office"
    assert [(i["item"]["id"], i["count"]) for i in created["returnItems"]] == [(1003, 5), (1005, 1)]
    assert created["returnItems"][0]["item"]["name"] == "Glucose test strips (50)"
    assert (created["shippingOption"], created["emailLabel"]) == ("expedited", True)
    assert created["returnDevices"] == []


def test_return_may_name_one_of_the_callers_orders(api: Api, key: str) -> None:
    order = create(api, key, site_order())
    body = {"siteId": 1234, "relatedOrderId": order["id"], "returnItems": [items_line()]}
    assert open_return(api, key, body)["relatedOrderId"] == order["id"]


def items_line(item_id: int = 1003, count: int = 1) -> dict[str, Any]:
    return {"item": {"id": item_id}, "count": count}


def test_another_customers_order_is_not_a_related_order(api: Api, key: str, other_key: str) -> None:
    foreign = create(api, other_key, patient_order(5678))
    body = {"siteId": 1234, "relatedOrderId": foreign["id"], "returnItems": [items_line()]}
    problem = assert_problem(
        api.post(RETURNS, key=key, json=body),
        400,
        "unknown_order",
        f"order {foreign['id']} not found",
    )
    assert field_names(problem) == ["relatedOrderId"]


def test_return_without_patient_or_site_is_refused(api: Api, key: str) -> None:
    response = api.post(RETURNS, key=key, json={"returnItems": [items_line()]})
    problem = assert_problem(
        response, 400, "patient_or_site_required", "patientId or siteId required"
    )
    assert field_names(problem) == ["patientId"]


def test_return_from_both_a_patient_and_a_site_is_refused(api: Api, key: str) -> None:
    body = {"patientId": 1234, "siteId": 1234, "returnItems": [items_line()]}
    problem = assert_problem(
        api.post(RETURNS, key=key, json=body),
        400,
        "patient_and_site",
        "a return comes from exactly one sender: give patientId or siteId, not both",
    )
    assert field_names(problem) == ["patientId", "siteId"]


@pytest.mark.parametrize(
    ("sender", "code", "message"),
    [
        ({"patientId": 5678}, "unknown_patient", "patient 5678 not found"),
        ({"patientId": 999999}, "unknown_patient", "patient 999999 not found"),
        ({"siteId": 5678}, "unknown_site", "site 5678 not found"),
        ({"siteId": 999999}, "unknown_site", "site 999999 not found"),
    ],
)
def test_unknown_or_foreign_sender_is_refused(
    api: Api, key: str, sender: dict[str, int], code: str, message: str
) -> None:
    response = api.post(RETURNS, key=key, json={**sender, "returnItems": [items_line()]})
    problem = assert_problem(response, 400, code, message)
    assert field_names(problem) == list(sender)


def test_empty_return_is_refused(api: Api, key: str) -> None:
    body = {"patientId": 1234, "returnDevices": [], "returnItems": []}
    problem = assert_problem(
        api.post(RETURNS, key=key, json=body),
        400,
        "return_content_required",
        "Return must contain at least one of: returnDevices, returnItems, or returnPackedKits",
    )
    assert field_names(problem) == ["returnDevices"]


def test_every_bad_field_is_named_at_once(api: Api, key: str) -> None:
    body = {
        "patientId": 999999,
        "relatedOrderId": 999999,
        "returnDevices": [{"id": 999999}],
        "returnItems": [items_line(999999)],
        "returnPackedKits": [{"id": 999999}],
    }
    problem = assert_problem(
        api.post(RETURNS, key=key, json=body), 400, "unknown_patient", "patient 999999 not found"
    )
    assert problem["errors"] == [
        {"field": "patientId", "message": "patient 999999 not found"},
        {"field": "relatedOrderId", "message": "order 999999 not found"},
        {"field": "returnDevices[0].id", "message": "device 999999 not found"},
        {"field": "returnItems[0].item.id", "message": "item 999999 not found"},
        {"field": "returnPackedKits[0].id", "message": "packed kit 999999 not found"},
    ]


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"patient": {"id": 1234}}, "patient", "unknown field"),
        ({"returnDevices": [{"id": 1, "deviceIdentifier": "X"}]}, "returnDevices[0]", None),
        ({"returnDevices": [{}]}, "returnDevices[0]", None),
        ({"returnDevices": [{"id": 1, "serial": "X"}]}, "returnDevices[0].serial", "unknown field"),
        ({"returnItems": [{"item": {"id": 1003}, "count": 0}]}, "returnItems[0].count", None),
        ({"returnItems": [{"item": {"id": 1003}}]}, "returnItems[0].count", "is required"),
        ({"returnPackedKits": [{"id": "one"}]}, "returnPackedKits[0].id", None),
        ({"shippingOption": "teleport"}, "shippingOption", None),
        ({"emailLabel": "yes"}, "emailLabel", None),
        ({"patientId": 0}, "patientId", None),
    ],
)
def test_malformed_body_is_refused_before_any_rule(
    api: Api, key: str, extra: dict[str, Any], field: str, message: str | None
) -> None:
    body = {"patientId": 1234, "returnItems": [items_line()], **extra}
    problem = assert_problem(api.post(RETURNS, key=key, json=body), 400, "invalid_request")
    assert field_names(problem) == [field]
    if message is not None:
        assert problem["errors"][0]["message"] == message
    assert api.get(RETURNS, key=key).json()["total"] == 0


def test_device_reference_needs_exactly_one_of_id_or_identifier(api: Api, key: str) -> None:
    body = {"patientId": 1234, "returnDevices": [{"id": 1, "deviceIdentifier": "X"}]}
    problem = assert_problem(api.post(RETURNS, key=key, json=body), 400, "invalid_request")
    assert problem["errors"] == [
        {"field": "returnDevices[0]", "message": "give exactly one of id or deviceIdentifier"}
    ]


def test_return_needs_a_key(api: Api, key: str) -> None:
    response = api.post(RETURNS, json={"siteId": 1234, "returnItems": [items_line()]})
    assert_problem(response, 401, "unauthorized")
