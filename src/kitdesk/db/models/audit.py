"""The audit trail: one append-only row per audited operation or refused attempt."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kitdesk.db.base import Base, BigId, UTCDateTime

AUDIT_OUTCOMES = ("success", "denied")
AUDIT_CHANNELS = ("api", "cli", "system")


class AuditEntry(Base):
    """Who did what to which records, when, through which request; never any field value.

    Rows are only ever inserted (PostgreSQL refuses UPDATE and DELETE with a trigger). There is
    deliberately no foreign key: a refused attempt may name no account, and the trail must not
    depend on the rows it describes.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        CheckConstraint("outcome IN ('success', 'denied')", name="outcome"),
        CheckConstraint("channel IN ('api', 'cli', 'system')", name="channel"),
        # "What did this account do", newest first.
        Index("ix_audit_entries_account_id_occurred_at", "account_id", "occurred_at"),
        # "Who touched this record".
        Index("ix_audit_entries_resource_type_resource_id", "resource_type", "resource_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(8))
    request_id: Mapped[str | None] = mapped_column(String(64))
    # The acting account and the prefix of the key it used (None from the command line).
    account_id: Mapped[int | None] = mapped_column(BigId)
    key_prefix: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(32))
    # One record: resource_id. A list: resource_ids holds the ids returned, as ",3,5,8,".
    resource_id: Mapped[int | None] = mapped_column(BigId)
    resource_ids: Mapped[str | None] = mapped_column(Text)
    # Names of the fields an update changed, never their values.
    changed_fields: Mapped[list[str] | None] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(16))
    # For a refused attempt: the error code it was answered with.
    reason: Mapped[str | None] = mapped_column(String(64))
