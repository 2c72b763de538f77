"""Serialized devices, their identifiers and history, and how they were packed on orders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kitdesk.db.base import Base, BigId, UTCDateTime, utcnow
from kitdesk.db.models.catalog import Item, Kit
from kitdesk.db.models.customers import Patient, Site


class Device(Base):
    """One serialized unit of an item.

    While in a warehouse it belongs to no customer (``account_id`` NULL); once shipped on an order
    it belongs to that order's customer until it comes back and is inspected.
    """

    __tablename__ = "devices"
    __table_args__ = (
        Index("ix_devices_account_id_current_status", "account_id", "current_status"),
        Index(
            "ix_devices_fulfillment_site_id_item_id_status",
            "fulfillment_site_id",
            "item_id",
            "current_status",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    current_status: Mapped[str] = mapped_column(String(32))
    fulfillment_site_id: Mapped[int | None] = mapped_column(ForeignKey("fulfillment_sites.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    current_patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_readings: Mapped[bool] = mapped_column(Boolean, default=False)
    external_identifier: Mapped[str | None] = mapped_column(String(200))
    last_health_check: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    item: Mapped[Item] = relationship(lazy="raise")
    site: Mapped[Site | None] = relationship(lazy="raise")
    current_patient: Mapped[Patient | None] = relationship(lazy="raise")
    identifiers: Mapped[list[DeviceIdentifier]] = relationship(
        lazy="raise", order_by="DeviceIdentifier.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[DeviceEvent]] = relationship(
        lazy="raise", order_by="DeviceEvent.id", cascade="all, delete-orphan"
    )


class DeviceIdentifier(Base):
    """A serial number, IMEI, MAC address... of a device; each value is unique per type."""

    __tablename__ = "device_identifiers"
    __table_args__ = (UniqueConstraint("type", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(200), index=True)


class DeviceEvent(Base):
    """One change in a device's life (received, allocated, shipped, delivered, associated...)."""

    __tablename__ = "device_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    type: Mapped[str] = mapped_column(String(48))
    event_timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    return_id: Mapped[int | None] = mapped_column(ForeignKey("returns.id"))


class PackedKit(Base):
    """One unit of an ordered kit as packed, holding its devices."""

    __tablename__ = "packed_kits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    kit_id: Mapped[int] = mapped_column(ForeignKey("kits.id"))
    position: Mapped[int] = mapped_column(Integer)

    kit: Mapped[Kit] = relationship(lazy="raise")


class OrderDevice(Base):
    """A device packed on an order: for an ordered item, or inside one of its packed kits."""

    __tablename__ = "order_devices"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True, index=True)
    packed_kit_id: Mapped[int | None] = mapped_column(ForeignKey("packed_kits.id"), index=True)

    device: Mapped[Device] = relationship(lazy="raise")


class TrackingNumber(Base):
    """A carrier tracking number, on an order or on a return."""

    __tablename__ = "tracking_numbers"
    __table_args__ = (Index("ix_tracking_numbers_value", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    return_id: Mapped[int | None] = mapped_column(ForeignKey("returns.id"), index=True)
    carrier: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
