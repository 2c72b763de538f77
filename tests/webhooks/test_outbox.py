"""emit(): events are written in the caller's transaction, one delivery per matching webhook."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.base import utcnow
from kitdesk.db.engine import session_scope
from kitdesk.db.models import WebhookEvent
from kitdesk.domain.webhooks import emit, outbox
from tests.conftest import Api
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import ORDER_PAYLOAD, account_of, deliveries, emit_event, subscribe


def count_events(api: Api) -> int:
    async def count(session: AsyncSession) -> int:
        return await session.scalar(select(func.count()).select_from(WebhookEvent)) or 0

    return api.call(count)


def test_event_goes_to_every_webhook_of_its_type_in_its_account_only(
    api: Api, key: str, other_key: str, receiver: Receiver
) -> None:
    first = subscribe(api, key, receiver.url("/a"))
    second = subscribe(api, key, receiver.url("/b"))
    subscribe(api, key, receiver.url("/c"), type="order.statusFull")
    subscribe(api, other_key, receiver.url("/d"))

    account = account_of(api, key)

    emit_event(api, account, resource_key="order:9")

    rows = deliveries(api)
    assert {d.account_id for d in rows} == {account}
    assert [(d.subscription_id, d.resource_key, d.status) for d in rows] == [
        (first["id"], "order:9", "pending"),
        (second["id"], "order:9", "pending"),
    ]
    assert rows[0].event_id == rows[1].event_id
    assert count_events(api) == 1


def test_event_nobody_subscribed_to_is_not_stored(api: Api, key: str) -> None:
    emit_event(api, account_of(api, key))

    assert count_events(api) == 0


def test_event_of_a_rolled_back_transaction_is_never_delivered(
    api: Api, key: str, receiver: Receiver
) -> None:
    subscribe(api, key, receiver.url())
    account = account_of(api, key)
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]

    async def change_that_fails() -> None:
        async with session_scope(factory) as session:
            await emit(
                session,
                account_id=account,
                type="order.status",
                resource_key="order:1",
                payload=ORDER_PAYLOAD,
            )
            raise RuntimeError("the change fails after its event was written")

    assert api.client.portal is not None
    with pytest.raises(RuntimeError):
        api.client.portal.call(change_that_fails)

    assert count_events(api) == 0
    assert deliveries(api) == []


def test_emit_refuses_types_kitdesk_does_not_produce(api: Api, key: str) -> None:
    with pytest.raises(ValueError, match="Kitdesk does not emit webhook events of type"):
        emit_event(api, account_of(api, key), type="reading.weight")


def test_emit_refuses_an_empty_resource_key(api: Api, key: str) -> None:
    with pytest.raises(ValueError, match="resource_key must be 1 to 100 characters"):
        emit_event(api, account_of(api, key), resource_key="")


def test_events_queued_within_a_statement_are_checked_like_emitted_ones() -> None:
    # outbox.queue_params lays out the rows of QUEUE_CTES: known types, one event per type (the
    # deliveries find their event by type), a resource key that fits.
    at = utcnow()
    good = outbox.queue_params(
        account_id=7,
        resource_key="order:9",
        events=[
            ("order.status", json.dumps(ORDER_PAYLOAD), [3, 5]),
            ("order.statusFull", '{"id": 9}', [4]),
        ],
        at=at,
    )
    assert good["outbox_type"] == ["order.status", "order.statusFull"]
    assert [json.loads(p) for p in good["outbox_payload"]] == [ORDER_PAYLOAD, {"id": 9}]
    assert good["outbox_delivery_type"] == ["order.status", "order.status", "order.statusFull"]
    assert good["outbox_delivery_subscription"] == [3, 5, 4]
    with pytest.raises(ValueError, match=r"order\.nope"):
        outbox.queue_params(
            account_id=7, resource_key="order:9", events=[("order.nope", "{}", [1])], at=at
        )
    twice = [("order.status", "{}", [1]), ("order.status", "{}", [2])]
    with pytest.raises(ValueError, match="one event per type"):
        outbox.queue_params(account_id=7, resource_key="order:9", events=twice, at=at)
    for bad_key in ("", "x" * 101):
        with pytest.raises(ValueError, match="resource_key"):
            outbox.queue_params(
                account_id=7, resource_key=bad_key, events=[("order.status", "{}", [1])], at=at
            )
