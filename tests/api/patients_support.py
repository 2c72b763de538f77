"""Small factories and assertions shared by the patient and site HTTP-contract tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api, assert_problem

PATIENTS = "/api/v3/patient"
SITES = "/api/v3/site"
DEMO_PATIENT = 1234  # belongs to the demo customer (`key`), at site 1234
DEMO_SITE = 1234
OTHER_PATIENT = 5678  # belongs to the second customer (`other_key`), at site 5678
OTHER_SITE = 5678

ADDRESS: dict[str, Any] = {
    "lineOne": "1 Elm Street",
    "lineTwo": "Suite 2",
    "lineThree": "Building C",
    "city": "Portland",
    "state": "OR",
    "zipCode": "97201",
    "country": "US",
    "note": "Leave at the front desk",
}
MINIMAL_ADDRESS: dict[str, Any] = {
    "lineOne": "9 Oak Road",
    "city": "Austin",
    "state": "TX",
    "zipCode": "73301",
    "country": "US",
}
EMPTY_ADDRESS_EXTRAS = {"lineTwo": None, "lineThree": None, "note": None}


def patient_body(**fields: Any) -> dict[str, Any]:
    """The smallest valid patient body, with ``fields`` added or replaced."""
    return {"firstName": "Jane", "lastName": "Roe", "address": dict(MINIMAL_ADDRESS)} | fields


def create_patient(api: Api, key: str, **fields: Any) -> dict[str, Any]:
    """Create a patient through the API and return its JSON."""
    response = api.post(PATIENTS, key=key, json=patient_body(**fields))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def create_site(api: Api, key: str, **fields: Any) -> dict[str, Any]:
    """Create a site through the API and return its JSON."""
    response = api.post(SITES, key=key, json={"name": "North Clinic"} | fields)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_invalid(response: Any, errors: list[tuple[str, str]]) -> None:
    """Assert a 400 ``invalid_request`` naming exactly these fields, in order, at once."""
    summary = "; ".join(f"{field}: {message}" for field, message in errors[:5])
    body = assert_problem(response, 400, "invalid_request", f"invalid request: {summary}")
    assert [(e["field"], e["message"]) for e in body["errors"]] == errors


def assert_not_found(response: Any, message: str) -> None:
    """Assert the plain 404 that unknown and foreign resources share."""
    body = assert_problem(response, 404, "not_found", message)
    assert body["errors"] == []


def ids(response: Any) -> list[int]:
    """The ids on one page of a list response (asserting the list succeeded)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return [row["id"] for row in response.json()["content"]]
