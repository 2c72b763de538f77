"""Refused attempts on audited endpoints (401, 403, 404) are audited too, in a transaction of
their own, with whatever is known of the caller; other refusals and other endpoints are not."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from kitdesk.db.base import utcnow
from kitdesk.db.models import ApiKey
from kitdesk.domain import demo
from kitdesk.domain.accounts.service import hash_key
from tests.audit.support import (
    CUSTOMER_PREFIX,
    DEMO_PATIENT,
    OTHER_PREFIX,
    PATIENTS,
    account_id,
    entries_after,
    expected,
    last_entry_id,
    one_entry,
    without_id_and_time,
)
from tests.conftest import TEST_KEYS, Api


def refused(
    api: Api, status: int, method: str, path: str, key: str | None, **kwargs: Any
) -> tuple[Any, dict[str, Any]]:
    """Send one request that must be refused with ``status``; return it with its one entry."""
    before = last_entry_id(api)
    response = api.request(method, path, key=key, **kwargs)
    assert response.status_code == status, response.text
    return response, one_entry(api, before)


def test_a_request_without_a_key_is_audited_with_no_caller(api: Api, key: str) -> None:
    response, entry = refused(api, 401, "GET", f"{PATIENTS}/{DEMO_PATIENT}", None)

    assert without_id_and_time(entry) == expected(
        response, action="patient.read", resource_type="patient", account=None, prefix=None,
        resource_id=DEMO_PATIENT, outcome="denied", reason="unauthorized",
    )  # fmt: skip


def test_an_unknown_key_is_never_written_to_the_trail(api: Api, key: str) -> None:
    guess = "kd_guessed0key0that0matches0nothing000000000"

    _, entry = refused(api, 401, "GET", PATIENTS, guess)

    assert (entry["action"], entry["outcome"]) == ("patient.list", "denied")
    assert (entry["accountId"], entry["keyPrefix"]) == (None, None)
    assert guess[:8] not in str(entry)


def test_a_deactivated_key_is_audited_with_its_owner_and_prefix(api: Api, key: str) -> None:
    digest = hash_key(TEST_KEYS.customer)
    api.call(
        lambda s: s.execute(
            update(ApiKey).where(ApiKey.key_hash == digest).values(deactivated_at=utcnow())
        )
    )

    response, entry = refused(api, 401, "PUT", f"{PATIENTS}/{DEMO_PATIENT}", key, json={})

    assert without_id_and_time(entry) == expected(
        response, action="patient.update", resource_type="patient", account=account_id(api),
        prefix=CUSTOMER_PREFIX, resource_id=DEMO_PATIENT, outcome="denied", reason="unauthorized",
    )  # fmt: skip


def test_a_customer_key_on_an_operator_endpoint_is_audited_as_forbidden(api: Api, key: str) -> None:
    response, entry = refused(api, 403, "GET", "/api/v3/ops/order/1", key)

    assert without_id_and_time(entry) == expected(
        response, action="order.read", resource_type="order", account=account_id(api),
        prefix=CUSTOMER_PREFIX, resource_id=1, outcome="denied", reason="forbidden",
    )  # fmt: skip


def test_another_customers_patient_is_audited_as_not_found(api: Api, other_key: str) -> None:
    other = account_id(api, demo.OTHER_CUSTOMER)
    for method, body, action in (
        ("GET", None, "patient.read"),
        ("PATCH", {"firstName": "Mallory"}, "patient.update"),
    ):
        response, entry = refused(
            api, 404, method, f"{PATIENTS}/{DEMO_PATIENT}", other_key, json=body
        )

        assert without_id_and_time(entry) == expected(
            response, action=action, resource_type="patient", account=other, prefix=OTHER_PREFIX,
            resource_id=DEMO_PATIENT, outcome="denied", reason="not_found",
        )  # fmt: skip


def test_a_lookup_that_finds_no_patient_is_audited_without_a_record(api: Api, key: str) -> None:
    _, entry = refused(api, 404, "POST", f"{PATIENTS}/email", key, json={"email": "no@example.com"})

    assert (entry["action"], entry["resourceId"], entry["reason"]) == (
        "patient.read",
        None,
        "not_found",
    )
    assert "no@example.com" not in str(entry)


def test_a_refused_idempotent_request_is_audited_once(api: Api, other_key: str) -> None:
    order = api.post(
        "/api/v3/order",
        key=TEST_KEYS.customer,
        json={"site": {"id": 1234}, "orderItems": [{"item": {"id": 1003}, "count": 1}]},
    ).json()["id"]

    _, entry = refused(
        api, 404, "POST", f"/api/v3/order/{order}/cancel", other_key,
        headers={"Idempotency-Key": "audit-refused-cancel-1"},
    )  # fmt: skip

    assert (entry["action"], entry["resourceId"], entry["reason"]) == (
        "order.cancel",
        order,
        "not_found",
    )


def test_refusals_outside_audited_endpoints_leave_no_entry(api: Api, key: str) -> None:
    before = last_entry_id(api)

    assert api.get("/api/v3/site/999999", key=key).status_code == 404
    assert api.get("/api/v3/item", key=None).status_code == 401
    assert api.get("/api/v3/no-such-thing", key=key).status_code == 404
    assert api.get("/api/v3/ops/stock", key=key).status_code == 403

    assert entries_after(api, before) == []
