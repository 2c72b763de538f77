"""A customer never reads, lists, changes or references another customer's patients or sites."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.patients_support import (
    DEMO_PATIENT,
    DEMO_SITE,
    OTHER_PATIENT,
    PATIENTS,
    assert_not_found,
    create_patient,
    ids,
    patient_body,
)
from tests.conftest import Api, assert_problem

UNKNOWN = 999_999


def fetch(api: Api, key: str, patient_id: int) -> dict[str, Any]:
    response = api.get(f"{PATIENTS}/{patient_id}", key=key)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def problem_shape(response: Any, patient_id: int) -> dict[str, Any]:
    """A 404 body with everything that names the request itself taken out."""
    body = assert_problem(response, 404, "not_found", f"patient {patient_id} not found")
    return {
        k: v for k, v in body.items() if k not in ("detail", "message", "instance", "requestId")
    }


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PUT", patient_body(firstName="Mallory")), ("PATCH", {"firstName": "M"})],
)
def test_another_customers_patient_answers_exactly_like_an_unknown_one(
    api: Api, key: str, other_key: str, method: str, body: dict[str, Any] | None
) -> None:
    before = fetch(api, key, DEMO_PATIENT)

    foreign = api.request(method, f"{PATIENTS}/{DEMO_PATIENT}", key=other_key, json=body)
    unknown = api.request(method, f"{PATIENTS}/{UNKNOWN}", key=other_key, json=body)

    assert problem_shape(foreign, DEMO_PATIENT) == problem_shape(unknown, UNKNOWN)
    assert foreign.headers["content-type"] == unknown.headers["content-type"]
    assert fetch(api, key, DEMO_PATIENT) == before


def test_each_customer_sees_only_its_own_patient_by_id(api: Api, key: str, other_key: str) -> None:
    assert fetch(api, other_key, OTHER_PATIENT)["firstName"] == "Sam"
    assert_not_found(api.get(f"{PATIENTS}/{OTHER_PATIENT}", key=key), "patient 5678 not found")


def test_another_customers_external_identifier_is_not_found(api: Api, other_key: str) -> None:
    assert_not_found(
        api.get(f"{PATIENTS}/identifier/demo-1234", key=other_key),
        "patient with external identifier 'demo-1234' not found",
    )


def test_another_customers_email_is_not_found(api: Api, other_key: str) -> None:
    response = api.post(f"{PATIENTS}/email", key=other_key, json={"email": "alex.demo@example.com"})

    assert_not_found(response, "patient with this email not found")


def test_lookups_return_the_callers_patient_when_both_share_identifier_and_email(
    api: Api, key: str, other_key: str
) -> None:
    mine = create_patient(api, key, externalIdentifier="shared", email="same@example.com")
    theirs = create_patient(api, other_key, externalIdentifier="shared", email="same@example.com")

    for caller, expected in ((key, mine), (other_key, theirs)):
        by_identifier = api.get(f"{PATIENTS}/identifier/shared", key=caller)
        by_email = api.post(f"{PATIENTS}/email", key=caller, json={"email": "same@example.com"})
        assert by_identifier.json() == expected
        assert by_email.json() == expected


@pytest.mark.parametrize(
    "query",
    [
        "",
        f"id={DEMO_PATIENT}&id={OTHER_PATIENT}",
        f"siteId={DEMO_SITE}",
        "externalIdentifier=demo-1234",
        "email=alex.demo@example.com",
        "name=alex",
        "postalCode=62701",
        "sort=lastName&sortDescending=true&size=250",
    ],
)
def test_lists_never_include_another_customers_patients(
    api: Api, other_key: str, query: str
) -> None:
    response = api.get(f"{PATIENTS}?{query}", key=other_key)

    assert DEMO_PATIENT not in ids(response)
    assert response.json()["total"] == len(ids(response))
    assert set(ids(response)) <= {OTHER_PATIENT}


def test_list_counts_only_the_callers_patients(api: Api, key: str, other_key: str) -> None:
    create_patient(api, key)

    assert ids(api.get(PATIENTS, key=other_key)) == [OTHER_PATIENT]
    assert api.get(PATIENTS, key=other_key).json()["total"] == 1
    assert api.get(PATIENTS, key=key).json()["total"] == 2


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", PATIENTS, patient_body(site={"id": DEMO_SITE})),
        ("PUT", f"{PATIENTS}/{OTHER_PATIENT}", patient_body(site={"id": DEMO_SITE})),
        ("PATCH", f"{PATIENTS}/{OTHER_PATIENT}", {"site": {"id": DEMO_SITE}}),
    ],
)
def test_referencing_another_customers_site_is_400_on_site_id(
    api: Api, other_key: str, method: str, path: str, body: dict[str, Any]
) -> None:
    before = fetch(api, other_key, OTHER_PATIENT)

    response = api.request(method, path, key=other_key, json=body)

    problem = assert_problem(response, 400, "unknown_site", f"site {DEMO_SITE} not found")
    assert problem["errors"] == [{"field": "site.id", "message": f"site {DEMO_SITE} not found"}]
    assert fetch(api, other_key, OTHER_PATIENT) == before
    assert api.get(PATIENTS, key=other_key).json()["total"] == 1
