"""Releasing the claim of a failed idempotent request, even when the database is down.

A request whose work failed deletes its in-flight claim so the client may retry with the same
key. When the failure was the database itself (PostgreSQL stopped or unreachable), that delete
fails too. The failure is logged, the client still gets the request's own answer (typically
503 ``database_unavailable``), and the release is retried in the background with a growing delay
until the database answers again, so the key is free again as soon as it does, rather than only
once ``idempotency_abandon_seconds`` have passed (which stays the bound when this process dies).

Releasing is always safe: it deletes the claim only while it is still in flight under this
request's token. A work transaction whose commit did land has stored the response on the claim,
so the release leaves it alone, and the retry replays that response.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import State

from kitdesk.api.integrity import clock
from kitdesk.db.engine import session_scope
from kitdesk.domain.integrity import idempotency

log = logging.getLogger("kitdesk.idempotency")

FIRST_DELAY = 0.1  # seconds before the first background attempt; doubled after each failure
MAX_DELAY = 2.0
STATE_NAME = "idempotency_releases"


@dataclass(frozen=True)
class ClaimRef:
    """Which claim to release: the key and the token of the request that holds it."""

    account_id: int
    key: str
    token: str


async def release_once(factory: async_sessionmaker[AsyncSession], claim: ClaimRef) -> None:
    """Delete the claim if it is still ours and in flight (one short transaction)."""
    async with session_scope(factory) as session:
        await idempotency.release(
            session, account_id=claim.account_id, key=claim.key, token=claim.token
        )


@dataclass
class PendingReleases:
    """Claims whose release failed, being retried in the background by this server process."""

    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def retry(
        self, factory: async_sessionmaker[AsyncSession], claim: ClaimRef, *, until: datetime
    ) -> None:
        """Keep trying to release ``claim`` until it works or ``until`` (when any retry may take
        the claim over anyway) has passed."""
        task = asyncio.get_running_loop().create_task(_keep_trying(factory, claim, until))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def settle(self) -> None:
        """Wait for every pending release to end (it succeeded or gave up)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


def pending(state: State) -> PendingReleases:
    """The app's pending releases (made on first use)."""
    releases = getattr(state, STATE_NAME, None)
    if not isinstance(releases, PendingReleases):
        releases = PendingReleases()
        setattr(state, STATE_NAME, releases)
    return releases


async def release_or_retry_later(
    factory: async_sessionmaker[AsyncSession],
    claim: ClaimRef,
    *,
    state: State,
    abandon_after: timedelta,
) -> None:
    """Release ``claim`` now; if the database refuses, log it and retry in the background.

    Never raises (except on cancellation): the request's own answer is what the client gets.
    """
    try:
        await release_once(factory, claim)
    except Exception:
        log.warning("idempotency claim not released; retrying in the background", exc_info=True)
        pending(state).retry(factory, claim, until=clock.now() + abandon_after)


async def _keep_trying(
    factory: async_sessionmaker[AsyncSession], claim: ClaimRef, until: datetime
) -> None:
    delay = FIRST_DELAY
    while clock.now() < until:
        await asyncio.sleep(delay)
        try:
            await release_once(factory, claim)
        except Exception:
            delay = min(delay * 2, MAX_DELAY)
            continue
        log.info("idempotency claim released after the database came back")
        return
    log.warning("idempotency claim left to be taken over once abandoned")
