"""Per-resource ordering: one webhook gets the events of one resource in the order emitted."""

from __future__ import annotations

from datetime import timedelta

from kitdesk.db.base import utcnow
from tests.conftest import Api
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import Worker, account_of, emit_event, settings_for, subscribe


def order_event(api: Api, account: int, order_id: int, status: str) -> None:
    emit_event(
        api,
        account,
        resource_key=f"order:{order_id}",
        payload={"orderId": order_id, "orderEventType": status},
    )


def statuses(receiver: Receiver, path: str = "/hook") -> list[tuple[int, str]]:
    return [
        (r.json()["payload"]["orderId"], r.json()["payload"]["orderEventType"])
        for r in receiver.received(path)
    ]


def test_later_events_of_a_resource_wait_for_the_earlier_one(
    api: Api, key: str, receiver: Receiver, worker: Worker
) -> None:
    subscribe(api, key, receiver.url())
    account = account_of(api, key)
    receiver.script("/hook", [503])
    for status in ("processing", "packed", "shipped"):
        order_event(api, account, 1, status)
    start = utcnow()

    assert worker.run(start) == 1
    order_event(api, account, 2, "processing")
    assert worker.run(start + timedelta(minutes=1)) == 1  # order 2 only: order 1 is waiting
    assert worker.run(start + timedelta(minutes=15)) == 1
    assert worker.run(start + timedelta(minutes=15)) == 1
    assert worker.run(start + timedelta(minutes=15)) == 1
    assert worker.run(start + timedelta(minutes=15)) == 0

    assert statuses(receiver) == [
        (1, "processing"),
        (2, "processing"),
        (1, "processing"),
        (1, "packed"),
        (1, "shipped"),
    ]


def test_a_given_up_event_lets_the_next_one_of_its_resource_go(
    api: Api, key: str, receiver: Receiver
) -> None:
    worker = Worker(api, settings_for(api, webhook_retry_schedule_seconds=[]))
    subscribe(api, key, receiver.url())
    account = account_of(api, key)
    receiver.script("/hook", [500])
    order_event(api, account, 1, "processing")
    order_event(api, account, 1, "packed")
    now = utcnow()

    assert worker.run(now) == 1
    assert worker.run(now) == 1

    assert statuses(receiver) == [(1, "processing"), (1, "packed")]


def test_a_failing_webhook_does_not_hold_up_another_webhook_of_the_same_resource(
    api: Api, key: str, receiver: Receiver, worker: Worker
) -> None:
    subscribe(api, key, receiver.url("/down"))
    subscribe(api, key, receiver.url("/up"))
    account = account_of(api, key)
    receiver.script("/down", [503])
    order_event(api, account, 1, "processing")
    order_event(api, account, 1, "packed")
    now = utcnow()

    assert worker.run(now) == 2
    assert worker.run(now) == 1

    assert statuses(receiver, "/up") == [(1, "processing"), (1, "packed")]
    assert statuses(receiver, "/down") == [(1, "processing")]
