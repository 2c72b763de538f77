"""The outbox: events are written in the transaction of the change that caused them.

A worker delivers them later (``worker.py``); because the event commits or rolls back with the
change, no committed change loses its event and no rolled-back change sends one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CTE,
    JSON,
    BigInteger,
    DateTime,
    Integer,
    String,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.base import utcnow
from kitdesk.db.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from kitdesk.domain.webhooks.types import EVENT_TYPES

MAX_RESOURCE_KEY_LENGTH = 100


async def emit(
    session: AsyncSession, *, account_id: int, type: str, resource_key: str, payload: dict[str, Any]
) -> None:
    """Queue an event for every live subscription of the account to ``type``; never commits.

    ``resource_key`` names the resource the event is about (``"order:42"``): one subscription
    receives the events of one resource in the order they were emitted. ``payload`` must be
    JSON-ready (``model.model_dump(mode="json", by_alias=True)``). An event no subscription
    wants is not stored.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"Kitdesk does not emit webhook events of type {type!r}")
    if not 0 < len(resource_key) <= MAX_RESOURCE_KEY_LENGTH:
        raise ValueError(f"resource_key must be 1 to {MAX_RESOURCE_KEY_LENGTH} characters")
    subscription_ids = (
        await session.scalars(
            select(WebhookSubscription.id)
            .where(
                WebhookSubscription.account_id == account_id,
                WebhookSubscription.type == type,
                WebhookSubscription.deleted_at.is_(None),
            )
            .order_by(WebhookSubscription.id)
        )
    ).all()
    if not subscription_ids:
        return
    event = await add_event(
        session, account_id=account_id, type=type, resource_key=resource_key, payload=payload
    )
    for subscription_id in subscription_ids:
        queue_delivery(session, event=event, subscription_id=subscription_id)
    await session.flush()


async def add_event(
    session: AsyncSession, *, account_id: int, type: str, resource_key: str, payload: dict[str, Any]
) -> WebhookEvent:
    """Store one event (with its id assigned) without queuing any delivery."""
    event = WebhookEvent(
        account_id=account_id,
        type=type,
        resource_key=resource_key,
        payload=payload,
        created_at=utcnow(),
    )
    session.add(event)
    await session.flush()
    return event


def queue_delivery(
    session: AsyncSession, *, event: WebhookEvent, subscription_id: int
) -> WebhookDelivery:
    """A new delivery of ``event`` to one subscription, due now."""
    now = utcnow()
    delivery = WebhookDelivery(
        account_id=event.account_id,
        subscription_id=subscription_id,
        event_id=event.id,
        resource_key=event.resource_key,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    return delivery


def render_body(event: WebhookEvent) -> bytes:
    """The exact bytes POSTed to subscribers: the envelope ``{id, type, payload}``."""
    envelope = {"id": event.id, "type": event.type, "payload": event.payload}
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# Queuing events inside another statement (PostgreSQL): the change that causes them writes them
# in its own statement, so they commit with it without a transaction block of their own.


def _queued_events() -> CTE:
    # One event per element of the outbox_type / outbox_payload arrays, inserted in array order
    # (so their ids ascend in that order), payloads sent as JSON texts.
    given = (
        func.unnest(
            bindparam("outbox_type", type_=ARRAY(Text)),
            bindparam("outbox_payload", type_=ARRAY(Text)),
        )
        .table_valued("type", "payload", with_ordinality="n")
        .render_derived(name="outbox_events")
    )
    rows = (
        select(
            bindparam("outbox_account_id", type_=BigInteger),
            given.c.type,
            bindparam("outbox_resource_key", type_=Text),
            cast(given.c.payload, JSON),
            bindparam("outbox_at", type_=DateTime(timezone=True)),
        )
        .select_from(given)
        .order_by(given.c.n)
    )
    written = insert(WebhookEvent).from_select(
        ["account_id", "type", "resource_key", "payload", "created_at"], rows
    )
    return written.returning(WebhookEvent.id, WebhookEvent.type).cte("outbox_events_written")


def _queued_deliveries(events: CTE) -> CTE:
    # One pending delivery per (event type, subscription) pair of the outbox_delivery_* arrays,
    # for the event of that type, in event then subscription order.
    targets = (
        func.unnest(
            bindparam("outbox_delivery_type", type_=ARRAY(Text)),
            bindparam("outbox_delivery_subscription", type_=ARRAY(BigInteger)),
        )
        .table_valued("type", "subscription_id")
        .render_derived(name="outbox_targets")
    )
    at = bindparam("outbox_at", type_=DateTime(timezone=True))
    rows = (
        select(
            bindparam("outbox_account_id", type_=BigInteger),
            targets.c.subscription_id,
            events.c.id,
            bindparam("outbox_resource_key", type_=Text),
            literal_column("'pending'", String),
            literal_column("0", Integer),
            at,
            at,
        )
        .select_from(events.join(targets, targets.c.type == events.c.type))
        .order_by(events.c.id, targets.c.subscription_id)
    )
    columns = [
        "account_id",
        "subscription_id",
        "event_id",
        "resource_key",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    ]
    written = insert(WebhookDelivery).from_select(columns, rows)
    return written.returning(WebhookDelivery.id).cte("outbox_deliveries_written")


_EVENTS_CTE = _queued_events()
# The CTEs that queue events (``queue_params``) within another statement: add them to it, and
# read them (each returns an id first) so that PostgreSQL runs them where the statement wants.
QUEUE_CTES: tuple[CTE, CTE] = (_EVENTS_CTE, _queued_deliveries(_EVENTS_CTE))


def queue_params(
    *,
    account_id: int,
    resource_key: str,
    events: Sequence[tuple[str, str, Sequence[int]]],
    at: datetime,
) -> dict[str, Any]:
    """The parameters of ``QUEUE_CTES``: ``events`` as (type, payload as JSON text, subscription
    ids), in the order they are queued; the same rows ``add_event`` and ``queue_delivery``
    write."""
    types = [type_ for type_, _, _ in events]
    for type_ in types:
        if type_ not in EVENT_TYPES:
            raise ValueError(f"Kitdesk does not emit webhook events of type {type_!r}")
    if len(set(types)) != len(types):  # deliveries find their event by type
        raise ValueError(f"one event per type in a statement, not {types}")
    if not 0 < len(resource_key) <= MAX_RESOURCE_KEY_LENGTH:
        raise ValueError(f"resource_key must be 1 to {MAX_RESOURCE_KEY_LENGTH} characters")
    return {
        "outbox_account_id": account_id,
        "outbox_resource_key": resource_key,
        "outbox_at": at,
        "outbox_type": types,
        "outbox_payload": [payload for _, payload, _ in events],
        "outbox_delivery_type": [type_ for type_, _, targets in events for _ in targets],
        "outbox_delivery_subscription": [ident for _, _, targets in events for ident in targets],
    }
