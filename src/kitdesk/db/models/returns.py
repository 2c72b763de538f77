"""Returns (RMAs): devices and items coming back from a patient or a site."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kitdesk.db.base import Base, BigId, UTCDateTime, utcnow
from kitdesk.db.models.catalog import Item
from kitdesk.db.models.customers import Patient, Site
from kitdesk.db.models.devices import Device, PackedKit


class Return(Base):
    """A return: standalone, or the return leg of a two-way order (``related_order_id``)."""

    __tablename__ = "returns"
    __table_args__ = (
        CheckConstraint("(patient_id IS NULL) <> (site_id IS NULL)", name="exactly_one_sender"),
        Index("ix_returns_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    related_order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    two_way: Mapped[bool] = mapped_column(Boolean, default=False)
    current_status: Mapped[str] = mapped_column(String(32))
    shipping_option: Mapped[str | None] = mapped_column(String(32))
    email_label: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at_site_id: Mapped[int | None] = mapped_column(ForeignKey("fulfillment_sites.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    patient: Mapped[Patient | None] = relationship(lazy="raise")
    site: Mapped[Site | None] = relationship(lazy="raise")
    devices: Mapped[list[ReturnDevice]] = relationship(
        lazy="raise", order_by="ReturnDevice.position", cascade="all, delete-orphan"
    )
    items: Mapped[list[ReturnItem]] = relationship(
        lazy="raise", order_by="ReturnItem.position", cascade="all, delete-orphan"
    )
    packed_kits: Mapped[list[ReturnPackedKit]] = relationship(
        lazy="raise", order_by="ReturnPackedKit.position", cascade="all, delete-orphan"
    )
    events: Mapped[list[ReturnEvent]] = relationship(
        lazy="raise", order_by="ReturnEvent.id", cascade="all, delete-orphan"
    )


class ReturnDevice(Base):
    """A device expected back."""

    __tablename__ = "return_devices"

    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)
    packed_kit_id: Mapped[int | None] = mapped_column(ForeignKey("packed_kits.id"))

    device: Mapped[Device] = relationship(lazy="raise")


class ReturnItem(Base):
    """Counted (non-serialized) items expected back."""

    __tablename__ = "return_items"
    __table_args__ = (CheckConstraint("count >= 1", name="count_positive"),)

    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    count: Mapped[int] = mapped_column(Integer)

    item: Mapped[Item] = relationship(lazy="raise")


class ReturnPackedKit(Base):
    """A packed kit expected back whole."""

    __tablename__ = "return_packed_kits"

    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"), primary_key=True)
    packed_kit_id: Mapped[int] = mapped_column(ForeignKey("packed_kits.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)

    packed_kit: Mapped[PackedKit] = relationship(lazy="raise")


class ReturnEvent(Base):
    """One status change of a return."""

    __tablename__ = "return_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    event_timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
