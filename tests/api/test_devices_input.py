"""Bad request bodies on the device endpoints: a 400 naming every bad field, nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.devices_support import (
    ASSOCIATE,
    DEMO_PATIENT,
    DEVICES,
    DISABLE,
    DISASSOCIATE,
    ENABLE,
    fleet,
    ok,
)
from tests.api.patients_support import assert_invalid
from tests.conftest import Api, assert_problem

DEVICE_REQUIRED = ("deviceId", "deviceId or deviceIdentifier is required")
PATIENT_REQUIRED = ("patientId", "patientId or patientExternalIdentifier is required")
BOTH_DEVICES = "give deviceId or deviceIdentifier, not both"
BOTH_PATIENTS = "give patientId or patientExternalIdentifier, not both"
NOT_AN_OBJECT = "Input should be a valid dictionary or object to extract fields from"


@pytest.mark.parametrize("path", [ASSOCIATE, DISASSOCIATE])
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, [DEVICE_REQUIRED, PATIENT_REQUIRED]),
        ({"deviceId": None, "patientId": None}, [DEVICE_REQUIRED, PATIENT_REQUIRED]),
        ({"deviceId": 1}, [PATIENT_REQUIRED]),
        ({"patientExternalIdentifier": "demo-1234"}, [DEVICE_REQUIRED]),
        (
            {
                "deviceId": 1,
                "deviceIdentifier": "IMEI-1",
                "patientId": DEMO_PATIENT,
                "patientExternalIdentifier": "demo-1234",
            },
            [
                ("deviceId", BOTH_DEVICES),
                ("deviceIdentifier", BOTH_DEVICES),
                ("patientId", BOTH_PATIENTS),
                ("patientExternalIdentifier", BOTH_PATIENTS),
            ],
        ),
        (
            {"deviceIdentifier": " ", "patientExternalIdentifier": ""},
            [
                ("deviceIdentifier", "must not be blank"),
                ("patientExternalIdentifier", "must not be blank"),
            ],
        ),
        (
            {"deviceId": "1", "patientId": True},
            [
                ("deviceId", "Input should be a valid integer"),
                ("patientId", "Input should be a valid integer"),
            ],
        ),
        (
            {"deviceId": 0, "patientId": 2**63},
            [
                ("deviceId", "Input should be greater than or equal to 1"),
                ("patientId", "Input should be less than or equal to 9223372036854775807"),
            ],
        ),
        (
            {"deviceIdentifier": "x" * 201, "patientExternalIdentifier": "a\x00"},
            [
                ("deviceIdentifier", "String should have at most 200 characters"),
                ("patientExternalIdentifier", "Value error, must not contain NUL characters"),
            ],
        ),
        ({"deviceId": 1, "patientId": 1234, "patient": {"id": 1}}, [("patient", "unknown field")]),
        ([{"deviceId": 1}], [("body", NOT_AN_OBJECT)]),
        (None, [("body", "is required")]),
    ],
    ids=[
        "empty",
        "nulls",
        "no patient",
        "no device",
        "both of each",
        "blank",
        "wrong types",
        "out of range",
        "too long and NUL",
        "unknown field",
        "array",
        "no body",
    ],
)
def test_bad_association_body_is_400_naming_every_field_and_changes_nothing(
    api: Api, key: str, path: str, body: Any, errors: list[tuple[str, str]]
) -> None:
    devices = fleet(api)
    before = [
        ok(api.get(f"{DEVICES}/{d}", key=key)) for d in (devices.at_site, devices.with_patient)
    ]

    assert_invalid(api.patch(path, key=key, json=body), errors)

    after = [
        ok(api.get(f"{DEVICES}/{d}", key=key)) for d in (devices.at_site, devices.with_patient)
    ]
    assert after == before


@pytest.mark.parametrize("path", [DISABLE, ENABLE])
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, [DEVICE_REQUIRED]),
        (
            {"deviceId": 1, "deviceIdentifier": "IMEI-1"},
            [("deviceId", BOTH_DEVICES), ("deviceIdentifier", BOTH_DEVICES)],
        ),
        ({"deviceIdentifier": "  "}, [("deviceIdentifier", "must not be blank")]),
        ({"deviceId": 1, "patientId": DEMO_PATIENT}, [("patientId", "unknown field")]),
        ({"deviceId": 1.5}, [("deviceId", "Input should be a valid integer")]),
    ],
    ids=["empty", "both", "blank", "patient is no field here", "fraction"],
)
def test_bad_device_reference_is_400_naming_every_field_and_changes_nothing(
    api: Api, key: str, path: str, body: dict[str, Any], errors: list[tuple[str, str]]
) -> None:
    devices = fleet(api)
    before = ok(api.get(f"{DEVICES}/{devices.at_site}", key=key))

    assert_invalid(api.patch(path, key=key, json=body), errors)

    assert ok(api.get(f"{DEVICES}/{devices.at_site}", key=key)) == before


@pytest.mark.parametrize("path", [ASSOCIATE, DISASSOCIATE, DISABLE, ENABLE])
def test_body_that_is_not_json_is_400(api: Api, key: str, path: str) -> None:
    response = api.patch(
        path, key=key, content=b'{"deviceId": 1', headers={"Content-Type": "application/json"}
    )

    body = assert_problem(response, 400, "invalid_request")
    assert [e["message"] for e in body["errors"]] == ["the body is not valid JSON"]
