"""The outbox: events are written in the transaction of the change that caused them.

A worker delivers them later (``worker.py``); because the event commits or rolls back with the
change, no committed change loses its event and no rolled-back change sends one.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
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
