"""Fetching one device and validating a device identifier; the device paths' documentation."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest

from tests.api.devices_support import (
    ASSOCIATE,
    BP_MONITOR,
    DEMO_PATIENT,
    DEVICES,
    DISABLE,
    DISASSOCIATE,
    ENABLE,
    SCALE,
    add_warehouse,
    fleet,
    hand_over,
    ok,
    receive,
)
from tests.conftest import Api, assert_problem

DEMO_PATIENT_SUMMARY = {
    "id": DEMO_PATIENT,
    "externalIdentifier": "demo-1234",
    "firstName": "Alex",
    "lastName": "Demo",
    "dateOfBirth": "1960-04-02",
    "email": "alex.demo@example.com",
    "phoneNumber": "+1 217 555 0123",
    "archived": False,
}
DEMO_SITE_SUMMARY = {"id": 1234, "name": "Demo Clinic Main Office", "active": True}


def without_times(device: dict[str, Any]) -> dict[str, Any]:
    """The device with its timestamps checked to be ISO-8601 and removed."""
    body = dict(device)
    for name in ("createdAt", "updatedAt"):
        datetime.fromisoformat(body.pop(name))
    body["deviceEvents"] = [dict(e) for e in body["deviceEvents"]]
    for event in body["deviceEvents"]:
        datetime.fromisoformat(event.pop("eventTimestamp"))
    return body


def test_device_is_fetched_whole_with_item_site_patient_identifiers_and_events(
    api: Api, key: str
) -> None:
    devices = fleet(api)
    item = ok(api.get(f"/api/v3/item/{BP_MONITOR}", key=key))

    body = ok(api.get(f"{DEVICES}/{devices.with_patient}", key=key))

    assert without_times(body) == {
        "id": devices.with_patient,
        "item": item,
        "currentStatus": "withPatient",
        "used": False,
        "currentPatient": DEMO_PATIENT_SUMMARY,
        "site": DEMO_SITE_SUMMARY,
        "lastHealthCheck": None,
        "deviceIdentifiers": [{"type": "imei", "value": "IMEI-2"}],
        "deviceEvents": [{"type": "received", "orderId": None, "returnId": None}],
        "externalIdentifier": None,
        "disabledReadings": False,
    }


def test_device_available_at_a_site_has_no_patient(api: Api, key: str) -> None:
    devices = fleet(api)

    body = ok(api.get(f"{DEVICES}/{devices.at_site}", key=key))

    assert (body["currentStatus"], body["currentPatient"], body["site"]) == (
        "availableAtSite",
        None,
        DEMO_SITE_SUMMARY,
    )


def test_unknown_device_is_404(api: Api, key: str) -> None:
    body = assert_problem(
        api.get(f"{DEVICES}/999999", key=key), 404, "not_found", "device 999999 not found"
    )
    assert body["errors"] == []


@pytest.mark.parametrize("which", ["in_stock", "other"])
def test_warehouse_stock_and_another_customers_device_are_404_like_unknown_ones(
    api: Api, key: str, which: str
) -> None:
    device = getattr(fleet(api), which)

    response = api.get(f"{DEVICES}/{device}", key=key)

    assert_problem(response, 404, "not_found", f"device {device} not found")


def test_the_other_customer_fetches_its_own_device_but_not_the_demo_customers(
    api: Api, key: str, other_key: str
) -> None:
    devices = fleet(api)

    assert ok(api.get(f"{DEVICES}/{devices.other}", key=other_key))["id"] == devices.other
    response = api.get(f"{DEVICES}/{devices.at_site}", key=other_key)
    assert_problem(response, 404, "not_found", f"device {devices.at_site} not found")


@pytest.mark.parametrize(
    ("path_id", "message"),
    [
        ("0", "Input should be greater than or equal to 1"),
        ("abc", "Input should be a valid integer, unable to parse string as an integer"),
        (str(2**63), "Input should be less than or equal to 9223372036854775807"),
    ],
)
def test_bad_device_path_id_is_400(api: Api, key: str, path_id: str, message: str) -> None:
    body = assert_problem(
        api.get(f"{DEVICES}/{path_id}", key=key),
        400,
        "invalid_request",
        f"invalid request: deviceId: {message}",
    )
    assert body["errors"] == [{"field": "deviceId", "message": message}]


def test_validate_returns_the_callers_device_for_its_identifier(api: Api, key: str) -> None:
    devices = fleet(api)

    body = ok(api.get(f"{DEVICES}/validate/IMEI-1", key=key))

    assert body == {"valid": True, "device": ok(api.get(f"{DEVICES}/{devices.at_site}", key=key))}


@pytest.mark.parametrize(
    "identifier",
    # A NUL in the identifier is refused (400) like any NUL in a URL: test_hostile_input.py.
    ["IMEI-3", "IMEI-4", "NO-SUCH-IMEI", "imei-1", "x" * 300],
    ids=["warehouse", "other customer", "unknown", "other case", "too long"],
)
def test_validate_answers_not_valid_without_revealing_other_devices(
    api: Api, key: str, identifier: str
) -> None:
    fleet(api)

    body = ok(api.get(f"{DEVICES}/validate/{identifier}", key=key))

    assert body == {"valid": False}


def test_validate_accepts_identifiers_holding_slashes_and_spaces(api: Api, key: str) -> None:
    [device] = receive(api, add_warehouse(api), SCALE, "SN/42 B")
    hand_over(api, device)

    body = ok(api.get(f"{DEVICES}/validate/{quote('SN/42 B', safe='')}", key=key))

    assert (body["valid"], body["device"]["id"]) == (True, device)


def test_validate_picks_the_oldest_device_when_one_value_names_two(api: Api, key: str) -> None:
    warehouse = add_warehouse(api)
    [monitor] = receive(api, warehouse, BP_MONITOR, "X-1")
    [scale] = receive(api, warehouse, SCALE, "X-1")
    hand_over(api, scale)
    hand_over(api, monitor)

    body = ok(api.get(f"{DEVICES}/validate/X-1", key=key))

    assert (body["valid"], body["device"]["id"]) == (True, min(monitor, scale))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", DEVICES),
        ("GET", f"{DEVICES}/1"),
        ("GET", f"{DEVICES}/validate/IMEI-1"),
        ("PATCH", ASSOCIATE),
        ("PATCH", DISASSOCIATE),
        ("PATCH", DISABLE),
        ("PATCH", ENABLE),
    ],
)
def test_every_device_endpoint_needs_a_key(api: Api, key: str, method: str, path: str) -> None:
    response = api.request(method, path, json={"deviceId": 1, "patientId": 1234})

    assert_problem(response, 401, "unauthorized")


def test_openapi_documents_every_device_endpoint_with_its_errors(api: Api) -> None:
    paths = api.get("/openapi.json").json()["paths"]

    documented = {
        path: {method: sorted(op["responses"]) for method, op in ops.items()}
        for path, ops in paths.items()
        if path.startswith(DEVICES)
    }

    # Every API operation may also meet the rate limit (429); bodies may be too large (413) or
    # not JSON (415).
    changes = ["200", "400", "401", "404", "409", "413", "415", "429"]
    assert documented == {
        DEVICES: {"get": ["200", "400", "401", "429"]},
        f"{DEVICES}/{{deviceId}}": {"get": ["200", "400", "401", "404", "429"]},
        f"{DEVICES}/validate/{{deviceIdentifier}}": {"get": ["200", "400", "401", "429"]},
        ASSOCIATE: {"patch": changes},
        DISASSOCIATE: {"patch": changes},
        DISABLE: {"patch": changes},
        ENABLE: {"patch": changes},
    }
