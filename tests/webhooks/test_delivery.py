"""Delivery: the envelope, the headers and signature, and what each kind of answer leads to."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest

from kitdesk.db.base import utcnow
from tests.conftest import Api
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import (
    ORDER_PAYLOAD,
    SECRET,
    Worker,
    account_of,
    emit_event,
    log_page,
    settings_for,
    subscribe,
)

SECRET_VALUE = "whsec-0123456789abcdef"


def test_event_arrives_in_the_envelope_with_secret_and_a_valid_signature(
    api: Api, key: str, receiver: Receiver, worker: Worker
) -> None:
    assert api.post(SECRET, key=key, json={"secret": SECRET_VALUE}).status_code == 201
    hook = subscribe(api, key, receiver.url())
    emit_event(api, account_of(api, key), payload=ORDER_PAYLOAD)
    now = utcnow()

    assert worker.run(now) == 1

    [got] = receiver.received()
    log = log_page(api, key)["content"][0]
    assert got.json() == {"id": got.event_id, "type": "order.status", "payload": ORDER_PAYLOAD}
    assert got.body.decode() == log["payload"]
    assert got.headers["content-type"] == "application/json"
    assert got.headers["impilo-webhook-secret"] == SECRET_VALUE
    assert got.headers["kitdesk-event-id"] == str(got.event_id)
    timestamp, signature = got.headers["kitdesk-signature"].split(",")
    assert timestamp == f"t={int(now.timestamp())}"
    signed = timestamp.removeprefix("t=").encode() + b"." + got.body
    expected = hmac.new(SECRET_VALUE.encode(), signed, hashlib.sha256).hexdigest()
    assert signature == f"v1={expected}"
    assert (log["webhookId"], log["status"], log["lastResponseStatus"]) == (
        hook["id"],
        "succeeded",
        200,
    )


def test_without_a_secret_no_secret_or_signature_is_sent(
    api: Api, key: str, receiver: Receiver, worker: Worker
) -> None:
    subscribe(api, key, receiver.url())
    emit_event(api, account_of(api, key))

    worker.run(utcnow())

    [got] = receiver.received()
    assert "impilo-webhook-secret" not in got.headers
    assert "kitdesk-signature" not in got.headers
    assert got.headers["kitdesk-event-id"] == str(got.event_id)


@pytest.mark.parametrize("status", [400, 404, 410])
def test_client_errors_fail_at_once(
    api: Api, key: str, receiver: Receiver, worker: Worker, status: int
) -> None:
    subscribe(api, key, receiver.url())
    receiver.script("/hook", [status])
    emit_event(api, account_of(api, key))
    now = utcnow()

    worker.run(now)

    assert worker.run(now + timedelta(days=1)) == 0
    assert len(receiver.received()) == 1
    [log] = log_page(api, key)["content"]
    assert log["status"] == "failed"
    assert log["lastResponseStatus"] == status
    assert log["lastError"] == f"HTTP {status}: not retried; delivery failed"
    assert log["nextAttemptTimestamp"] is None
    assert [(a["responseStatus"], a["error"], a["outcome"]) for a in log["attempts"]] == [
        (status, None, "failed")
    ]


@pytest.mark.parametrize("status", [301, 302, 307])
def test_redirects_are_not_followed_and_fail_at_once(
    api: Api, key: str, receiver: Receiver, worker: Worker, status: int
) -> None:
    subscribe(api, key, receiver.url())
    receiver.script("/hook", [status])
    emit_event(api, account_of(api, key))
    now = utcnow()

    worker.run(now)
    worker.run(now + timedelta(days=1))

    assert [r.path for r in receiver.received()] == ["/hook"]
    [log] = log_page(api, key)["content"]
    assert log["status"] == "failed"
    assert log["lastError"] == f"HTTP {status}: redirects are not followed; delivery failed"


def test_unreachable_receiver_is_retried_as_a_network_error(
    api: Api, key: str, receiver: Receiver, worker: Worker
) -> None:
    subscribe(api, key, "http://127.0.0.1:9/closed")
    emit_event(api, account_of(api, key))
    now = utcnow()

    worker.run(now)

    [log] = log_page(api, key)["content"]
    assert log["status"] == "pending"
    assert log["lastResponseStatus"] is None
    assert [(a["error"], a["outcome"]) for a in log["attempts"]] == [("network_error", "retry")]
    assert log["nextAttemptTimestamp"] == (now + timedelta(minutes=15)).isoformat().replace(
        "+00:00", "Z"
    )


def test_slow_receiver_times_out_and_is_retried(api: Api, key: str, receiver: Receiver) -> None:
    worker = Worker(api, settings_for(api, webhook_timeout_seconds=0.2))
    subscribe(api, key, receiver.url("/slow"))
    emit_event(api, account_of(api, key))

    worker.run(utcnow())

    [log] = log_page(api, key)["content"]
    assert log["status"] == "pending"
    assert log["lastError"].startswith("no response within 0.2 s; retry at ")
    assert [(a["error"], a["outcome"]) for a in log["attempts"]] == [("timeout", "retry")]
