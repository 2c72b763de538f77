"""Idempotency-Key: failed requests are never kept, and the work and its stored response commit
together."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from kitdesk.api.integrity import idempotent, releases
from kitdesk.api.integrity.idempotent import store_response
from kitdesk.domain.demo import DemoKeys
from kitdesk.domain.integrity import idempotency
from tests.conftest import Api, assert_problem
from tests.integrity.support import (
    DEMO_ACCOUNT,
    MSG_IN_FLIGHT,
    ORDERS,
    STRIPS,
    idem,
    order_body,
    order_count,
    reserved,
    stored_keys,
)


def test_a_request_refused_as_invalid_keeps_no_key_so_the_fixed_retry_runs(
    api: Api, key: str
) -> None:
    bad = api.post(ORDERS, key=key, json=order_body(count=0), headers=idem("fix-me"))
    assert_problem(bad, 400, "invalid_request")
    assert stored_keys(api) == []
    fixed = api.post(ORDERS, key=key, json=order_body(), headers=idem("fix-me"))
    assert fixed.status_code == 201, fixed.text
    assert "idempotent-replayed" not in fixed.headers
    assert order_count(api) == 1


def test_a_request_with_a_bad_api_key_keeps_no_key(api: Api, key: str) -> None:
    denied = api.post(
        ORDERS, key="kd_not_a_real_key_0000000000", json=order_body(), headers=idem("auth")
    )
    assert_problem(denied, 401, "unauthorized")
    assert stored_keys(api) == []
    assert api.post(ORDERS, key=key, json=order_body(), headers=idem("auth")).status_code == 201


def test_a_business_rule_refusal_keeps_no_key_so_a_retry_can_succeed_later(
    api: Api, key: str, demo_keys: DemoKeys
) -> None:
    assert api.post(ORDERS, key=key, json=order_body(count=60_000)).status_code == 201
    short = api.post(ORDERS, key=key, json=order_body(count=60_000), headers=idem("big"))
    assert_problem(short, 400, "insufficient_inventory", "insufficient_inventory")
    assert stored_keys(api) == []
    restock = {"itemId": STRIPS, "quantity": 50_000}
    stocked = api.post("/api/v3/ops/fulfillment-site/1/stock", key=demo_keys.operator, json=restock)
    assert stocked.status_code == 200, stocked.text
    retry = api.post(ORDERS, key=key, json=order_body(count=60_000), headers=idem("big"))
    assert retry.status_code == 201, retry.text
    assert "idempotent-replayed" not in retry.headers
    assert order_count(api) == 2


def test_when_the_response_cannot_be_stored_the_work_rolls_back_with_it(
    api: Api, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = reserved(api)

    async def broken(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("storage failed")

    monkeypatch.setattr(idempotent, "store_response", broken)
    failed = api.post(ORDERS, key=key, json=order_body(), headers=idem("atomic"))
    assert_problem(failed, 500, "internal_error")
    assert order_count(api) == 0
    assert reserved(api) == before
    assert stored_keys(api) == []
    monkeypatch.undo()
    retry = api.post(ORDERS, key=key, json=order_body(), headers=idem("atomic"))
    assert retry.status_code == 201, retry.text
    assert order_count(api) == 1


def test_a_request_whose_claim_was_taken_over_undoes_its_work(
    api: Api, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def lost_claim(*args: Any, **kwargs: Any) -> bool:
        return False

    monkeypatch.setattr(idempotent, "store_response", lost_claim)
    r = api.post(ORDERS, key=key, json=order_body(), headers=idem("lost"))
    assert_problem(r, 409, "idempotency_key_in_flight", MSG_IN_FLIGHT)
    assert order_count(api) == 0
    assert stored_keys(api) == []


class _Database:
    """A database that can be switched off for the claim's release and the work's commit."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.down = False
        release = idempotency.release

        async def release_unless_down(*args: Any, **kwargs: Any) -> None:
            self.check()
            await release(*args, **kwargs)

        monkeypatch.setattr(idempotency, "release", release_unless_down)

    def check(self) -> None:
        if self.down:
            raise OperationalError("DELETE", None, ConnectionRefusedError("connection refused"))


def _settle_releases(api: Api) -> None:
    """Let the background releases of this app end (the database answers again)."""
    pending = releases.pending(api.client.app.state)  # type: ignore[attr-defined]
    assert api.client.portal is not None
    api.client.portal.call(pending.settle)


def test_when_the_database_goes_down_mid_request_the_503_stands_and_the_key_is_freed_on_return(
    api: Api, key: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    database = _Database(monkeypatch)

    async def commit_fails(*args: Any, **kwargs: Any) -> bool:
        database.down = True
        database.check()
        return True

    monkeypatch.setattr(idempotent, "store_response", commit_fails)
    with caplog.at_level(logging.WARNING, logger="kitdesk.idempotency"):
        lost = api.post(ORDERS, key=key, json=order_body(), headers=idem("outage"))
    assert_problem(lost, 503, "database_unavailable")
    assert "idempotency claim not released" in caplog.text
    assert stored_keys(api) == [(DEMO_ACCOUNT, "outage", "in_flight")]
    while_down = api.post(ORDERS, key=key, json=order_body(), headers=idem("outage"))
    assert_problem(while_down, 409, "idempotency_key_in_flight", MSG_IN_FLIGHT)

    monkeypatch.setattr(idempotent, "store_response", store_response)
    database.down = False
    _settle_releases(api)
    assert stored_keys(api) == []
    retry = api.post(ORDERS, key=key, json=order_body(), headers=idem("outage"))
    assert retry.status_code == 201, retry.text
    assert "idempotent-replayed" not in retry.headers
    assert order_count(api) == 1
    assert stored_keys(api) == [(DEMO_ACCOUNT, "outage", "stored")]


def test_a_release_that_fails_does_not_replace_the_requests_own_answer(
    api: Api, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api.post(ORDERS, key=key, json=order_body(count=60_000)).status_code == 201
    database = _Database(monkeypatch)
    database.down = True
    short = api.post(ORDERS, key=key, json=order_body(count=60_000), headers=idem("short"))
    assert_problem(short, 400, "insufficient_inventory", "insufficient_inventory")
    assert stored_keys(api) == [(DEMO_ACCOUNT, "short", "in_flight")]
    database.down = False
    _settle_releases(api)
    assert stored_keys(api) == []
    assert order_count(api) == 1
