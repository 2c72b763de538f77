"""Helpers shared by the integrity tests: bodies, headers, and reading the tables behind them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import IdempotencyKey, Order, StockLevel
from tests.conftest import Api

ORDERS = "/api/v3/order"
STRIPS = 1003  # a counted demo item: 100,000 units at warehouse 1
DEMO_ACCOUNT = 2
OTHER_ACCOUNT = 3
MSG_REUSED = "this Idempotency-Key was already used for a different request"
MSG_IN_FLIGHT = "a request with this Idempotency-Key is still in progress; retry later"
MSG_BAD_KEY = "Idempotency-Key must be 1 to 255 printable ASCII characters"


def order_body(count: int = 2, patient_id: int = 1234, **extra: Any) -> dict[str, Any]:
    """A patient order for ``count`` test-strip packs."""
    return {
        "patient": {"id": patient_id},
        "orderItems": [{"item": {"id": STRIPS}, "count": count}],
        "shippingOption": "standard",
        **extra,
    }


def idem(key: str) -> dict[str, str]:
    """The header that makes a POST idempotent."""
    return {"Idempotency-Key": key}


def order_count(api: Api) -> int:
    """Orders in the database, every account."""

    async def run(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(Order)) or 0)

    return api.call(run)


def reserved(api: Api, item_id: int = STRIPS) -> int:
    """Units of the item reserved at warehouse 1."""

    async def run(session: AsyncSession) -> int:
        level = await session.scalar(
            select(StockLevel.reserved).where(
                StockLevel.fulfillment_site_id == 1, StockLevel.item_id == item_id
            )
        )
        return int(level or 0)

    return api.call(run)


def stored_keys(api: Api) -> list[tuple[int, str, str]]:
    """Every idempotency key row: (account id, key, state)."""

    async def run(session: AsyncSession) -> list[tuple[int, str, str]]:
        rows = await session.execute(
            select(IdempotencyKey.account_id, IdempotencyKey.key, IdempotencyKey.state).order_by(
                IdempotencyKey.id
            )
        )
        return [(a, k, s) for a, k, s in rows]

    return api.call(run)


def age_key(api: Api, key: str, seconds: float) -> None:
    """Make a stored key look ``seconds`` older than it is."""

    async def run(session: AsyncSession) -> None:
        row = await session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == key))
        assert row is not None
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == row.id)
            .values(created_at=row.created_at - timedelta(seconds=seconds))
        )

    api.call(run)
