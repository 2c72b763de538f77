"""Webhook subscriptions and the account's webhook secret."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.base import utcnow
from kitdesk.db.models import WebhookDelivery, WebhookSecret, WebhookSubscription
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.common import Page, PageRequest, check_body_id, make_page
from kitdesk.domain.webhooks.schemas import (
    WebhookCreate,
    WebhookPatch,
    WebhookRead,
    WebhookSecretCreate,
)
from kitdesk.domain.webhooks.types import SUBSCRIBABLE_TYPES
from kitdesk.domain.webhooks.urls import check_url
from kitdesk.errors import Conflict, FieldError, Invalid, not_found


def to_read(subscription: WebhookSubscription) -> WebhookRead:
    """The API view of a subscription."""
    return WebhookRead(id=subscription.id, type=subscription.type, url=subscription.url)


def check_type(webhook_type: str, *, field: str = "type") -> None:
    """A 400 for a type that is neither produced by Kitdesk nor documented by Impilo."""
    if webhook_type not in SUBSCRIBABLE_TYPES:
        message = f"unknown webhook type {webhook_type!r}"
        raise Invalid(
            code="unknown_webhook_type", message=message, errors=[FieldError(field, message)]
        )


async def get_webhook(
    session: AsyncSession, *, account_id: int, webhook_id: int
) -> WebhookSubscription:
    """One of the account's live subscriptions, or 404."""
    subscription = await session.scalar(
        select(WebhookSubscription).where(
            WebhookSubscription.id == webhook_id,
            WebhookSubscription.account_id == account_id,
            WebhookSubscription.deleted_at.is_(None),
        )
    )
    if subscription is None:
        raise not_found("webhook", webhook_id)
    return subscription


async def create_webhook(
    session: AsyncSession, *, account_id: int, data: WebhookCreate, allow_private: bool
) -> WebhookSubscription:
    """Subscribe a URL to an event type (one subscription per type and URL)."""
    check_type(data.type)
    await check_url(data.url, allow_private=allow_private)
    subscription = WebhookSubscription(account_id=account_id, type=data.type, url=data.url)
    session.add(subscription)
    await _flush_unique(session)
    audit.record(
        session, action="webhook.create", resource_type="webhook", resource_id=subscription.id
    )
    return subscription


async def patch_webhook(
    session: AsyncSession,
    *,
    account_id: int,
    webhook_id: int,
    data: WebhookPatch,
    allow_private: bool,
) -> WebhookSubscription:
    """Point a subscription at a new URL (a URL equal to the current one is refused)."""
    check_body_id(data.id, webhook_id)
    if data.type is not None:
        check_type(data.type)
    # Resolved before the transaction starts, so no lock is held while DNS answers.
    await check_url(data.url, allow_private=allow_private)
    subscription = await get_webhook(session, account_id=account_id, webhook_id=webhook_id)
    if data.url == subscription.url:
        message = "the new url is the same as the current url"
        raise Invalid(
            code="webhook_url_unchanged", message=message, errors=[FieldError("url", message)]
        )
    subscription.url = data.url
    if data.type is not None:
        subscription.type = data.type
    changed = audit.changed_fields(subscription, {"url": "url", "type": "type"})
    await _flush_unique(session)
    audit.record(
        session,
        action="webhook.update",
        resource_type="webhook",
        resource_id=subscription.id,
        changed=changed,
    )
    return subscription


async def delete_webhook(session: AsyncSession, *, account_id: int, webhook_id: int) -> None:
    """Remove a subscription; its pending deliveries fail, its logs stay readable."""
    subscription = await get_webhook(session, account_id=account_id, webhook_id=webhook_id)
    subscription.deleted_at = utcnow()
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription.id,
            WebhookDelivery.status == "pending",
        )
        .values(
            status="failed",
            next_attempt_at=None,
            locked_until=None,
            lease_token=None,
            last_error="webhook deleted",
        )
    )
    await session.flush()
    audit.record(
        session, action="webhook.delete", resource_type="webhook", resource_id=subscription.id
    )


async def list_webhooks(
    session: AsyncSession, *, account_id: int, page: PageRequest
) -> Page[WebhookRead]:
    """One page of the account's live subscriptions, ordered by id."""
    query = select(WebhookSubscription).where(
        WebhookSubscription.account_id == account_id, WebhookSubscription.deleted_at.is_(None)
    )
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = WebhookSubscription.id.desc() if page.sort_descending else WebhookSubscription.id
    rows = await session.scalars(query.order_by(order).offset(page.offset).limit(page.size))
    return make_page([to_read(s) for s in rows], request=page, total=total)


async def create_secret(
    session: AsyncSession, *, account_id: int, data: WebhookSecretCreate
) -> WebhookSecret:
    """Set the account's webhook secret; an account has at most one."""
    secret = WebhookSecret(account_id=account_id, secret=data.secret, created_at=utcnow())
    session.add(secret)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            code="webhook_secret_exists", message="this account already has a webhook secret"
        ) from exc
    # An account has one secret, so the account's id names it.
    audit.record(
        session,
        action="webhookSecret.create",
        resource_type="webhookSecret",
        resource_id=account_id,
    )
    return secret


async def _flush_unique(session: AsyncSession) -> None:
    """Flush, turning a second live subscription of the same type and URL into a 409."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            code="duplicate_webhook",
            message="this account already has a webhook of this type for this url",
        ) from exc
