"""Redelivery by hand, test events, and what deleting a webhook does to its deliveries."""

from __future__ import annotations

from kitdesk.db.base import utcnow
from tests.conftest import Api, assert_problem
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import (
    LOGS,
    WEBHOOK,
    Worker,
    account_of,
    emit_event,
    log_page,
    subscribe,
)


def test_redeliver_queues_the_same_event_again_as_a_new_log_entry(
    api: Api, key: str, receiver: Receiver, worker: Worker
) -> None:
    hook = subscribe(api, key, receiver.url())
    receiver.script("/hook", [410])
    emit_event(api, account_of(api, key))
    worker.run(utcnow())
    [original] = log_page(api, key)["content"]

    response = api.post(f"{LOGS}/{original['id']}/redeliver", key=key)

    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["id"] != original["id"]
    assert (queued["webhookId"], queued["payload"]) == (hook["id"], original["payload"])
    assert (queued["status"], queued["retryAttempts"], queued["attempts"]) == ("pending", 0, [])
    # The redelivery is due from the moment it was queued.
    assert worker.run(utcnow()) == 1
    first, second = receiver.received()
    assert first.body == second.body
    logs = {log["id"]: log for log in log_page(api, key)["content"]}
    assert (logs[original["id"]]["status"], logs[queued["id"]]["status"]) == ("failed", "succeeded")


def test_redelivering_an_unknown_log_is_not_found(api: Api, key: str) -> None:
    response = api.post(f"{LOGS}/999/redeliver", key=key)

    assert_problem(response, 404, "not_found", "webhook log 999 not found")


def test_test_endpoint_sends_a_marked_test_event_to_that_webhook_only(
    api: Api, key: str, receiver: Receiver, worker: Worker
) -> None:
    hook = subscribe(api, key, receiver.url(), type="patient.created")
    subscribe(api, key, receiver.url("/other"), type="patient.created")

    response = api.post(f"{WEBHOOK}/{hook['id']}/test", key=key)

    assert response.status_code == 202, response.text
    queued = response.json()
    assert (queued["webhookId"], queued["webhookType"], queued["status"]) == (
        hook["id"],
        "patient.created",
        "pending",
    )
    assert worker.run(utcnow()) == 1
    [got] = receiver.received()
    assert got.path == "/hook"
    assert got.json() == {
        "id": got.event_id,
        "type": "patient.created",
        "payload": {
            "test": True,
            "webhookId": hook["id"],
            "message": "A test event sent by Kitdesk on request; it describes no real resource.",
        },
    }
    assert got.body.decode() == queued["payload"]


def test_deleting_a_webhook_drops_its_pending_deliveries_and_keeps_its_logs(
    api: Api, key: str, receiver: Receiver, worker: Worker
) -> None:
    hook = subscribe(api, key, receiver.url())
    emit_event(api, account_of(api, key))

    assert api.delete(f"{WEBHOOK}/{hook['id']}", key=key).status_code == 204

    assert worker.run(utcnow()) == 0
    assert receiver.received() == []
    [log] = log_page(api, key)["content"]
    assert (log["webhookId"], log["status"], log["lastError"]) == (
        hook["id"],
        "failed",
        "webhook deleted",
    )
    response = api.post(f"{LOGS}/{log['id']}/redeliver", key=key)
    assert_problem(
        response,
        409,
        "webhook_deleted",
        f"webhook {hook['id']} was deleted; its events cannot be redelivered",
    )
