"""Retries follow the schedule on the worker's clock, then the delivery is given up and logged."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from kitdesk.db.base import utcnow
from tests.conftest import Api
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import Worker, account_of, emit_event, log_page, settings_for, subscribe


def stamp(moment: datetime) -> str:
    """A time as the API writes it."""
    return moment.isoformat().replace("+00:00", "Z")


def sent_in_round(written: str, round_began: datetime) -> bool:
    """An attempt's time as the API writes it, in a worker round that began at ``round_began``:
    attempts are dated when they are sent, after the round's claim, so within seconds of it."""
    moment = datetime.fromisoformat(written.replace("Z", "+00:00"))
    return round_began <= moment <= round_began + timedelta(seconds=30)


def test_failed_attempts_are_retried_after_15_30_and_60_minutes_then_given_up(
    api: Api, key: str, receiver: Receiver, worker: Worker
) -> None:
    subscribe(api, key, receiver.url())
    receiver.script("/hook", [503, 500, 502, 504])
    emit_event(api, account_of(api, key))
    start = utcnow()
    attempt_times = [start]
    for minutes in (15, 30, 60):
        attempt_times.append(attempt_times[-1] + timedelta(minutes=minutes))

    for previous, due in zip(attempt_times, [*attempt_times[1:], None], strict=True):
        assert worker.run(previous) == 1
        if due is not None:
            assert worker.run(due - timedelta(seconds=1)) == 0
            assert log_page(api, key)["content"][0]["nextAttemptTimestamp"] == stamp(due)

    assert worker.run(attempt_times[-1] + timedelta(days=7)) == 0
    assert len(receiver.received()) == 4
    [log] = log_page(api, key)["content"]
    assert log["status"] == "failed"
    assert log["retryAttempts"] == 3
    assert log["lastResponseStatus"] == 504
    assert log["lastRetryTimestamp"] == stamp(attempt_times[-1])
    assert log["lastError"] == "HTTP 504; gave up after 4 attempts"
    assert [(a["responseStatus"], a["outcome"]) for a in log["attempts"]] == [
        (503, "retry"),
        (500, "retry"),
        (502, "retry"),
        (504, "failed"),
    ]
    written = [a["attemptTimestamp"] for a in log["attempts"]]
    assert all(map(sent_in_round, written, attempt_times)), (written, attempt_times)


@pytest.mark.parametrize("status", [408, 429, 500])
def test_retryable_status_then_success_is_delivered(
    api: Api, key: str, receiver: Receiver, worker: Worker, status: int
) -> None:
    subscribe(api, key, receiver.url())
    receiver.script("/hook", [status])
    emit_event(api, account_of(api, key))
    start = utcnow()

    worker.run(start)
    worker.run(start + timedelta(minutes=15))

    [first, second] = receiver.received()
    assert first.body == second.body
    [log] = log_page(api, key)["content"]
    assert (log["status"], log["lastResponseStatus"], log["retryAttempts"]) == ("succeeded", 200, 1)
    assert log["lastError"] is None
    assert log["nextAttemptTimestamp"] is None
    assert [a["outcome"] for a in log["attempts"]] == ["retry", "succeeded"]


def test_retry_schedule_is_configurable(api: Api, key: str, receiver: Receiver) -> None:
    worker = Worker(api, settings_for(api, webhook_retry_schedule_seconds=[5]))
    subscribe(api, key, receiver.url())
    receiver.script("/hook", [500, 500])
    emit_event(api, account_of(api, key))
    start = utcnow()

    assert worker.run(start) == 1
    assert worker.run(start + timedelta(seconds=5)) == 1
    assert worker.run(start + timedelta(days=1)) == 0

    [log] = log_page(api, key)["content"]
    assert (log["status"], log["lastError"]) == ("failed", "HTTP 500; gave up after 2 attempts")


def test_an_empty_schedule_gives_up_after_the_first_failure(
    api: Api, key: str, receiver: Receiver
) -> None:
    worker = Worker(api, settings_for(api, webhook_retry_schedule_seconds=[]))
    subscribe(api, key, "http://127.0.0.1:9/closed")
    emit_event(api, account_of(api, key))

    worker.run(utcnow())

    [log] = log_page(api, key)["content"]
    assert log["status"] == "failed"
    assert log["lastError"].endswith("; gave up after 1 attempt")
    assert [(a["error"], a["outcome"]) for a in log["attempts"]] == [("network_error", "failed")]
