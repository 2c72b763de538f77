"""PATCH /api/v3/patient/{patientId}: only the fields present change."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.patients_support import (
    ADDRESS,
    DEMO_PATIENT,
    OTHER_SITE,
    PATIENTS,
    assert_invalid,
    assert_not_found,
    create_patient,
    create_site,
)
from tests.conftest import Api, assert_problem

FULL: dict[str, Any] = {
    "externalIdentifier": "full-1",
    "dateOfBirth": "1975-05-05",
    "email": "full@example.com",
    "phoneNumber": "111-222-3333",
    "sex": "female",
    "address": ADDRESS,
    "site": {"id": 1234},
}


@pytest.fixture
def patient(api: Api, key: str) -> dict[str, Any]:
    """A patient with every optional field filled in."""
    return create_patient(api, key, **FULL)


def fetch(api: Api, key: str, patient_id: int) -> dict[str, Any]:
    response = api.get(f"{PATIENTS}/{patient_id}", key=key)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def patch(api: Api, key: str, patient_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """PATCH and assert success; returns the response body, which a later fetch must match."""
    response = api.patch(f"{PATIENTS}/{patient_id}", key=key, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    result: dict[str, Any] = response.json()
    assert fetch(api, key, patient_id) == result
    return result


def same_except(before: dict[str, Any], after: dict[str, Any], *changed: str) -> None:
    """Every field but ``changed`` (and updatedAt) kept its value."""
    keep = set(before) - {*changed, "updatedAt"}
    assert {k: after[k] for k in keep} == {k: before[k] for k in keep}


@pytest.mark.parametrize(
    ("body", "changed"),
    [
        ({"firstName": "Janet"}, {"firstName": "Janet"}),
        ({"lastName": "Doe"}, {"lastName": "Doe"}),
        ({"archived": True}, {"archived": True}),
        ({"enrolled": False}, {"enrolled": False}),
        ({"sex": "male"}, {"sex": "male"}),
        ({"dateOfBirth": "2001-02-03"}, {"dateOfBirth": "2001-02-03"}),
        ({"email": "new@example.com"}, {"email": "new@example.com"}),
        ({"phoneNumber": "+44 20 7946 0000"}, {"phoneNumber": "+44 20 7946 0000"}),
        ({"externalIdentifier": "new-1"}, {"externalIdentifier": "new-1"}),
    ],
)
def test_patch_changes_only_the_fields_present(
    api: Api, key: str, patient: dict[str, Any], body: dict[str, Any], changed: dict[str, Any]
) -> None:
    after = patch(api, key, patient["id"], body)

    assert {k: after[k] for k in changed} == changed
    same_except(patient, after, *changed)
    assert after["updatedAt"] > patient["updatedAt"]


def test_patch_moves_the_patient_to_another_site(
    api: Api, key: str, patient: dict[str, Any]
) -> None:
    site = create_site(api, key, name="West Clinic", active=False)

    after = patch(api, key, patient["id"], {"site": {"id": site["id"], "name": "ignored"}})

    assert after["site"] == {"id": site["id"], "name": "West Clinic", "active": False}
    same_except(patient, after, "site")


def test_patch_merges_address_fields(api: Api, key: str, patient: dict[str, Any]) -> None:
    after = patch(api, key, patient["id"], {"address": {"city": "Salem", "note": "Back door"}})

    assert after["address"] == {**ADDRESS, "city": "Salem", "note": "Back door"}
    same_except(patient, after, "address")


@pytest.mark.parametrize(
    "field", ["externalIdentifier", "dateOfBirth", "email", "phoneNumber", "sex", "site"]
)
def test_patch_null_clears_an_optional_field(
    api: Api, key: str, patient: dict[str, Any], field: str
) -> None:
    after = patch(api, key, patient["id"], {field: None})

    assert after[field] is None
    same_except(patient, after, field)


def test_patch_null_clears_optional_address_lines(
    api: Api, key: str, patient: dict[str, Any]
) -> None:
    body = {"address": {"lineTwo": None, "lineThree": None, "note": None}}

    after = patch(api, key, patient["id"], body)

    assert after["address"] == {**ADDRESS, "lineTwo": None, "lineThree": None, "note": None}


def test_patch_with_empty_body_changes_nothing(api: Api, key: str, patient: dict[str, Any]) -> None:
    assert patch(api, key, patient["id"], {}) == patient


@pytest.mark.parametrize("body_id", [None, "same"])
def test_patch_accepts_a_matching_or_absent_id(
    api: Api, key: str, patient: dict[str, Any], body_id: str | None
) -> None:
    body = {"firstName": "Janet"} | ({"id": patient["id"]} if body_id else {})

    assert patch(api, key, patient["id"], body)["firstName"] == "Janet"


def test_patch_with_another_id_in_the_body_is_400(
    api: Api, key: str, patient: dict[str, Any]
) -> None:
    response = api.patch(f"{PATIENTS}/{patient['id']}", key=key, json={"id": DEMO_PATIENT})

    body = assert_problem(
        response, 400, "id_mismatch", "id in the body does not match the id in the path"
    )
    assert body["errors"] == [{"field": "id", "message": "does not match the id in the path"}]
    assert fetch(api, key, patient["id"]) == patient


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"firstName": None, "lastName": None, "archived": None, "enrolled": None},
            [
                ("firstName", "cannot be null"),
                ("lastName", "cannot be null"),
                ("archived", "cannot be null"),
                ("enrolled", "cannot be null"),
            ],
        ),
        ({"address": None, "sex": None}, [("address", "cannot be null")]),
        (
            {"lastName": None, "address": {"lineOne": None, "zipCode": None, "note": None}},
            [
                ("lastName", "cannot be null"),
                ("address.lineOne", "cannot be null"),
                ("address.zipCode", "cannot be null"),
            ],
        ),
        ({"address": {"city": ""}}, [("address.city", "String should have at least 1 character")]),
        ({"archived": "yes"}, [("archived", "Input should be a valid boolean")]),
        ({"site": {"id": "1"}}, [("site.id", "Input should be a valid integer")]),
        ({"dateOfBirth": 0}, [("dateOfBirth", "Value error, must be a date written YYYY-MM-DD")]),
        ({"sex": "M"}, [("sex", "Input should be 'other', 'female', 'male' or 'unknown'")]),
        ({"nickname": "J"}, [("nickname", "unknown field")]),
        ({"address": {"postcode": "1"}}, [("address.postcode", "unknown field")]),
    ],
)
def test_patch_with_bad_fields_names_them_all_and_changes_nothing(
    api: Api, key: str, patient: dict[str, Any], body: dict[str, Any], errors: list[Any]
) -> None:
    assert_invalid(api.patch(f"{PATIENTS}/{patient['id']}", key=key, json=body), errors)
    assert fetch(api, key, patient["id"]) == patient


def test_patch_on_unknown_patient_is_404(api: Api, key: str) -> None:
    assert_not_found(
        api.patch(f"{PATIENTS}/999999", key=key, json={"firstName": "X"}),
        "patient 999999 not found",
    )


@pytest.mark.parametrize("site_id", [999_999, OTHER_SITE])
def test_patch_referencing_unknown_or_foreign_site_is_400(
    api: Api, key: str, patient: dict[str, Any], site_id: int
) -> None:
    response = api.patch(
        f"{PATIENTS}/{patient['id']}", key=key, json={"site": {"id": site_id}, "lastName": "Z"}
    )

    body = assert_problem(response, 400, "unknown_site", f"site {site_id} not found")
    assert body["errors"] == [{"field": "site.id", "message": f"site {site_id} not found"}]
    assert fetch(api, key, patient["id"]) == patient


def test_patch_taking_another_patients_external_identifier_is_409(
    api: Api, key: str, patient: dict[str, Any]
) -> None:
    response = api.patch(
        f"{PATIENTS}/{patient['id']}",
        key=key,
        json={"externalIdentifier": "demo-1234", "firstName": "Janet"},
    )

    assert_problem(
        response,
        409,
        "duplicate_external_identifier",
        "another patient of this account already has this externalIdentifier",
    )
    assert fetch(api, key, patient["id"]) == patient
