"""Housekeeping for the integrity tables: run ``purge_expired`` now and then (e.g. hourly)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.base import utcnow
from kitdesk.domain.integrity import idempotency, ratelimit
from kitdesk.settings import Settings


@dataclass(frozen=True)
class Purged:
    """How many rows a purge deleted."""

    idempotency_keys: int
    rate_limit_counters: int


def idempotency_policy(settings: Settings) -> idempotency.Policy:
    """The idempotency retention and abandon periods configured in ``settings``."""
    return idempotency.Policy(
        retention=timedelta(seconds=settings.idempotency_retention_seconds),
        abandon_after=timedelta(seconds=settings.idempotency_abandon_seconds),
    )


async def purge_expired(
    session: AsyncSession, *, settings: Settings, now: datetime | None = None
) -> Purged:
    """Delete idempotency keys past retention and rate-limit counters of finished windows."""
    moment = now or utcnow()
    keys = await idempotency.purge_expired(session, now=moment, policy=idempotency_policy(settings))
    counters = await ratelimit.purge_expired(
        session, now=moment, window_seconds=settings.rate_limit_window_seconds
    )
    return Purged(idempotency_keys=keys, rate_limit_counters=counters)
