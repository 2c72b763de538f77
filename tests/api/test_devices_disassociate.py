"""Taking a device back from its patient: the happy paths, every precondition, tenancy."""

from __future__ import annotations

from typing import Any

import pytest

from kitdesk.domain.devices.states import DeviceStatus
from tests.api.devices_support import (
    ASSOCIATE,
    DEMO_PATIENT,
    DEMO_SITE,
    DEVICES,
    DISASSOCIATE,
    OTHER_PATIENT,
    events,
    fleet,
    hand_over,
    ok,
)
from tests.api.patients_support import create_patient
from tests.conftest import Api, assert_problem

NOT_WITH_PATIENT = "only a device withPatient at a customer site can be disassociated"


def fetch(api: Api, key: str, device: int) -> dict[str, Any]:
    return ok(api.get(f"{DEVICES}/{device}", key=key))


@pytest.mark.parametrize(
    "body",
    [
        {"deviceIdentifier": "IMEI-2", "patientId": DEMO_PATIENT},
        {"deviceIdentifier": "IMEI-2", "patientExternalIdentifier": "demo-1234"},
    ],
    ids=["patient id", "patient external identifier"],
)
def test_device_with_the_patient_goes_back_to_its_site(
    api: Api, key: str, body: dict[str, Any]
) -> None:
    devices = fleet(api)

    device = ok(api.patch(DISASSOCIATE, key=key, json=body))

    assert device["id"] == devices.with_patient
    assert device["currentStatus"] == "availableAtSite"
    assert device["currentPatient"] is None
    assert device["site"]["id"] == DEMO_SITE
    assert events(device) == ["received", "disassociated"]
    assert fetch(api, key, devices.with_patient) == device
    assert ok(api.get(f"{DEVICES}?patientId={DEMO_PATIENT}", key=key))["content"] == []


def test_device_moves_between_patients_and_keeps_its_whole_history(api: Api, key: str) -> None:
    devices = fleet(api)
    second = create_patient(api, key, externalIdentifier="p-2")["id"]
    by_id = {"deviceId": devices.with_patient}

    ok(api.patch(DISASSOCIATE, key=key, json=by_id | {"patientId": DEMO_PATIENT}))
    ok(api.patch(ASSOCIATE, key=key, json=by_id | {"patientExternalIdentifier": "p-2"}))
    device = ok(api.patch(DISASSOCIATE, key=key, json=by_id | {"patientId": second}))

    assert events(device) == ["received", "disassociated", "associated", "disassociated"]
    stamps = [e["eventTimestamp"] for e in device["deviceEvents"]]
    assert stamps == sorted(stamps)
    assert (device["currentStatus"], device["currentPatient"]) == ("availableAtSite", None)


def test_device_with_another_patient_is_not_taken_back(api: Api, key: str) -> None:
    devices = fleet(api)
    second = create_patient(api, key, externalIdentifier="p-2")["id"]
    before = fetch(api, key, devices.with_patient)

    response = api.patch(
        DISASSOCIATE, key=key, json={"deviceId": devices.with_patient, "patientId": second}
    )

    body = assert_problem(
        response,
        409,
        "device_not_with_patient",
        f"device {devices.with_patient} is not with patient {second}",
    )
    assert body["currentStatus"] == "withPatient"
    assert fetch(api, key, devices.with_patient) == before


@pytest.mark.parametrize("status", [s for s in DeviceStatus if s is not DeviceStatus.WITH_PATIENT])
def test_device_in_any_other_status_cannot_be_disassociated(
    api: Api, key: str, status: DeviceStatus
) -> None:
    devices = fleet(api)
    hand_over(api, devices.with_patient, status=status, patient_id=DEMO_PATIENT)
    before = fetch(api, key, devices.with_patient)

    response = api.patch(
        DISASSOCIATE, key=key, json={"deviceId": devices.with_patient, "patientId": DEMO_PATIENT}
    )

    body = assert_problem(
        response,
        409,
        "device_not_with_patient",
        f"device {devices.with_patient} is {status.value}; {NOT_WITH_PATIENT}",
    )
    assert body["currentStatus"] == status.value
    assert fetch(api, key, devices.with_patient) == before


def test_device_with_the_patient_but_at_no_customer_site_cannot_be_disassociated(
    api: Api, key: str
) -> None:
    devices = fleet(api)
    hand_over(
        api,
        devices.with_patient,
        status=DeviceStatus.WITH_PATIENT,
        site_id=None,
        patient_id=DEMO_PATIENT,
    )
    before = fetch(api, key, devices.with_patient)

    response = api.patch(
        DISASSOCIATE, key=key, json={"deviceId": devices.with_patient, "patientId": DEMO_PATIENT}
    )

    assert_problem(
        response,
        409,
        "device_not_with_patient",
        f"device {devices.with_patient} is withPatient and at no customer site; {NOT_WITH_PATIENT}",
    )
    assert fetch(api, key, devices.with_patient) == before


def test_another_customers_device_and_patient_behave_as_unknown_ones(
    api: Api, key: str, other_key: str
) -> None:
    devices = fleet(api)
    hand_over(
        api,
        devices.other,
        customer="Riverside Cardiology",
        status=DeviceStatus.WITH_PATIENT,
        site_id=5678,
        patient_id=OTHER_PATIENT,
    )

    foreign_device = api.patch(
        DISASSOCIATE, key=key, json={"deviceIdentifier": "IMEI-4", "patientId": DEMO_PATIENT}
    )
    foreign_patient = api.patch(
        DISASSOCIATE, key=key, json={"deviceId": devices.with_patient, "patientId": OTHER_PATIENT}
    )
    from_outside = api.patch(
        DISASSOCIATE, key=other_key, json={"deviceIdentifier": "IMEI-2", "patientId": DEMO_PATIENT}
    )

    assert_problem(foreign_device, 404, "not_found", "device with identifier 'IMEI-4' not found")
    body = assert_problem(
        foreign_patient, 400, "unknown_patient", f"patient {OTHER_PATIENT} not found"
    )
    assert body["errors"] == [
        {"field": "patientId", "message": f"patient {OTHER_PATIENT} not found"}
    ]
    assert_problem(from_outside, 404, "not_found", "device with identifier 'IMEI-2' not found")
    assert fetch(api, other_key, devices.other)["currentStatus"] == "withPatient"
    assert fetch(api, key, devices.with_patient)["currentStatus"] == "withPatient"


def test_warehouse_device_is_404(api: Api, key: str) -> None:
    devices = fleet(api)

    response = api.patch(
        DISASSOCIATE, key=key, json={"deviceId": devices.in_stock, "patientId": DEMO_PATIENT}
    )

    assert_problem(response, 404, "not_found", f"device {devices.in_stock} not found")
