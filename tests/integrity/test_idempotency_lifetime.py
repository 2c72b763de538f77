"""Idempotency-Key lifetime: in flight, abandoned, kept 24 hours, then purged and new again."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.base import utcnow
from kitdesk.domain.integrity import idempotency
from kitdesk.domain.integrity.idempotency import Claim
from kitdesk.domain.integrity.maintenance import Purged, idempotency_policy, purge_expired
from kitdesk.settings import Settings
from tests.conftest import Api, assert_problem
from tests.integrity.support import (
    DEMO_ACCOUNT,
    MSG_IN_FLIGHT,
    MSG_REUSED,
    ORDERS,
    age_key,
    idem,
    order_body,
    order_count,
    stored_keys,
)

DAY = 24 * 3600
POLICY = idempotency_policy(Settings())


def _claim_elsewhere(api: Api, key: str, body: dict[str, object], *, age: timedelta) -> Claim:
    """Another process claims ``key`` for this order body, ``age`` ago, and is still running."""
    fingerprint = idempotency.fingerprint("POST", ORDERS, json.dumps(body).encode())

    async def run(session: AsyncSession) -> Claim:
        return await idempotency.claim(
            session,
            account_id=DEMO_ACCOUNT,
            key=key,
            fingerprint=fingerprint,
            now=utcnow() - age,
            policy=POLICY,
        )

    return api.call(run)


def test_a_duplicate_of_a_request_still_in_flight_gets_409_and_does_nothing(
    api: Api, key: str
) -> None:
    assert _claim_elsewhere(api, "busy", order_body(), age=timedelta(0)).outcome == "claimed"
    r = api.post(ORDERS, key=key, json=order_body(), headers=idem("busy"))
    body = assert_problem(r, 409, "idempotency_key_in_flight", MSG_IN_FLIGHT)
    assert r.headers["retry-after"] == "1"
    assert body["errors"] == []
    assert order_count(api) == 0
    assert stored_keys(api) == [(DEMO_ACCOUNT, "busy", "in_flight")]


def test_a_different_request_with_a_key_in_flight_gets_422(api: Api, key: str) -> None:
    _claim_elsewhere(api, "busy", order_body(count=5), age=timedelta(0))
    r = api.post(ORDERS, key=key, json=order_body(), headers=idem("busy"))
    assert_problem(r, 422, "idempotency_key_reused", MSG_REUSED)
    assert order_count(api) == 0


def test_a_claim_abandoned_by_a_crashed_process_is_taken_over(api: Api, key: str) -> None:
    stale = timedelta(seconds=Settings().idempotency_abandon_seconds + 1)
    _claim_elsewhere(api, "crashed", order_body(), age=stale)
    r = api.post(ORDERS, key=key, json=order_body(), headers=idem("crashed"))
    assert r.status_code == 201, r.text
    assert order_count(api) == 1
    assert stored_keys(api) == [(DEMO_ACCOUNT, "crashed", "stored")]


def test_a_stored_response_is_still_replayed_just_before_24_hours(api: Api, key: str) -> None:
    first = api.post(ORDERS, key=key, json=order_body(), headers=idem("day"))
    age_key(api, "day", DAY - 60)
    again = api.post(ORDERS, key=key, json=order_body(), headers=idem("day"))
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert order_count(api) == 1


def test_a_key_older_than_the_retention_period_counts_as_new(api: Api, key: str) -> None:
    first = api.post(ORDERS, key=key, json=order_body(), headers=idem("old"))
    age_key(api, "old", DAY + 1)
    again = api.post(ORDERS, key=key, json=order_body(count=3), headers=idem("old"))
    assert again.status_code == 201, again.text
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    replay = api.post(ORDERS, key=key, json=order_body(count=3), headers=idem("old"))
    assert replay.content == again.content
    assert order_count(api) == 2


def test_purge_deletes_only_keys_past_retention(api: Api, key: str) -> None:
    fresh = api.post(ORDERS, key=key, json=order_body(), headers=idem("fresh"))
    api.post(ORDERS, key=key, json=order_body(count=3), headers=idem("stale"))
    age_key(api, "stale", DAY + 1)
    settings = Settings()

    async def purge(session: AsyncSession) -> Purged:
        return await purge_expired(session, settings=settings)

    assert api.call(purge) == Purged(idempotency_keys=1, rate_limit_counters=0)
    assert stored_keys(api) == [(DEMO_ACCOUNT, "fresh", "stored")]
    again = api.post(ORDERS, key=key, json=order_body(), headers=idem("fresh"))
    assert again.content == fresh.content


def test_retention_cannot_be_configured_below_24_hours() -> None:
    with pytest.raises(ValidationError, match="idempotency_retention_seconds"):
        Settings(idempotency_retention_seconds=DAY - 1)
