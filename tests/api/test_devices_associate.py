"""Associating a device with a patient: the happy paths, every precondition, tenancy."""

from __future__ import annotations

from typing import Any

import pytest

from kitdesk.domain.devices.states import DeviceStatus
from tests.api.devices_support import (
    ASSOCIATE,
    DEMO_PATIENT,
    DEVICES,
    OTHER_PATIENT,
    SCALE,
    Fleet,
    events,
    fleet,
    hand_over,
    ok,
    receive,
)
from tests.api.patients_support import create_patient
from tests.conftest import Api, assert_problem

NOT_AVAILABLE = "only a device availableAtSite at a customer site can be associated with a patient"


def fetch(api: Api, key: str, device: int) -> dict[str, Any]:
    return ok(api.get(f"{DEVICES}/{device}", key=key))


@pytest.mark.parametrize(
    ("device_ref", "patient_ref"),
    [
        ({"deviceId": None}, {"patientId": DEMO_PATIENT}),
        ({"deviceIdentifier": "IMEI-1"}, {"patientId": DEMO_PATIENT}),
        ({"deviceId": None}, {"patientExternalIdentifier": "demo-1234"}),
        ({"deviceIdentifier": "IMEI-1"}, {"patientExternalIdentifier": "demo-1234"}),
    ],
    ids=["ids", "device identifier", "patient identifier", "both identifiers"],
)
def test_device_available_at_a_site_is_handed_to_the_patient(
    api: Api, key: str, device_ref: dict[str, Any], patient_ref: dict[str, Any]
) -> None:
    devices = fleet(api)
    before = fetch(api, key, devices.at_site)
    ref = {k: v if v is not None else devices.at_site for k, v in device_ref.items()}

    body = ok(api.patch(ASSOCIATE, key=key, json=ref | patient_ref))

    assert body["id"] == devices.at_site
    assert body["currentStatus"] == "withPatient"
    assert body["currentPatient"]["id"] == DEMO_PATIENT
    assert body["site"] == before["site"]
    assert events(body) == ["received", "associated"]
    assert body["deviceEvents"][1]["eventTimestamp"] >= before["deviceEvents"][0]["eventTimestamp"]
    assert body["updatedAt"] >= before["updatedAt"]
    assert fetch(api, key, devices.at_site) == body


def test_associated_device_is_listed_under_its_patient(api: Api, key: str) -> None:
    devices = fleet(api)
    patient = create_patient(api, key, externalIdentifier="p-2")["id"]

    ok(api.patch(ASSOCIATE, key=key, json={"deviceId": devices.at_site, "patientId": patient}))

    listed = ok(api.get(f"{DEVICES}?patientId={patient}", key=key))["content"]
    assert [(d["id"], d["currentPatient"]["id"]) for d in listed] == [(devices.at_site, patient)]


@pytest.mark.parametrize(
    "status", [s for s in DeviceStatus if s is not DeviceStatus.AVAILABLE_AT_SITE]
)
def test_device_in_any_other_status_is_not_available(
    api: Api, key: str, status: DeviceStatus
) -> None:
    devices = fleet(api)
    hand_over(api, devices.at_site, status=status)
    before = fetch(api, key, devices.at_site)

    response = api.patch(
        ASSOCIATE, key=key, json={"deviceId": devices.at_site, "patientId": DEMO_PATIENT}
    )

    body = assert_problem(
        response,
        409,
        "device_not_available",
        f"device {devices.at_site} is {status.value}; {NOT_AVAILABLE}",
    )
    assert body["currentStatus"] == status.value
    assert fetch(api, key, devices.at_site) == before


@pytest.mark.parametrize(
    "status", [DeviceStatus.IN_TRANSIT, DeviceStatus.AVAILABLE_AT_SITE, DeviceStatus.RETURNED]
)
def test_device_at_no_customer_site_is_not_available(
    api: Api, key: str, status: DeviceStatus
) -> None:
    devices = fleet(api)
    hand_over(api, devices.in_transit, status=status, site_id=None)
    before = fetch(api, key, devices.in_transit)

    response = api.patch(
        ASSOCIATE, key=key, json={"deviceIdentifier": "IMEI-5", "patientId": DEMO_PATIENT}
    )

    assert_problem(
        response,
        409,
        "device_not_available",
        f"device {devices.in_transit} is {status.value} and at no customer site; {NOT_AVAILABLE}",
    )
    assert fetch(api, key, devices.in_transit) == before


def device_ref(devices: Fleet, name: str) -> dict[str, Any]:
    """A reference to one of the fleet's devices: "in_stock:id" or "other:identifier"."""
    which, form = name.split(":")
    if form == "id":
        return {"deviceId": getattr(devices, which)}
    return {"deviceIdentifier": {"in_stock": "IMEI-3", "other": "IMEI-4"}[which]}


@pytest.mark.parametrize(
    "name", ["in_stock:id", "in_stock:identifier", "other:id", "other:identifier"]
)
def test_warehouse_stock_and_other_customers_devices_are_404_like_unknown_ones(
    api: Api, key: str, name: str
) -> None:
    devices = fleet(api)
    ref = device_ref(devices, name)

    response = api.patch(ASSOCIATE, key=key, json=ref | {"patientId": DEMO_PATIENT})

    if "deviceId" in ref:
        message = f"device {ref['deviceId']} not found"
    else:
        message = f"device with identifier '{ref['deviceIdentifier']}' not found"
    assert_problem(response, 404, "not_found", message)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ({"deviceId": 999999}, "device 999999 not found"),
        ({"deviceIdentifier": "NOPE"}, "device with identifier 'NOPE' not found"),
    ],
)
def test_unknown_device_is_404(api: Api, key: str, ref: dict[str, Any], message: str) -> None:
    fleet(api)

    response = api.patch(ASSOCIATE, key=key, json=ref | {"patientId": DEMO_PATIENT})

    assert_problem(response, 404, "not_found", message)


@pytest.mark.parametrize(
    ("patient_ref", "field", "message"),
    [
        ({"patientId": 999999}, "patientId", "patient 999999 not found"),
        ({"patientId": OTHER_PATIENT}, "patientId", f"patient {OTHER_PATIENT} not found"),
        (
            {"patientExternalIdentifier": "rc-5678"},
            "patientExternalIdentifier",
            "patient with external identifier 'rc-5678' not found",
        ),
    ],
    ids=["unknown", "other customer's", "other customer's by identifier"],
)
def test_patient_of_no_one_or_of_another_customer_is_400_on_the_patient_field(
    api: Api, key: str, patient_ref: dict[str, Any], field: str, message: str
) -> None:
    devices = fleet(api)
    before = fetch(api, key, devices.at_site)

    response = api.patch(ASSOCIATE, key=key, json={"deviceId": devices.at_site} | patient_ref)

    body = assert_problem(response, 400, "unknown_patient", message)
    assert body["errors"] == [{"field": field, "message": message}]
    assert fetch(api, key, devices.at_site) == before


def test_another_customer_cannot_hand_the_demo_customers_device_to_its_patient(
    api: Api, key: str, other_key: str
) -> None:
    devices = fleet(api)

    response = api.patch(
        ASSOCIATE, key=other_key, json={"deviceId": devices.at_site, "patientId": OTHER_PATIENT}
    )

    assert_problem(response, 404, "not_found", f"device {devices.at_site} not found")
    assert fetch(api, key, devices.at_site)["currentStatus"] == "availableAtSite"


def test_identifier_naming_two_of_the_callers_devices_is_400(api: Api, key: str) -> None:
    devices = fleet(api)
    [scale] = receive(api, devices.warehouse, SCALE, "IMEI-1")
    hand_over(api, scale)

    response = api.patch(
        ASSOCIATE, key=key, json={"deviceIdentifier": "IMEI-1", "patientId": DEMO_PATIENT}
    )

    body = assert_problem(
        response,
        400,
        "ambiguous_device_identifier",
        "identifier 'IMEI-1' names several devices; give deviceId instead",
    )
    assert body["errors"] == [{"field": "deviceIdentifier", "message": "names several devices"}]
    assert fetch(api, key, scale)["currentStatus"] == "availableAtSite"


def test_identifier_shared_with_another_customers_device_names_only_the_callers(
    api: Api, key: str
) -> None:
    devices = fleet(api)
    [scale] = receive(api, devices.warehouse, SCALE, "IMEI-4")  # the other customer's IMEI
    hand_over(api, scale)

    body = ok(
        api.patch(
            ASSOCIATE, key=key, json={"deviceIdentifier": "IMEI-4", "patientId": DEMO_PATIENT}
        )
    )

    assert (body["id"], body["currentStatus"]) == (scale, "withPatient")
