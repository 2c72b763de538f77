"""Publishing domain events: one lookup of the account's subscriptions, payloads built lazily.

A change usually has several event types (``order.status`` and ``order.statusFull``); this
asks the database once which of them the account subscribes to, and renders only the payloads
someone will receive. Events are queued in the caller's transaction (see ``outbox``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db import driver
from kitdesk.db.models import WebhookSubscription
from kitdesk.domain.webhooks.outbox import add_event, queue_delivery
from kitdesk.domain.webhooks.types import EVENT_TYPES

PayloadFactory = Callable[[], Awaitable[dict[str, Any]]]
T = TypeVar("T")

# Built once: every change to an order asks it. An account has a handful of subscriptions, so
# all of them are read and matched here: the statement stays constant (no list parameter).
_SUBSCRIBERS = (
    select(WebhookSubscription.type, WebhookSubscription.id)
    .where(
        WebhookSubscription.account_id == bindparam("account_id"),
        WebhookSubscription.deleted_at.is_(None),
    )
    .order_by(WebhookSubscription.id)
)


async def publish(
    session: AsyncSession,
    *,
    account_id: int,
    resource_key: str,
    payloads: Mapping[str, PayloadFactory],
    subscribers: Sequence[tuple[str, int]] | None = None,
) -> None:
    """Queue one event per subscribed type in ``payloads`` (type -> payload factory).

    ``subscribers`` are the account's live subscriptions, (type, id) in id order, when the
    caller has read them in the same transaction (else they are read here).
    """
    rows: Sequence[Sequence[Any]] | None = subscribers
    if rows is None:
        rows = await driver.fetch(session, _SUBSCRIBERS, {"account_id": account_id})
    wanted = await wanted_events(payloads, rows)
    for type_, payload, targets in wanted:
        event = await add_event(
            session, account_id=account_id, type=type_, resource_key=resource_key, payload=payload
        )
        for subscription_id in targets:
            queue_delivery(session, event=event, subscription_id=subscription_id)
    if wanted:
        await session.flush()


async def wanted_events(
    payloads: Mapping[str, Callable[[], Awaitable[T]]], subscribers: Sequence[Sequence[Any]]
) -> list[tuple[str, T, list[int]]]:
    """The events someone receives: (type, payload, subscription ids) for each type of
    ``payloads`` (type -> payload factory, in the order they are queued) that one of
    ``subscribers`` ((type, id) in id order) wants; only those payloads are built (as values
    or as JSON text, whichever the factories make)."""
    unknown = set(payloads) - set(EVENT_TYPES)
    if unknown:
        raise ValueError(f"Kitdesk does not emit webhook events of types {sorted(unknown)}")
    wanted: list[tuple[str, T, list[int]]] = []
    for type_ in payloads:  # in the caller's order, so order.status precedes statusFull
        targets: list[int] = [ident for kind, ident in subscribers if kind == type_]
        if targets:
            wanted.append((type_, await payloads[type_](), targets))
    return wanted
