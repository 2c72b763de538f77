"""Customer-owned locations (sites) and patients."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kitdesk.db.base import Base, BigId, UTCDateTime, utcnow


class AddressMixin:
    """A postal address kept as plain columns (``address_*``) on its owner."""

    address_line_one: Mapped[str | None] = mapped_column(String(200))
    address_line_two: Mapped[str | None] = mapped_column(String(200))
    address_line_three: Mapped[str | None] = mapped_column(String(200))
    address_city: Mapped[str | None] = mapped_column(String(100))
    address_state: Mapped[str | None] = mapped_column(String(100))
    address_zip_code: Mapped[str | None] = mapped_column(String(32))
    address_country: Mapped[str | None] = mapped_column(String(100))
    address_note: Mapped[str | None] = mapped_column(String(500))


class Site(AddressMixin, Base):
    """A customer-managed location (clinic, office) that orders can ship to."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    phone_number: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Patient(AddressMixin, Base):
    """A customer-managed patient profile."""

    __tablename__ = "patients"
    __table_args__ = (
        UniqueConstraint("account_id", "external_identifier"),
        Index("ix_patients_account_id_email", "account_id", "email"),
        Index("ix_patients_account_id_last_name", "account_id", "last_name"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    external_identifier: Mapped[str | None] = mapped_column(String(200))
    first_name: Mapped[str] = mapped_column(String(200))
    last_name: Mapped[str] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(320))
    phone_number: Mapped[str | None] = mapped_column(String(64))
    sex: Mapped[str | None] = mapped_column(String(16))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    enrolled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    site: Mapped[Site | None] = relationship(lazy="raise")
