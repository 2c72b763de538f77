"""Webhooks: subscriptions, the account's secret, the event outbox, deliveries and attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from kitdesk.db.base import Base, BigId, UTCDateTime, utcnow

DELIVERY_STATUSES = ("pending", "succeeded", "failed")


class WebhookSubscription(Base):
    """One account's subscription of one URL to one event type.

    Deleting a subscription only stamps ``deleted_at``, so its delivery logs stay readable; the
    partial unique index allows one live subscription per (account, type, url).
    """

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        Index(
            "uq_webhook_subscriptions_live",
            "account_id",
            "type",
            "url",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_webhook_subscriptions_account_id_type", "account_id", "type"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    type: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookSecret(Base):
    """The account's shared secret: sent in ``Impilo-Webhook-Secret`` and used to sign bodies."""

    __tablename__ = "webhook_secrets"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEvent(Base):
    """The outbox: one event, written in the transaction of the change that caused it."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    type: Mapped[str] = mapped_column(String(64))
    # Deliveries of one resource ("order:42") to one subscription go out in the order queued.
    resource_key: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(Base):
    """One event on its way to one subscription (a WebhookLog entry in the API)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        # The worker's claim: pending deliveries by due time.
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        # Per-resource ordering: is an older delivery of this resource still unfinished?
        Index(
            "ix_webhook_deliveries_subscription_resource",
            "subscription_id",
            "resource_key",
            "status",
            "id",
        ),
        # The log filters, always within one account.
        Index("ix_webhook_deliveries_account_id_created_at", "account_id", "created_at"),
        Index("ix_webhook_deliveries_account_id_last_attempt_at", "account_id", "last_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id"), index=True)
    resource_key: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The claim: a worker owns the delivery until locked_until, proven by lease_token.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    last_response_status: Mapped[int | None] = mapped_column(Integer)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery: when, what came back (or what went wrong), how long."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None] = mapped_column(Integer)
    # Why no usable answer came: timeout, network_error, address_refused or error.
    error: Mapped[str | None] = mapped_column(String(32))
    # succeeded, retry (another attempt is scheduled), failed (no more attempts) or stale (the
    # result came after the worker's lease ran out and did not change the delivery)
    outcome: Mapped[str] = mapped_column(String(16))
    duration_ms: Mapped[int] = mapped_column(Integer)
