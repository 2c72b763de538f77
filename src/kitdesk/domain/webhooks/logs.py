"""Webhook logs (one per delivery), redelivery by hand and test events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from kitdesk.domain.common import Page, PageRequest, make_page
from kitdesk.domain.webhooks.outbox import add_event, queue_delivery, render_body
from kitdesk.domain.webhooks.schemas import WebhookAttemptRead, WebhookLogRead
from kitdesk.domain.webhooks.subscriptions import check_type, get_webhook
from kitdesk.errors import InvalidState, not_found

Row = tuple[WebhookDelivery, WebhookSubscription, WebhookEvent]


@dataclass(frozen=True)
class LogFilters:
    """Filters of the webhook log; time ranges include their start and exclude their end."""

    webhook_type: str | None = None
    webhook_id: int | None = None
    status: str | None = None
    retry_attempts_min: int | None = None
    retry_attempts_max: int | None = None
    last_response_status: int | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None
    last_retry_from: datetime | None = None
    last_retry_before: datetime | None = None


def _retries() -> ColumnElement[int]:
    """Retries are the attempts after the first."""
    return case((WebhookDelivery.attempts > 0, WebhookDelivery.attempts - 1), else_=0)


def _conditions(f: LogFilters) -> list[ColumnElement[bool]]:
    d = WebhookDelivery
    conditions: list[ColumnElement[bool]] = []
    if f.webhook_type is not None:
        conditions.append(WebhookEvent.type == f.webhook_type)
    if f.webhook_id is not None:
        conditions.append(d.subscription_id == f.webhook_id)
    if f.status is not None:
        conditions.append(d.status == f.status)
    if f.retry_attempts_min is not None:
        conditions.append(_retries() >= f.retry_attempts_min)
    if f.retry_attempts_max is not None:
        conditions.append(_retries() <= f.retry_attempts_max)
    if f.last_response_status is not None:
        conditions.append(d.last_response_status == f.last_response_status)
    conditions += _range(d.created_at, f.created_from, f.created_before)
    conditions += _range(d.last_attempt_at, f.last_retry_from, f.last_retry_before)
    return conditions


def _range(column: Any, start: datetime | None, end: datetime | None) -> list[ColumnElement[bool]]:
    """``start <= column < end``, for whichever bounds are given."""
    bounds: list[ColumnElement[bool]] = []
    if start is not None:
        bounds.append(column >= start)
    if end is not None:
        bounds.append(column < end)
    return bounds


async def list_logs(
    session: AsyncSession, *, account_id: int, filters: LogFilters, page: PageRequest
) -> Page[WebhookLogRead]:
    """One page of the account's deliveries, oldest first, with their attempts."""
    if filters.webhook_type is not None:
        check_type(filters.webhook_type, field="webhookType")
    query = (
        select(WebhookDelivery, WebhookSubscription, WebhookEvent)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.account_id == account_id, *_conditions(filters))
    )
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = WebhookDelivery.id.desc() if page.sort_descending else WebhookDelivery.id
    result = await session.execute(query.order_by(order).offset(page.offset).limit(page.size))
    rows: list[Row] = [tuple(r) for r in result.all()]  # type: ignore[misc]
    return make_page(await _reads(session, rows), request=page, total=total)


async def _reads(session: AsyncSession, rows: Sequence[Row]) -> list[WebhookLogRead]:
    """The API views of several deliveries, their attempts loaded in one query."""
    attempts: dict[int, list[WebhookAttempt]] = defaultdict(list)
    if rows:
        ids = [delivery.id for delivery, _, _ in rows]
        query = select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids))
        for attempt in await session.scalars(query.order_by(WebhookAttempt.id)):
            attempts[attempt.delivery_id].append(attempt)
    return [to_read(*row, attempts=attempts[row[0].id]) for row in rows]


def to_read(
    delivery: WebhookDelivery,
    subscription: WebhookSubscription,
    event: WebhookEvent,
    *,
    attempts: Sequence[WebhookAttempt],
) -> WebhookLogRead:
    """The API view of one delivery (Impilo's WebhookLog, plus status and attempts)."""
    return WebhookLogRead(
        id=delivery.id,
        webhook_id=subscription.id,
        webhook_type=event.type,
        webhook_url=subscription.url,
        payload=render_body(event).decode("utf-8"),
        create_timestamp=delivery.created_at,
        last_response_status=delivery.last_response_status,
        retry_attempts=max(delivery.attempts - 1, 0),
        last_retry_timestamp=delivery.last_attempt_at,
        status=delivery.status,
        next_attempt_timestamp=delivery.next_attempt_at,
        last_error=delivery.last_error,
        attempts=[
            WebhookAttemptRead(
                attempt_timestamp=a.attempted_at,
                response_status=a.response_status,
                error=a.error,
                outcome=a.outcome,
                duration_ms=a.duration_ms,
            )
            for a in attempts
        ],
    )


async def redeliver(session: AsyncSession, *, account_id: int, log_id: int) -> WebhookLogRead:
    """Queue a new delivery of a logged event to the same webhook, due now."""
    found = (
        await session.execute(
            select(WebhookDelivery, WebhookSubscription, WebhookEvent)
            .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id == log_id, WebhookDelivery.account_id == account_id)
        )
    ).one_or_none()
    if found is None:
        raise not_found("webhook log", log_id)
    _, subscription, event = found
    if subscription.deleted_at is not None:
        raise InvalidState(
            code="webhook_deleted",
            message=f"webhook {subscription.id} was deleted; its events cannot be redelivered",
        )
    delivery = queue_delivery(session, event=event, subscription_id=subscription.id)
    await session.flush()
    return to_read(delivery, subscription, event, attempts=[])


async def send_test(session: AsyncSession, *, account_id: int, webhook_id: int) -> WebhookLogRead:
    """Queue a test event of the webhook's type, to this webhook only."""
    subscription = await get_webhook(session, account_id=account_id, webhook_id=webhook_id)
    payload = {
        "test": True,
        "webhookId": subscription.id,
        "message": "A test event sent by Kitdesk on request; it describes no real resource.",
    }
    event = await add_event(
        session,
        account_id=account_id,
        type=subscription.type,
        resource_key=f"webhook-test:{subscription.id}",
        payload=payload,
    )
    delivery = queue_delivery(session, event=event, subscription_id=subscription.id)
    await session.flush()
    return to_read(delivery, subscription, event, attempts=[])
