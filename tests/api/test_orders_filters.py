"""Order list filters: id, patientId, siteId, externalOrderId, currentStatus, createdAt range."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.api.orders_support import (
    ORDERS,
    create,
    listed_ids,
    new_patient,
    new_site,
    patient_order,
    set_order_columns,
    site_order,
)
from tests.conftest import Api, assert_problem

JAN, FEB, MAR = (datetime(2024, month, 1, tzinfo=UTC) for month in (1, 2, 3))


def three_months(api: Api, key: str) -> list[int]:
    """Orders created on the first of January, February and March 2024."""
    ids = [create(api, key, patient_order())["id"] for _ in range(3)]
    for order_id, moment in zip(ids, (JAN, FEB, MAR), strict=True):
        set_order_columns(api, order_id, created_at=moment)
    return ids


def test_id_filter_repeats_and_keeps_the_list_order(api: Api, key: str) -> None:
    ids = [create(api, key, patient_order())["id"] for _ in range(4)]
    assert listed_ids(api, key, f"id={ids[3]}&id={ids[1]}") == [ids[1], ids[3]]
    assert listed_ids(api, key, f"id={ids[2]}") == [ids[2]]


def test_id_filter_with_an_unknown_id_lists_nothing(api: Api, key: str) -> None:
    create(api, key, patient_order())
    response = api.get(f"{ORDERS}?id=999999", key=key)
    assert response.status_code == 200, response.text
    assert (response.json()["content"], response.json()["total"]) == ([], 0)


NOT_AN_INT = "Input should be a valid integer, unable to parse string as an integer"
BELOW_ONE = "Input should be greater than or equal to 1"


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ("id=0", "id[0]", BELOW_ONE),
        ("id=abc", "id[0]", NOT_AN_INT),
        ("patientId=x", "patientId[0]", NOT_AN_INT),
        ("siteId=-1", "siteId[0]", BELOW_ONE),
        (
            "createdAtMin=yesterday",
            "createdAtMin",
            "Value error, must be an ISO-8601 date and time, e.g. 2026-01-31T09:30:00Z",
        ),
    ],
)
def test_malformed_filter_is_rejected(
    api: Api, key: str, query: str, field: str, reason: str
) -> None:
    response = api.get(f"{ORDERS}?{query}", key=key)
    problem = assert_problem(
        response, 400, "invalid_request", f"invalid request: {field}: {reason}"
    )
    assert problem["errors"] == [{"field": field, "message": reason}]


def test_unknown_status_filter_is_rejected_listing_the_statuses(api: Api, key: str) -> None:
    response = api.get(f"{ORDERS}?currentStatus=lost", key=key)
    problem = assert_problem(response, 400, "invalid_request")
    assert [e["field"] for e in problem["errors"]] == ["currentStatus[0]"]
    assert "'received'" in problem["message"]
    assert "'onHold'" in problem["message"]


def test_patient_id_filter_lists_only_that_patients_orders(api: Api, key: str) -> None:
    second = new_patient(api, key)
    mine = create(api, key, patient_order())["id"]
    theirs = create(api, key, patient_order(second))["id"]
    create(api, key, site_order())
    assert listed_ids(api, key, "patientId=1234") == [mine]
    assert listed_ids(api, key, f"patientId={second}") == [theirs]
    assert listed_ids(api, key, f"patientId={second}&patientId=1234") == [mine, theirs]


def test_site_id_filter_lists_orders_addressed_to_that_site(api: Api, key: str) -> None:
    annex = new_site(api, key)
    main = create(api, key, site_order())["id"]
    other = create(api, key, site_order(annex))["id"]
    # Patient 1234 belongs to site 1234, but the order is addressed to the patient.
    create(api, key, patient_order())
    assert listed_ids(api, key, "siteId=1234") == [main]
    assert listed_ids(api, key, f"siteId={annex}") == [other]
    assert listed_ids(api, key, f"siteId=1234&siteId={annex}") == [main, other]


def test_external_order_id_filter_matches_any_of_an_orders_ids_exactly(api: Api, key: str) -> None:
    first = create(api, key, patient_order(externalOrderIds=["crm-1", "erp-7"]))["id"]
    second = create(api, key, site_order(externalOrderIds=["erp-7", "crm-2"]))["id"]
    create(api, key, patient_order())
    assert listed_ids(api, key, "externalOrderId=erp-7") == [first, second]
    assert listed_ids(api, key, "externalOrderId=crm-2") == [second]
    assert listed_ids(api, key, "externalOrderId=CRM-2") == []
    assert listed_ids(api, key, "externalOrderId=crm") == []


def test_current_status_filter_repeats(api: Api, key: str) -> None:
    ids = [create(api, key, patient_order())["id"] for _ in range(3)]
    set_order_columns(api, ids[1], current_status="processing")
    set_order_columns(api, ids[2], current_status="cancelled")
    assert listed_ids(api, key, "currentStatus=received") == [ids[0]]
    assert listed_ids(api, key, "currentStatus=processing&currentStatus=cancelled") == ids[1:]
    assert listed_ids(api, key, "currentStatus=shipped") == []


def test_created_at_min_and_max_are_inclusive(api: Api, key: str) -> None:
    jan, feb, mar = three_months(api, key)
    assert listed_ids(api, key, "createdAtMin=2024-02-01T00:00:00Z") == [feb, mar]
    assert listed_ids(api, key, "createdAtMax=2024-02-01T00:00:00Z") == [jan, feb]
    both = "createdAtMin=2024-02-01T00:00:00Z&createdAtMax=2024-02-01T00:00:00Z"
    assert listed_ids(api, key, both) == [feb]
    assert listed_ids(api, key, "createdAtMin=2024-01-15T00:00:00Z") == [feb, mar]
    assert listed_ids(api, key, "createdAtMin=2024-03-01T00:00:01Z") == []


def test_created_at_with_an_offset_is_compared_in_utc(api: Api, key: str) -> None:
    jan, feb, mar = three_months(api, key)
    # 02:00 at +02:00 is midnight UTC on the first of February.
    assert listed_ids(api, key, "createdAtMin=2024-02-01T02:00:00%2B02:00") == [feb, mar]
    assert listed_ids(api, key, "createdAtMax=2024-01-31T19:00:00-05:00") == [jan, feb]


@pytest.mark.parametrize("moment", ["2024-02-01T00:00:00", "2024-02-01T00:00:00.000"])
def test_created_at_without_an_offset_is_taken_as_utc(api: Api, key: str, moment: str) -> None:
    jan, feb, mar = three_months(api, key)
    assert listed_ids(api, key, f"createdAtMin={moment}") == [feb, mar]
    assert listed_ids(api, key, f"createdAtMax={moment}") == [jan, feb]


def test_filters_combine_and_the_total_counts_only_matches(api: Api, key: str) -> None:
    ids = [create(api, key, patient_order(externalOrderIds=["batch-9"]))["id"] for _ in range(3)]
    create(api, key, site_order(externalOrderIds=["batch-9"]))
    set_order_columns(api, ids[0], current_status="processing")
    response = api.get(
        f"{ORDERS}?externalOrderId=batch-9&patientId=1234&currentStatus=received&size=1", key=key
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [o["id"] for o in body["content"]] == [ids[1]]
    assert (body["total"], body["first"], body["last"]) == (2, True, False)
