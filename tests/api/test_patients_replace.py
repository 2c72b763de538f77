"""PUT /api/v3/patient/{patientId}: a full replacement."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.patients_support import (
    ADDRESS,
    DEMO_PATIENT,
    DEMO_SITE,
    EMPTY_ADDRESS_EXTRAS,
    MINIMAL_ADDRESS,
    OTHER_SITE,
    PATIENTS,
    assert_invalid,
    assert_not_found,
    create_patient,
    patient_body,
)
from tests.conftest import Api, assert_problem

FULL: dict[str, Any] = {
    "externalIdentifier": "full-1",
    "firstName": "Full",
    "lastName": "Person",
    "dateOfBirth": "1975-05-05",
    "email": "full@example.com",
    "phoneNumber": "111-222-3333",
    "archived": True,
    "enrolled": False,
    "sex": "female",
    "address": ADDRESS,
    "site": {"id": DEMO_SITE},
}


def fetch(api: Api, key: str, patient_id: int) -> dict[str, Any]:
    response = api.get(f"{PATIENTS}/{patient_id}", key=key)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_put_replaces_every_field_and_clears_absent_optional_ones(api: Api, key: str) -> None:
    before = create_patient(api, key, **FULL)

    response = api.put(f"{PATIENTS}/{before['id']}", key=key, json=patient_body())

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    after = response.json()
    assert after == {
        "id": before["id"],
        "externalIdentifier": None,
        "firstName": "Jane",
        "lastName": "Roe",
        "dateOfBirth": None,
        "email": None,
        "phoneNumber": None,
        "archived": False,
        "enrolled": True,
        "sex": None,
        "address": {**MINIMAL_ADDRESS, **EMPTY_ADDRESS_EXTRAS},
        "site": None,
        "createdAt": before["createdAt"],
        "updatedAt": after["updatedAt"],
    }
    assert after["updatedAt"] > before["updatedAt"]
    assert fetch(api, key, before["id"]) == after


def test_put_sets_every_field_given(api: Api, key: str) -> None:
    response = api.put(f"{PATIENTS}/{DEMO_PATIENT}", key=key, json=FULL)

    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body[k] for k in FULL} == {
        **FULL,
        "site": {"id": DEMO_SITE, "name": "Demo Clinic Main Office", "active": True},
    }
    assert fetch(api, key, DEMO_PATIENT) == body


@pytest.mark.parametrize("body_id", [None, DEMO_PATIENT])
def test_put_accepts_a_matching_or_absent_id(api: Api, key: str, body_id: int | None) -> None:
    body = patient_body(firstName="Same") | ({"id": body_id} if body_id else {})

    response = api.put(f"{PATIENTS}/{DEMO_PATIENT}", key=key, json=body)

    assert response.status_code == 200, response.text
    assert response.json()["id"] == DEMO_PATIENT
    assert response.json()["firstName"] == "Same"


def test_put_with_another_id_in_the_body_is_400_and_changes_nothing(api: Api, key: str) -> None:
    before = fetch(api, key, DEMO_PATIENT)

    response = api.put(f"{PATIENTS}/{DEMO_PATIENT}", key=key, json=patient_body(id=1))

    body = assert_problem(
        response, 400, "id_mismatch", "id in the body does not match the id in the path"
    )
    assert body["errors"] == [{"field": "id", "message": "does not match the id in the path"}]
    assert fetch(api, key, DEMO_PATIENT) == before


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"firstName": "A", "lastName": "B"}, [("address", "is required")]),
        ({"address": MINIMAL_ADDRESS}, [("firstName", "is required"), ("lastName", "is required")]),
        (
            patient_body(address={"lineOne": "1 Elm Street", "country": "US"}),
            [
                ("address.city", "is required"),
                ("address.state", "is required"),
                ("address.zipCode", "is required"),
            ],
        ),
        (
            patient_body(address=None),
            [("address", "Input should be a valid dictionary or object to extract fields from")],
        ),
        (patient_body(archived="yes"), [("archived", "Input should be a valid boolean")]),
        (patient_body(site={"id": "1"}), [("site.id", "Input should be a valid integer")]),
        (patient_body(createdAt="2024-01-01T00:00:00Z"), [("createdAt", "unknown field")]),
    ],
)
def test_put_with_missing_or_bad_fields_is_400_and_changes_nothing(
    api: Api, key: str, body: dict[str, Any], errors: list[tuple[str, str]]
) -> None:
    before = fetch(api, key, DEMO_PATIENT)

    assert_invalid(api.put(f"{PATIENTS}/{DEMO_PATIENT}", key=key, json=body), errors)
    assert fetch(api, key, DEMO_PATIENT) == before


def test_put_on_unknown_patient_is_404(api: Api, key: str) -> None:
    assert_not_found(
        api.put(f"{PATIENTS}/999999", key=key, json=patient_body()), "patient 999999 not found"
    )


@pytest.mark.parametrize("site_id", [999_999, OTHER_SITE])
def test_put_referencing_unknown_or_foreign_site_is_400(api: Api, key: str, site_id: int) -> None:
    before = fetch(api, key, DEMO_PATIENT)

    response = api.put(
        f"{PATIENTS}/{DEMO_PATIENT}", key=key, json=patient_body(site={"id": site_id})
    )

    body = assert_problem(response, 400, "unknown_site", f"site {site_id} not found")
    assert body["errors"] == [{"field": "site.id", "message": f"site {site_id} not found"}]
    assert fetch(api, key, DEMO_PATIENT) == before


def test_put_taking_another_patients_external_identifier_is_409(api: Api, key: str) -> None:
    other = create_patient(api, key, externalIdentifier="taken")
    before = fetch(api, key, DEMO_PATIENT)

    response = api.put(
        f"{PATIENTS}/{DEMO_PATIENT}", key=key, json=patient_body(externalIdentifier="taken")
    )

    assert_problem(
        response,
        409,
        "duplicate_external_identifier",
        "another patient of this account already has this externalIdentifier",
    )
    assert fetch(api, key, DEMO_PATIENT) == before
    assert fetch(api, key, other["id"]) == other


def test_put_keeping_its_own_external_identifier_succeeds(api: Api, key: str) -> None:
    response = api.put(
        f"{PATIENTS}/{DEMO_PATIENT}", key=key, json=patient_body(externalIdentifier="demo-1234")
    )

    assert response.status_code == 200, response.text
    assert response.json()["externalIdentifier"] == "demo-1234"
