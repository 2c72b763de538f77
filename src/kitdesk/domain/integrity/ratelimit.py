"""Per-key rate limiting: one fixed-window counter row per API key and window, in the database.

The counter is bumped by a single ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, so every
server process sees the same count and no two requests read the same value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Integer, delete, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import ApiKey, RateLimitCounter
from kitdesk.domain.accounts.service import hash_key
from kitdesk.domain.integrity.sql import rows_affected, upsert_insert


@dataclass(frozen=True)
class Window:
    """A fixed window, [start, end) in Unix seconds, aligned to the epoch."""

    start: int
    end: int

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the window ends, at least 1."""
        return max(1, math.ceil(self.end - now.timestamp()))


def window_of(now: datetime, seconds: int) -> Window:
    """The window that ``now`` falls in."""
    start = int(now.timestamp()) // seconds * seconds
    return Window(start=start, end=start + seconds)


async def count_request(session: AsyncSession, *, secret: str, window: Window) -> int | None:
    """Count one request made with this key in ``window``; the new count (None: unknown key)."""
    table = RateLimitCounter.__table__
    source = select(ApiKey.id, literal(window.start, BigInteger), literal(1, Integer)).where(
        ApiKey.key_hash == hash_key(secret)
    )
    statement = (
        upsert_insert(session, table)
        .from_select(["api_key_id", "window_start", "count"], source)
        .on_conflict_do_update(
            index_elements=["api_key_id", "window_start"],
            set_={"count": table.c.count + 1},
        )
        .returning(table.c.count)
    )
    count = (await session.execute(statement)).scalar_one_or_none()
    return None if count is None else int(count)


async def purge_expired(session: AsyncSession, *, now: datetime, window_seconds: int) -> int:
    """Delete the counters of windows that have ended; returns how many went."""
    current = window_of(now, window_seconds)
    result = await session.execute(
        delete(RateLimitCounter)
        .where(RateLimitCounter.window_start < current.start)
        .execution_options(synchronize_session=False)
    )
    return rows_affected(result)
