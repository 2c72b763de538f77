"""The webhook worker: claims due deliveries, sends them, records every attempt.

Any number of workers may run on any hosts. A claim happens in one short transaction that
selects due deliveries (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write lock, taken
when a transaction begins, serializes claims there) and leases them (``locked_until`` and a
``lease_token``). Sending happens outside any transaction; the result is written only if the
lease is still the worker's. An attempt is therefore never sent twice at once; a worker that
dies mid-send leaves its deliveries to be retried when the lease runs out (at least once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Select, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from kitdesk.db.base import utcnow
from kitdesk.db.engine import create_engine, create_session_factory, session_scope
from kitdesk.db.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSecret,
    WebhookSubscription,
)
from kitdesk.domain.webhooks.delivery import Result, headers_for, send
from kitdesk.domain.webhooks.outbox import render_body
from kitdesk.domain.webhooks.transport import create_client
from kitdesk.settings import Settings

log = logging.getLogger("kitdesk.webhooks")

SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Job:
    """One claimed delivery, ready to send."""

    delivery_id: int
    lease_token: str
    attempts: int
    url: str
    body: bytes
    headers: dict[str, str]


def _due(now: datetime) -> Select[WebhookDelivery]:
    # Only the oldest unfinished delivery of a resource to a subscription may go: the next one
    # waits until it has succeeded or been given up.
    older = aliased(WebhookDelivery)
    waits_for_older = exists().where(
        older.subscription_id == WebhookDelivery.subscription_id,
        older.resource_key == WebhookDelivery.resource_key,
        older.status == "pending",
        older.id < WebhookDelivery.id,
    )
    return (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until <= now),
            ~waits_for_older,
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
    )


async def claim(factory: SessionFactory, settings: Settings, *, now: datetime) -> list[Job]:
    """Lease up to a batch of due deliveries to this worker and prepare their requests."""
    async with session_scope(factory) as session:
        query = _due(now).limit(settings.webhook_worker_batch_size)
        if (await session.connection()).dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
        deliveries = (await session.scalars(query)).all()
        if not deliveries:
            return []
        token = uuid.uuid4().hex
        for delivery in deliveries:
            delivery.locked_until = now + timedelta(seconds=settings.webhook_lease_seconds)
            delivery.lease_token = token
        jobs = await _jobs(session, deliveries, token=token, now=now)
        await session.flush()
        return jobs


async def _jobs(
    session: AsyncSession, deliveries: Sequence[WebhookDelivery], *, token: str, now: datetime
) -> list[Job]:
    subscriptions, events, secrets = await _related(session, deliveries)
    jobs = []
    for delivery in deliveries:
        subscription = subscriptions[delivery.subscription_id]
        if subscription.deleted_at is not None:
            # Queued while the webhook was being deleted: there is nowhere to send it.
            _finish(delivery, status="failed", error="webhook deleted")
            continue
        event = events[delivery.event_id]
        body = render_body(event)
        secret = secrets.get(delivery.account_id)
        jobs.append(
            Job(
                delivery_id=delivery.id,
                lease_token=token,
                attempts=delivery.attempts,
                url=subscription.url,
                body=body,
                headers=headers_for(event_id=event.id, body=body, secret=secret, now=now),
            )
        )
    return jobs


async def _related(
    session: AsyncSession, deliveries: Sequence[WebhookDelivery]
) -> tuple[dict[int, WebhookSubscription], dict[int, WebhookEvent], dict[int, str]]:
    """The deliveries' subscriptions and events by id, and their accounts' secrets."""
    subscription_ids = {d.subscription_id for d in deliveries}
    subscriptions = await session.scalars(
        select(WebhookSubscription).where(WebhookSubscription.id.in_(subscription_ids))
    )
    event_ids = {d.event_id for d in deliveries}
    events = await session.scalars(select(WebhookEvent).where(WebhookEvent.id.in_(event_ids)))
    account_ids = {d.account_id for d in deliveries}
    secrets = await session.scalars(
        select(WebhookSecret).where(WebhookSecret.account_id.in_(account_ids))
    )
    return (
        {s.id: s for s in subscriptions},
        {e.id: e for e in events},
        {s.account_id: s.secret for s in secrets},
    )


def _finish(delivery: WebhookDelivery, *, status: str, error: str) -> None:
    delivery.status = status
    delivery.next_attempt_at = None
    delivery.locked_until = None
    delivery.lease_token = None
    delivery.last_error = error


def _next_state(
    job: Job, result: Result, *, schedule: Sequence[int], now: datetime
) -> tuple[str, dict[str, object]]:
    """The attempt's outcome and the delivery's new columns after ``result``."""
    attempts = job.attempts + 1
    values: dict[str, object] = {
        "attempts": attempts,
        "last_attempt_at": now,
        "last_response_status": result.response_status,
        "locked_until": None,
        "lease_token": None,
        "next_attempt_at": None,
    }
    if result.succeeded:
        return "succeeded", values | {"status": "succeeded", "last_error": None}
    if result.retryable and attempts <= len(schedule):
        retry_at = now + timedelta(seconds=schedule[attempts - 1])
        text = f"{result.description}; retry at {retry_at.isoformat()}"
        return "retry", values | {"next_attempt_at": retry_at, "last_error": text[:200]}
    if result.retryable:
        plural = "" if attempts == 1 else "s"
        text = f"{result.description}; gave up after {attempts} attempt{plural}"
    else:
        text = f"{result.description}; delivery failed"
    return "failed", values | {"status": "failed", "last_error": text[:200]}


async def record(
    factory: SessionFactory,
    settings: Settings,
    results: Sequence[tuple[Job, Result]],
    *,
    now: datetime,
    sent_at: datetime | None = None,
) -> None:
    """Write every attempt (dated ``sent_at``, else ``now``), and each delivery's new state
    where the lease is still ours."""
    schedule = settings.webhook_retry_schedule_seconds
    async with session_scope(factory) as session:
        for job, result in results:
            outcome, values = _next_state(job, result, schedule=schedule, now=now)
            updated = await session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == job.delivery_id,
                    WebhookDelivery.lease_token == job.lease_token,
                    WebhookDelivery.status == "pending",
                )
                .values(**values)
            )
            if updated.rowcount == 0:  # type: ignore[attr-defined]
                # The lease ran out (or the webhook was deleted) while this attempt was under
                # way: the attempt is logged, but the delivery belongs to someone else now.
                log.warning("webhook delivery %s: result arrived after the lease", job.delivery_id)
                outcome = "stale"
            session.add(
                WebhookAttempt(
                    delivery_id=job.delivery_id,
                    attempted_at=sent_at or now,
                    response_status=result.response_status,
                    error=result.error,
                    outcome=outcome,
                    duration_ms=result.duration_ms,
                )
            )


async def run_once(
    factory: SessionFactory,
    settings: Settings,
    *,
    now: datetime,
    client: httpx.AsyncClient,
) -> int:
    """Claim one batch, send it, record the results; returns how many were sent."""
    began = time.monotonic()
    jobs = await claim(factory, settings, now=now)
    if not jobs:
        return 0
    # An attempt is dated when it is sent, on the round's clock: the claim may have waited on
    # the database, and an attempt dated at the round's start could seem to begin before the
    # previous attempt of its delivery (made by another worker meanwhile) had ended.
    sent_at = now + timedelta(seconds=time.monotonic() - began)
    limit = settings.webhook_timeout_seconds
    results = await asyncio.gather(
        *(send(client, url=j.url, body=j.body, headers=j.headers, limit=limit) for j in jobs)
    )
    await record(factory, settings, list(zip(jobs, results, strict=True)), now=now, sent_at=sent_at)
    return len(jobs)


async def run_worker(
    settings: Settings,
    stop_event: asyncio.Event,
    *,
    engine: AsyncEngine | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    """Deliver webhooks until ``stop_event`` is set; the batch in hand is finished first."""
    engine_in_use = engine if engine is not None else create_engine(settings)
    factory = create_session_factory(engine_in_use)
    try:
        async with create_client(settings) as client:
            while not stop_event.is_set():
                sent = await _one_round(factory, settings, clock=clock, client=client)
                if sent < settings.webhook_worker_batch_size:
                    await _wait(stop_event, settings.webhook_worker_poll_seconds)
    finally:
        if engine is None:
            await engine_in_use.dispose()


async def _one_round(
    factory: SessionFactory,
    settings: Settings,
    *,
    clock: Callable[[], datetime],
    client: httpx.AsyncClient,
) -> int:
    try:
        return await run_once(factory, settings, now=clock(), client=client)
    except Exception as exc:  # the database may be briefly away; the worker carries on
        # Only the kind of error: database messages can quote values, and values can be PHI.
        log.warning("webhook worker: round failed (%s); trying again", type(exc).__name__)
        return 0


async def _wait(stop_event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop_event.wait(), seconds)


@contextlib.asynccontextmanager
async def in_process_worker(settings: Settings, engine: AsyncEngine) -> AsyncIterator[None]:
    """Run the worker beside the API server while the block runs, if the settings ask for it."""
    if not settings.webhook_worker_in_process:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, stop, engine=engine))
    try:
        yield
    finally:
        stop.set()
        await task
