"""The webhook log: its shape, every documented filter, paging and tenancy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from kitdesk.db.base import utcnow
from tests.conftest import Api, assert_problem
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import (
    LOGS,
    Worker,
    account_of,
    emit_event,
    log_ids,
    log_page,
    subscribe,
)
from tests.webhooks.test_retries import sent_in_round, stamp


def test_log_entry_has_impilos_fields_plus_status_and_attempts(
    api: Api, key: str, receiver: Receiver, worker: Worker
) -> None:
    hook = subscribe(api, key, receiver.url())
    emit_event(api, account_of(api, key))
    now = utcnow()
    worker.run(now)
    [got] = receiver.received()

    page = log_page(api, key)

    [log] = page["content"]
    [attempt] = log["attempts"]
    assert isinstance(attempt.pop("durationMs"), int)
    # Dated when it was sent: after the round began (the claim came first), within seconds.
    assert sent_in_round(attempt.pop("attemptTimestamp"), now)
    assert log == {
        "id": log["id"],
        "webhookId": hook["id"],
        "webhookType": "order.status",
        "webhookUrl": receiver.url(),
        "payload": got.body.decode(),
        "createTimestamp": log["createTimestamp"],
        "lastResponseStatus": 200,
        "retryAttempts": 0,
        "lastRetryTimestamp": stamp(now),
        "status": "succeeded",
        "nextAttemptTimestamp": None,
        "lastError": None,
        "attempts": [
            {
                "responseStatus": 200,
                "error": None,
                "outcome": "succeeded",
            }
        ],
    }
    assert {k: v for k, v in page.items() if k != "content"} == {
        "page": 1,
        "size": 15,
        "total": 1,
        "first": True,
        "last": True,
    }
    assert log["createTimestamp"] <= stamp(now)


@dataclass
class Logs:
    """Four deliveries in different states (see ``logs``), and when the worker ran."""

    ok: int  # order.status to hook a, 200 at start
    retried: int  # patient.created to hook b, 500 at start, 200 at start + 15 min
    gone: int  # order.status to hook a, 410 at start + 1 min
    waiting: int  # patient.created to hook b, never attempted
    hook_a: int
    start: datetime


@pytest.fixture
def logs(api: Api, key: str, receiver: Receiver, worker: Worker) -> Logs:
    hook_a = subscribe(api, key, receiver.url("/a"))
    subscribe(api, key, receiver.url("/b"), type="patient.created")
    account = account_of(api, key)
    receiver.script("/b", [500])
    emit_event(api, account, resource_key="order:1")
    emit_event(api, account, type="patient.created", resource_key="patient:1", payload={"id": 1})
    start = utcnow()
    worker.run(start)
    receiver.script("/a", [410])
    emit_event(api, account, resource_key="order:2")
    worker.run(start + timedelta(minutes=1))
    worker.run(start + timedelta(minutes=15))
    emit_event(api, account, type="patient.created", resource_key="patient:2", payload={"id": 2})
    ok, retried, gone, waiting = log_ids(api, key)
    return Logs(ok, retried, gone, waiting, hook_a["id"], start)


def test_logs_filter_by_type_webhook_and_status(api: Api, key: str, logs: Logs) -> None:
    assert log_ids(api, key, webhookType="order.status") == [logs.ok, logs.gone]
    assert log_ids(api, key, webhookType="patient.created") == [logs.retried, logs.waiting]
    assert log_ids(api, key, webhookId=logs.hook_a) == [logs.ok, logs.gone]
    assert log_ids(api, key, status="pending") == [logs.waiting]
    assert log_ids(api, key, status="failed") == [logs.gone]


def test_logs_filter_by_retries_and_last_status(api: Api, key: str, logs: Logs) -> None:
    assert log_ids(api, key, retryAttemptsMin=1) == [logs.retried]
    assert log_ids(api, key, retryAttemptsMax=0) == [logs.ok, logs.gone, logs.waiting]
    assert log_ids(api, key, retryAttemptsMin=2) == []
    assert log_ids(api, key, lastResponseStatus=410) == [logs.gone]
    assert log_ids(api, key, lastResponseStatus=200) == [logs.ok, logs.retried]
    assert log_ids(api, key, webhookType="order.status", lastResponseStatus=200) == [logs.ok]


def test_logs_filter_by_last_retry_time_with_the_end_excluded(
    api: Api, key: str, logs: Logs
) -> None:
    one_minute = stamp(logs.start + timedelta(minutes=1))

    assert log_ids(api, key, startLastRetryTimestamp=one_minute) == [logs.retried, logs.gone]
    assert log_ids(api, key, endLastRetryTimestamp=one_minute) == [logs.ok]
    assert log_ids(
        api,
        key,
        startLastRetryTimestamp=stamp(logs.start),
        endLastRetryTimestamp=stamp(logs.start + timedelta(minutes=15)),
    ) == [logs.ok, logs.gone]


def test_logs_filter_by_creation_time_with_the_end_excluded(api: Api, key: str, logs: Logs) -> None:
    gone = next(r for r in log_page(api, key)["content"] if r["id"] == logs.gone)
    created = gone["createTimestamp"]

    assert log_ids(api, key, endTimestamp=created) == [logs.ok, logs.retried]
    assert log_ids(api, key, startTimestamp=created) == [logs.gone, logs.waiting]
    assert log_ids(api, key, startTimestamp=created, endTimestamp=created) == []


def test_logs_are_paged(api: Api, key: str, logs: Logs) -> None:
    page = log_page(api, key, size=3, page=2)

    assert [r["id"] for r in page["content"]] == [logs.waiting]
    assert (page["page"], page["size"], page["total"], page["first"], page["last"]) == (
        2,
        3,
        4,
        False,
        True,
    )
    assert log_ids(api, key, sortDescending="true", size=2) == [logs.waiting, logs.gone]


def test_another_account_sees_none_of_the_logs(
    api: Api, key: str, other_key: str, logs: Logs
) -> None:
    assert log_page(api, other_key)["total"] == 0
    response = api.post(f"{LOGS}/{logs.ok}/redeliver", key=other_key)
    assert_problem(response, 404, "not_found", f"webhook log {logs.ok} not found")


def test_bad_log_filters_are_refused(api: Api, key: str) -> None:
    body = assert_problem(
        api.get(LOGS, key=key, params={"webhookType": "order.Status"}),
        400,
        "unknown_webhook_type",
        "unknown webhook type 'order.Status'",
    )
    assert body["errors"] == [
        {"field": "webhookType", "message": "unknown webhook type 'order.Status'"}
    ]
    for params in (
        {"retryAttemptsMin": -1},
        {"lastResponseStatus": 99},
        {"size": 251},
        {"status": "x"},
    ):
        assert_problem(api.get(LOGS, key=key, params=params), 400, "invalid_request")


def test_log_payload_is_the_serialized_envelope(
    api: Api, key: str, receiver: Receiver, worker: Worker
) -> None:
    subscribe(api, key, receiver.url())
    emit_event(api, account_of(api, key), payload={"orderId": 7, "orderEventType": "délivered"})

    [log] = log_page(api, key)["content"]

    assert log["payload"].startswith('{"id":')
    assert log["payload"].endswith(
        ',"type":"order.status","payload":{"orderId":7,"orderEventType":"délivered"}}'
    )


def test_a_page_of_logs_costs_the_same_queries_whatever_it_holds(
    api: Api, key: str, logs: Logs
) -> None:
    with api.count_queries() as counter:
        assert len(log_page(api, key, size=1)["content"]) == 1
    one = counter.count
    with api.count_queries() as counter:
        assert len(log_page(api, key)["content"]) == 4

    assert counter.count == one > 0
