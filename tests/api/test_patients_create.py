"""POST /api/v3/patient: the response shape, required fields, types and references."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    create_patient,
    patient_body,
)
from tests.conftest import Api, assert_problem

FULL_PATIENT: dict[str, Any] = {
    "externalIdentifier": "ext-001",
    "firstName": "John",
    "lastName": "Doe",
    "dateOfBirth": "1980-01-01",
    "email": "john.doe@example.com",
    "phoneNumber": "+1234567890",
    "archived": True,
    "enrolled": False,
    "sex": "other",
    "address": ADDRESS,
    "site": {"id": DEMO_SITE},
}


def total(api: Api, key: str) -> int:
    response = api.get(PATIENTS, key=key)
    assert response.status_code == 200, response.text
    count: int = response.json()["total"]
    return count


def assert_recent_timestamp(value: str) -> None:
    assert value.endswith("Z")
    moment = datetime.fromisoformat(value)
    assert abs(datetime.now(UTC) - moment) < timedelta(minutes=5)


def test_created_patient_is_returned_whole_in_camel_case(api: Api, key: str) -> None:
    response = api.post(PATIENTS, key=key, json=FULL_PATIENT)

    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {*FULL_PATIENT, "id", "createdAt", "updatedAt"}
    assert isinstance(body["id"], int)
    assert body["id"] > 0
    assert {k: v for k, v in body.items() if k not in ("id", "createdAt", "updatedAt")} == {
        **FULL_PATIENT,
        "site": {"id": DEMO_SITE, "name": "Demo Clinic Main Office", "active": True},
    }
    assert_recent_timestamp(body["createdAt"])
    assert_recent_timestamp(body["updatedAt"])
    assert api.get(f"{PATIENTS}/{body['id']}", key=key).json() == body


def test_minimal_patient_gets_documented_defaults_and_nulls(api: Api, key: str) -> None:
    body = create_patient(api, key)

    assert body["archived"] is False
    assert body["enrolled"] is True
    for field in ("externalIdentifier", "dateOfBirth", "email", "phoneNumber", "sex", "site"):
        assert body[field] is None, field
    assert body["address"] == {**MINIMAL_ADDRESS, **EMPTY_ADDRESS_EXTRAS}


def test_id_in_create_body_is_ignored(api: Api, key: str) -> None:
    body = create_patient(api, key, id=DEMO_PATIENT, firstName="Second")

    assert body["id"] != DEMO_PATIENT
    assert api.get(f"{PATIENTS}/{DEMO_PATIENT}", key=key).json()["firstName"] == "Alex"


def test_every_missing_required_field_is_named_at_once(api: Api, key: str) -> None:
    assert_invalid(
        api.post(PATIENTS, key=key, json={}),
        [("firstName", "is required"), ("lastName", "is required"), ("address", "is required")],
    )


def test_every_missing_address_field_is_named_at_once(api: Api, key: str) -> None:
    response = api.post(PATIENTS, key=key, json={"address": {"lineTwo": "x"}})

    assert_invalid(
        response,
        [
            ("firstName", "is required"),
            ("lastName", "is required"),
            ("address.lineOne", "is required"),
            ("address.city", "is required"),
            ("address.state", "is required"),
            ("address.zipCode", "is required"),
            ("address.country", "is required"),
        ],
    )
    assert total(api, key) == 1


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"gender": "male"}, "gender"),
        ({"name": "Jane Roe"}, "name"),
        ({"address": {**MINIMAL_ADDRESS, "zip": "1"}}, "address.zip"),
        ({"site": {"id": DEMO_SITE, "code": "N"}}, "site.code"),
    ],
)
def test_unknown_fields_are_refused(api: Api, key: str, extra: dict[str, Any], field: str) -> None:
    assert_invalid(
        api.post(PATIENTS, key=key, json=patient_body(**extra)), [(field, "unknown field")]
    )
    assert total(api, key) == 1


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"archived": "yes"}, "archived", "Input should be a valid boolean"),
        ({"enrolled": 1}, "enrolled", "Input should be a valid boolean"),
        ({"site": {"id": "1"}}, "site.id", "Input should be a valid integer"),
        ({"site": {"id": True}}, "site.id", "Input should be a valid integer"),
        (
            {"site": DEMO_SITE},
            "site",
            "Input should be a valid dictionary or object to extract fields from",
        ),
        ({"firstName": 5}, "firstName", "Input should be a valid string"),
        ({"phoneNumber": 5551234}, "phoneNumber", "Input should be a valid string"),
        ({"externalIdentifier": 7}, "externalIdentifier", "Input should be a valid string"),
        (
            {"address": "1 Elm Street"},
            "address",
            "Input should be a valid dictionary or object to extract fields from",
        ),
        (
            {"address": {**MINIMAL_ADDRESS, "zipCode": 97201}},
            "address.zipCode",
            "Input should be a valid string",
        ),
    ],
)
def test_wrong_types_are_400_never_422(
    api: Api, key: str, extra: dict[str, Any], field: str, message: str
) -> None:
    assert_invalid(api.post(PATIENTS, key=key, json=patient_body(**extra)), [(field, message)])


def test_unknown_sex_is_refused(api: Api, key: str) -> None:
    assert_invalid(
        api.post(PATIENTS, key=key, json=patient_body(sex="M")),
        [("sex", "Input should be 'other', 'female', 'male' or 'unknown'")],
    )


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("john.doe", "value is not a valid email address: An email address must have an @-sign."),
        ("john@", "value is not a valid email address: There must be something after the @-sign."),
    ],
)
def test_malformed_email_is_refused(api: Api, key: str, email: str, message: str) -> None:
    assert_invalid(
        api.post(PATIENTS, key=key, json=patient_body(email=email)), [("email", message)]
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("01-01-2000", "Value error, must be a date written YYYY-MM-DD"),
        ("1980-01-01T00:00:00Z", "Value error, must be a date written YYYY-MM-DD"),
        (315532800, "Value error, must be a date written YYYY-MM-DD"),
        (
            "1980-02-30",
            "Input should be a valid date or datetime, day value is outside expected range",
        ),
    ],
)
def test_date_of_birth_must_be_a_real_yyyy_mm_dd_date(
    api: Api, key: str, value: Any, message: str
) -> None:
    response = api.post(PATIENTS, key=key, json=patient_body(dateOfBirth=value))
    assert_invalid(response, [("dateOfBirth", message)])


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"firstName": ""}, "firstName", "String should have at least 1 character"),
        ({"lastName": "   "}, "lastName", "Value error, must not be blank"),
        (
            {"externalIdentifier": ""},
            "externalIdentifier",
            "String should have at least 1 character",
        ),
        (
            {"address": {**MINIMAL_ADDRESS, "city": " "}},
            "address.city",
            "Value error, must not be blank",
        ),
        ({"firstName": "x" * 201}, "firstName", "String should have at most 200 characters"),
        ({"firstName": "Ja\x00ne"}, "firstName", "Value error, must not contain NUL characters"),
    ],
)
def test_empty_blank_or_oversized_text_is_refused(
    api: Api, key: str, extra: dict[str, Any], field: str, message: str
) -> None:
    assert_invalid(api.post(PATIENTS, key=key, json=patient_body(**extra)), [(field, message)])


@pytest.mark.parametrize("site_id", [999_999, OTHER_SITE])
def test_site_reference_to_unknown_or_foreign_site_is_400_on_site_id(
    api: Api, key: str, site_id: int
) -> None:
    response = api.post(PATIENTS, key=key, json=patient_body(site={"id": site_id}))

    body = assert_problem(response, 400, "unknown_site", f"site {site_id} not found")
    assert body["errors"] == [{"field": "site.id", "message": f"site {site_id} not found"}]
    assert total(api, key) == 1


def test_site_reference_uses_only_the_id(api: Api, key: str) -> None:
    site = {"id": DEMO_SITE, "name": "Ignored", "active": False, "phoneNumber": "0", "address": {}}

    body = create_patient(api, key, site=site)

    assert body["site"] == {"id": DEMO_SITE, "name": "Demo Clinic Main Office", "active": True}


def test_duplicate_external_identifier_in_one_account_is_409(api: Api, key: str) -> None:
    response = api.post(PATIENTS, key=key, json=patient_body(externalIdentifier="demo-1234"))

    body = assert_problem(
        response,
        409,
        "duplicate_external_identifier",
        "another patient of this account already has this externalIdentifier",
    )
    assert body["errors"] == []
    assert total(api, key) == 1


def test_same_external_identifier_is_allowed_in_another_account(
    api: Api, key: str, other_key: str
) -> None:
    body = create_patient(api, other_key, externalIdentifier="demo-1234")

    assert body["externalIdentifier"] == "demo-1234"
    assert api.get(f"{PATIENTS}/identifier/demo-1234", key=key).json()["id"] == DEMO_PATIENT
    assert api.get(f"{PATIENTS}/identifier/demo-1234", key=other_key).json()["id"] == body["id"]


def test_patients_without_external_identifier_do_not_collide(api: Api, key: str) -> None:
    first = create_patient(api, key)
    second = create_patient(api, key, externalIdentifier=None)

    assert first["id"] != second["id"]
    assert total(api, key) == 3
