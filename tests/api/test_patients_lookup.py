"""Fetching one patient (by id, external identifier or email), path ids and authentication."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.patients_support import (
    DEMO_PATIENT,
    PATIENTS,
    assert_invalid,
    assert_not_found,
    create_patient,
    patient_body,
)
from tests.conftest import Api, assert_problem

DEMO_PATIENT_BODY = {
    "id": DEMO_PATIENT,
    "externalIdentifier": "demo-1234",
    "firstName": "Alex",
    "lastName": "Demo",
    "dateOfBirth": "1960-04-02",
    "email": "alex.demo@example.com",
    "phoneNumber": "+1 217 555 0123",
    "archived": False,
    "enrolled": True,
    "sex": "unknown",
    "address": {
        "lineOne": "100 Main Street",
        "lineTwo": None,
        "lineThree": None,
        "city": "Springfield",
        "state": "IL",
        "zipCode": "62701",
        "country": "US",
        "note": None,
    },
    "site": {"id": 1234, "name": "Demo Clinic Main Office", "active": True},
}


def without_timestamps(body: dict[str, Any]) -> dict[str, Any]:
    assert {"createdAt", "updatedAt"} <= set(body)
    return {k: v for k, v in body.items() if k not in ("createdAt", "updatedAt")}


def test_patient_is_fetched_by_id(api: Api, key: str) -> None:
    response = api.get(f"{PATIENTS}/{DEMO_PATIENT}", key=key)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert without_timestamps(response.json()) == DEMO_PATIENT_BODY


def test_unknown_patient_id_is_404(api: Api, key: str) -> None:
    assert_not_found(api.get(f"{PATIENTS}/999999", key=key), "patient 999999 not found")


def test_largest_64_bit_id_is_valid_but_unknown(api: Api, key: str) -> None:
    largest = 2**63 - 1
    assert_not_found(api.get(f"{PATIENTS}/{largest}", key=key), f"patient {largest} not found")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH"])
@pytest.mark.parametrize(
    ("path_id", "message"),
    [
        ("0", "Input should be greater than or equal to 1"),
        ("-1", "Input should be greater than or equal to 1"),
        ("abc", "Input should be a valid integer, unable to parse string as an integer"),
        ("1.5", "Input should be a valid integer, unable to parse string as an integer"),
        (str(2**63), "Input should be less than or equal to 9223372036854775807"),
    ],
)
def test_bad_patient_path_id_is_400(
    api: Api, key: str, method: str, path_id: str, message: str
) -> None:
    body = patient_body() if method == "PUT" else {}
    response = api.request(method, f"{PATIENTS}/{path_id}", key=key, json=body)

    assert_invalid(response, [("patientId", message)])


def test_patient_is_fetched_by_external_identifier(api: Api, key: str) -> None:
    response = api.get(f"{PATIENTS}/identifier/demo-1234", key=key)

    assert response.status_code == 200
    assert without_timestamps(response.json()) == DEMO_PATIENT_BODY


def test_external_identifier_with_slash_and_space_is_found_when_encoded(api: Api, key: str) -> None:
    created = create_patient(api, key, externalIdentifier="mrn/42 b")

    response = api.get(f"{PATIENTS}/identifier/mrn%2F42%20b", key=key)

    assert response.status_code == 200, response.text
    assert response.json() == created


@pytest.mark.parametrize("identifier", ["nope", "DEMO-1234", "demo-123"])
def test_unknown_external_identifier_is_404(api: Api, key: str, identifier: str) -> None:
    assert_not_found(
        api.get(f"{PATIENTS}/identifier/{identifier}", key=key),
        f"patient with external identifier '{identifier}' not found",
    )


def test_patient_is_fetched_by_email_case_insensitively(api: Api, key: str) -> None:
    response = api.post(f"{PATIENTS}/email", key=key, json={"email": "ALEX.Demo@Example.COM"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert without_timestamps(response.json()) == DEMO_PATIENT_BODY


def test_email_shared_by_two_patients_finds_the_oldest(api: Api, key: str) -> None:
    first = create_patient(api, key, email="twin@example.com")
    create_patient(api, key, email="Twin@example.com")

    response = api.post(f"{PATIENTS}/email", key=key, json={"email": "twin@example.com"})

    assert response.json()["id"] == first["id"]


def test_email_without_patient_is_404(api: Api, key: str) -> None:
    response = api.post(f"{PATIENTS}/email", key=key, json={"email": "nobody@example.com"})

    assert_not_found(response, "patient with this email not found")


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, [("email", "is required")]),
        ({"email": None}, [("email", "Input should be a valid string")]),
        (
            {"email": "alex.demo"},
            [
                (
                    "email",
                    "value is not a valid email address: An email address must have an @-sign.",
                )
            ],
        ),
        ({"email": "alex.demo@example.com", "name": "Alex"}, [("name", "unknown field")]),
    ],
)
def test_bad_email_lookup_body_is_400(
    api: Api, key: str, body: dict[str, Any], errors: list[tuple[str, str]]
) -> None:
    assert_invalid(api.post(f"{PATIENTS}/email", key=key, json=body), errors)


ENDPOINTS = [
    ("GET", PATIENTS),
    ("POST", PATIENTS),
    ("GET", f"{PATIENTS}/{DEMO_PATIENT}"),
    ("PUT", f"{PATIENTS}/{DEMO_PATIENT}"),
    ("PATCH", f"{PATIENTS}/{DEMO_PATIENT}"),
    ("GET", f"{PATIENTS}/identifier/demo-1234"),
    ("POST", f"{PATIENTS}/email"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    ("sent_key", "message"),
    [
        (None, "missing Impilo-API-Key header"),
        ("kd_not-a-real-key", "invalid, expired or deactivated API key"),
    ],
)
def test_patient_endpoints_need_a_valid_key(
    api: Api, key: str, method: str, path: str, sent_key: str | None, message: str
) -> None:
    body = {"email": "alex.demo@example.com"} if path.endswith("email") else patient_body()

    response = api.request(method, path, key=sent_key, json=body)

    problem = assert_problem(response, 401, "unauthorized", message)
    assert problem["errors"] == []
    assert response.headers["www-authenticate"] == "Impilo-API-Key"
    assert api.get(f"{PATIENTS}/{DEMO_PATIENT}", key=key).json()["firstName"] == "Alex"
