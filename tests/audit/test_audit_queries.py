"""The operator reads the trail: GET /api/v3/ops/audit (paged, filtered), `kitdesk audit list`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from kitdesk.domain.demo import OTHER_CUSTOMER
from tests.api.patients_support import patient_body
from tests.audit.support import (
    CUSTOMER_PREFIX,
    DEMO_PATIENT,
    OTHER_PREFIX,
    PATIENTS,
    account_id,
    audit_lines,
    last_entry_id,
)
from tests.cli.conftest import Cli
from tests.conftest import TEST_KEYS, Api, assert_problem

AUDIT = "/api/v3/ops/audit"


def trail(api: Api, **query: Any) -> dict[str, Any]:
    response = api.get(f"{AUDIT}?{urlencode(query, doseq=True)}", key=TEST_KEYS.operator)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def actions(page: dict[str, Any]) -> list[tuple[str, list[int]]]:
    return [(e["action"], e["resourceIds"]) for e in page["content"]]


def scenario(api: Api, key: str, other_key: str) -> dict[str, int]:
    """Create a patient, fetch it, list patients, and have another customer probe it."""
    created = api.post(PATIENTS, key=key, json=patient_body(lastName="Trail")).json()["id"]
    api.get(f"{PATIENTS}/{created}", key=key)
    api.get(f"{PATIENTS}?sortDescending=true&size=1", key=key)
    api.get(f"{PATIENTS}/{created}", key=other_key)
    return {"patient": created}


def test_the_trail_filters_by_account_action_type_and_record(
    api: Api, key: str, other_key: str
) -> None:
    start = last_entry_id(api)
    patient = scenario(api, key, other_key)["patient"]
    demo = account_id(api)

    mine = trail(api, accountId=demo, resourceType="patient")
    assert all(e["id"] > start for e in mine["content"])
    assert actions(mine) == [
        ("patient.create", [patient]),
        ("patient.read", [patient]),
        ("patient.list", [patient]),
    ]
    assert {e["keyPrefix"] for e in mine["content"]} == {CUSTOMER_PREFIX}
    # A record is found alone and among a list's results.
    about = trail(api, resourceType="patient", resourceId=patient)
    assert [e["action"] for e in about["content"]] == [
        "patient.create",
        "patient.read",
        "patient.list",
        "patient.read",
    ]
    [probe] = trail(
        api, action="patient.read", resourceId=patient, accountId=account_id(api, OTHER_CUSTOMER)
    )["content"]
    assert (probe["outcome"], probe["reason"], probe["keyPrefix"]) == (
        "denied",
        "not_found",
        OTHER_PREFIX,
    )
    assert trail(api, resourceId=DEMO_PATIENT)["total"] == 0


def test_the_trail_is_paged_and_bounded_in_time(api: Api, key: str, other_key: str) -> None:
    scenario(api, key, other_key)
    everything = trail(api, resourceType="patient", size=250)["content"]
    first, second = everything[0], everything[1]

    page = trail(api, resourceType="patient", size=2, page=2, sortDescending="true")
    assert (page["total"], page["page"], page["size"]) == (4, 2, 2)
    assert [e["id"] for e in page["content"]] == [second["id"], first["id"]]
    since = trail(api, resourceType="patient", startTimestamp=second["occurredAt"])
    assert [e["id"] for e in since["content"]] == [e["id"] for e in everything[1:]]
    before = trail(api, resourceType="patient", endTimestamp=second["occurredAt"])
    assert [e["id"] for e in before["content"]] == [first["id"]]


def test_entries_have_the_documented_shape(api: Api, key: str) -> None:
    response = api.get(f"{PATIENTS}/{DEMO_PATIENT}", key=key)

    [entry] = trail(api, action="patient.read")["content"]

    assert entry == {
        "id": entry["id"],
        "occurredAt": entry["occurredAt"],
        "channel": "api",
        "requestId": response.headers["x-request-id"],
        "accountId": account_id(api),
        "keyPrefix": CUSTOMER_PREFIX,
        "action": "patient.read",
        "resourceType": "patient",
        "resourceId": DEMO_PATIENT,
        "resourceIds": [DEMO_PATIENT],
        "changedFields": None,
        "outcome": "success",
        "reason": None,
    }


def test_only_the_operator_reads_the_trail(api: Api, key: str) -> None:
    assert_problem(api.get(AUDIT, key=key), 403, "forbidden", "this endpoint needs an operator key")
    assert_problem(api.get(AUDIT), 401, "unauthorized", "missing Impilo-API-Key header")


def test_bad_filters_are_refused(api: Api, key: str) -> None:
    response = api.get(f"{AUDIT}?resourceId=0&startTimestamp=yesterday", key=TEST_KEYS.operator)

    body = assert_problem(response, 400, "invalid_request")
    assert [e["field"] for e in body["errors"]] == ["resourceId", "startTimestamp"]


def test_kitdesk_audit_list_prints_the_newest_entries_first(cli: Cli) -> None:
    account = cli.ok("accounts", "create", "Listed Clinic").split()[1]
    cli.ok("keys", "create", "--account", account)
    cli.ok("keys", "create", "--account", account, "--name", "second")

    lines = audit_lines(cli)
    limited = audit_lines(cli, "--action", "apiKey.create", "--limit", "1")

    assert [line.split("\t")[3] for line in lines] == ["apiKey.create", "apiKey.create"]
    assert [line.split("\t")[4] for line in lines] == ["apiKey 2", "apiKey 1"]
    assert limited == lines[:1]
    assert audit_lines(cli, "--resource-id", "1") == lines[1:]
    assert audit_lines(cli, "--action", "patient.read") == []
