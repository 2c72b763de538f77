"""Every create, change and read of a patient leaves exactly one audit entry, in the request's
own transaction, naming the caller, the request and the record, and never a field's value."""

from __future__ import annotations

import json

from tests.api.patients_support import patient_body
from tests.audit.support import (
    CUSTOMER_PREFIX,
    DEMO_PATIENT,
    PATIENTS,
    account_id,
    audited,
    entries_after,
    expected,
    last_entry_id,
    without_id_and_time,
)
from tests.conftest import Api

NEW_NAME = "Oksana"
NEW_EMAIL = "oksana.quill@example.com"


def test_creating_a_patient_writes_one_create_entry(api: Api, key: str) -> None:
    response, entry = audited(api, key, "POST", PATIENTS, json=patient_body(lastName="Quill"))

    assert without_id_and_time(entry) == expected(
        response,
        action="patient.create",
        resource_type="patient",
        account=account_id(api),
        prefix=CUSTOMER_PREFIX,
        resource_id=response.json()["id"],
    )


def test_fetching_a_patient_by_id_identifier_or_email_writes_a_read_entry(
    api: Api, key: str
) -> None:
    created = api.post(
        PATIENTS,
        key=key,
        json=patient_body(externalIdentifier="mrn-77", email="lookup@example.com"),
    ).json()
    for method, path, body in (
        ("GET", f"{PATIENTS}/{created['id']}", None),
        ("GET", f"{PATIENTS}/identifier/mrn-77", None),
        ("POST", f"{PATIENTS}/email", {"email": "lookup@example.com"}),
    ):
        response, entry = audited(api, key, method, path, json=body)

        assert without_id_and_time(entry) == expected(
            response,
            action="patient.read",
            resource_type="patient",
            account=account_id(api),
            prefix=CUSTOMER_PREFIX,
            resource_id=created["id"],
        )


def test_listing_patients_names_exactly_the_patients_returned(api: Api, key: str) -> None:
    second = api.post(PATIENTS, key=key, json=patient_body(lastName="Second")).json()["id"]
    third = api.post(PATIENTS, key=key, json=patient_body(lastName="Third")).json()["id"]

    response, entry = audited(api, key, "GET", f"{PATIENTS}?size=2&sortDescending=true")

    assert [p["id"] for p in response.json()["content"]] == [third, second]
    assert without_id_and_time(entry) == expected(
        response,
        action="patient.list",
        resource_type="patient",
        account=account_id(api),
        prefix=CUSTOMER_PREFIX,
        resource_ids=[third, second],
    )


def test_an_empty_patient_list_is_audited_with_no_records(api: Api, key: str) -> None:
    response, entry = audited(api, key, "GET", f"{PATIENTS}?name=nobody-at-all")

    assert entry["action"] == "patient.list"
    assert entry["resourceIds"] == []
    assert entry["requestId"] == response.headers["x-request-id"]


def test_replacing_a_patient_names_only_the_fields_whose_value_changed(api: Api, key: str) -> None:
    created = api.post(PATIENTS, key=key, json=patient_body(email="old@example.com")).json()
    body = patient_body(firstName=NEW_NAME, email=NEW_EMAIL)
    body["address"]["city"] = "Boise"

    response, entry = audited(api, key, "PUT", f"{PATIENTS}/{created['id']}", json=body)

    assert without_id_and_time(entry) == expected(
        response,
        action="patient.update",
        resource_type="patient",
        account=account_id(api),
        prefix=CUSTOMER_PREFIX,
        resource_id=created["id"],
        changed=["address.city", "email", "firstName"],
    )


def test_patching_a_patient_names_changed_fields_and_never_their_values(api: Api, key: str) -> None:
    current = api.get(f"{PATIENTS}/{DEMO_PATIENT}", key=key).json()
    # lastName is sent with the value it already has: not a change.
    body = {
        "firstName": NEW_NAME,
        "lastName": current["lastName"],
        "email": NEW_EMAIL,
        "site": None,
    }

    response, entry = audited(api, key, "PATCH", f"{PATIENTS}/{DEMO_PATIENT}", json=body)

    assert entry["action"] == "patient.update"
    assert entry["resourceId"] == DEMO_PATIENT
    assert entry["changedFields"] == ["email", "firstName", "site"]
    assert entry["requestId"] == response.headers["x-request-id"]
    written = json.dumps(entry)
    assert NEW_NAME not in written
    assert NEW_EMAIL not in written


def test_a_patch_that_changes_nothing_is_audited_with_no_changed_fields(api: Api, key: str) -> None:
    current = api.get(f"{PATIENTS}/{DEMO_PATIENT}", key=key).json()

    _, entry = audited(
        api, key, "PATCH", f"{PATIENTS}/{DEMO_PATIENT}", json={"firstName": current["firstName"]}
    )

    assert (entry["action"], entry["changedFields"]) == ("patient.update", [])


def test_invalid_input_leaves_no_entry(api: Api, key: str) -> None:
    before = last_entry_id(api)

    response = api.patch(f"{PATIENTS}/{DEMO_PATIENT}", key=key, json={"firstName": None})

    assert response.status_code == 400
    assert entries_after(api, before) == []
