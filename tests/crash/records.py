"""What the database holds after a crash test, read in short transactions of their own."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from kitdesk.db.engine import create_engine
from kitdesk.db.models import (
    IdempotencyKey,
    Order,
    OrderEvent,
    OrderExternalId,
    OrderReservation,
    StockLevel,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
)
from kitdesk.settings import Settings

T = TypeVar("T")


def read(url: str, query: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run ``query`` on a connection of its own and return what it returns."""

    async def go() -> T:
        engine = create_engine(Settings(database_url=url))
        try:
            async with engine.connect() as conn:
                return await query(conn)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def rows(url: str, statement: Any) -> list[Any]:
    """Every row ``statement`` selects."""

    async def query(conn: AsyncConnection) -> list[Any]:
        return list(await conn.execute(statement))

    return read(url, query)


def committed_changes(url: str) -> list[tuple[int, str]]:
    """(order id, status) of every order event that committed, oldest first."""
    statement = select(OrderEvent.order_id, OrderEvent.name).order_by(OrderEvent.id)
    return [(r.order_id, r.name) for r in rows(url, statement)]


def outbox(url: str) -> dict[int, tuple[str, dict[str, Any]]]:
    """Every queued webhook event: id -> (type, payload)."""
    statement = select(WebhookEvent.id, WebhookEvent.type, WebhookEvent.payload)
    return {r.id: (r.type, r.payload) for r in rows(url, statement)}


def pending_deliveries(url: str) -> int:
    """How many deliveries still wait for a worker."""
    statement = select(func.count()).where(WebhookDelivery.status == "pending")
    return int(rows(url, statement)[0][0])


def deliveries(url: str) -> list[tuple[int, int, str]]:
    """(delivery id, event id, status) of every delivery."""
    statement = select(WebhookDelivery.id, WebhookDelivery.event_id, WebhookDelivery.status)
    return [(r.id, r.event_id, r.status) for r in rows(url, statement)]


@dataclass(frozen=True)
class Attempt:
    """One recorded attempt: when its delivery was claimed for it, how long it took, outcome."""

    delivery_id: int
    started: datetime
    duration_ms: int
    outcome: str

    @property
    def ended(self) -> datetime:
        return self.started + timedelta(milliseconds=self.duration_ms)


def attempts(url: str) -> list[Attempt]:
    """Every recorded attempt, by delivery and start."""
    statement = select(
        WebhookAttempt.delivery_id,
        WebhookAttempt.attempted_at,
        WebhookAttempt.duration_ms,
        WebhookAttempt.outcome,
    ).order_by(WebhookAttempt.delivery_id, WebhookAttempt.attempted_at, WebhookAttempt.id)
    return [Attempt(*r) for r in rows(url, statement)]


def overlapping_attempts(found: list[Attempt]) -> list[tuple[Attempt, Attempt]]:
    """Pairs of attempts of one delivery where the later began before the earlier had ended."""
    pairs = []
    for earlier, later in itertools.pairwise(found):
        if earlier.delivery_id == later.delivery_id and later.started < earlier.ended:
            pairs.append((earlier, later))
    return pairs


def orders_by_external_id(url: str) -> dict[str, list[int]]:
    """External order id -> the ids of the orders that carry it."""
    statement = select(OrderExternalId.value, OrderExternalId.order_id).order_by(
        OrderExternalId.order_id
    )
    found: dict[str, list[int]] = {}
    for row in rows(url, statement):
        found.setdefault(row.value, []).append(row.order_id)
    return found


def order_ids(url: str) -> list[int]:
    return [r.id for r in rows(url, select(Order.id).order_by(Order.id))]


def reservations(url: str) -> dict[int, Counter[int]]:
    """Order id -> units it holds per item."""
    statement = select(
        OrderReservation.order_id, OrderReservation.item_id, OrderReservation.quantity
    )
    held: dict[int, Counter[int]] = {}
    for row in rows(url, statement):
        held.setdefault(row.order_id, Counter())[row.item_id] += row.quantity
    return held


def reserved_stock(url: str) -> Counter[int]:
    """Units reserved per item, over every warehouse."""
    statement = select(StockLevel.item_id, StockLevel.reserved)
    reserved: Counter[int] = Counter()
    for row in rows(url, statement):
        reserved[row.item_id] += row.reserved
    return reserved


def idempotency_states(url: str) -> dict[str, str]:
    """Idempotency-Key -> its state."""
    return {r.key: r.state for r in rows(url, select(IdempotencyKey.key, IdempotencyKey.state))}
