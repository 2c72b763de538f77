"""Integrity tables: idempotency keys, rate-limit counters, claimed external order ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kitdesk.db.base import Base, BigId, UTCDateTime, utcnow


class IdempotencyKey(Base):
    """A client's ``Idempotency-Key``: claimed while its request runs, then the stored response.

    The unique constraint on (account_id, key) is what makes a key single-use across every server
    process; ``claim_token`` names the request that holds an in-flight claim.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("account_id", "key"),
        CheckConstraint("state IN ('in_flight', 'stored')", name="state"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 (hex) of method, path and canonical body.
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    claim_token: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    response_status: Mapped[int | None] = mapped_column(Integer)
    # [[name, value], ...] as sent, without Content-Length.
    response_headers: Mapped[list[Any] | None] = mapped_column(JSON)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)


class RateLimitCounter(Base):
    """Requests made with one API key in one fixed window (``window_start``: Unix seconds)."""

    __tablename__ = "rate_limit_counters"
    __table_args__ = (
        CheckConstraint("count >= 0", name="count"),
        Index("ix_rate_limit_counters_window_start", "window_start"),
    )

    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)


class ExternalOrderIdClaim(Base):
    """An external order id taken by one order, for accounts that keep them unique.

    Rows exist only while the account's ``unique_external_order_ids`` is on; the primary key
    (account_id, value) refuses a second order with the same id, whatever the concurrency.
    """

    __tablename__ = "external_order_id_claims"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
