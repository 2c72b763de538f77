"""Orders and what hangs off them: lines, kits, events, notes, external ids."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kitdesk.db.base import Base, BigId, UTCDateTime, utcnow
from kitdesk.db.models.catalog import Item, Kit
from kitdesk.db.models.customers import Patient, Site
from kitdesk.db.models.devices import OrderDevice, PackedKit, TrackingNumber
from kitdesk.db.models.inventory import OrderReservation

if TYPE_CHECKING:
    from kitdesk.db.models.returns import Return


class Order(Base):
    """An outbound shipment to exactly one patient or one site."""

    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("(patient_id IS NULL) <> (site_id IS NULL)", name="exactly_one_recipient"),
        Index("ix_orders_account_id_id", "account_id", "id"),
        Index("ix_orders_account_id_current_status", "account_id", "current_status"),
        Index("ix_orders_account_id_created_at", "account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    current_status: Mapped[str] = mapped_column(String(32))
    shipping_option: Mapped[str | None] = mapped_column(String(32))
    email_label: Mapped[bool] = mapped_column(Boolean, default=False)
    # Kept on the row for reading; order_external_ids indexes them for lookups.
    external_order_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    fulfillment_site_id: Mapped[int | None] = mapped_column(ForeignKey("fulfillment_sites.id"))
    # The status an order on hold returns to when released.
    held_from: Mapped[str | None] = mapped_column(String(32))
    # True when the order has a return leg (returnDevices / returnItems / returnPackedKits).
    two_way: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    patient: Mapped[Patient | None] = relationship(lazy="raise")
    site: Mapped[Site | None] = relationship(lazy="raise")
    order_items: Mapped[list[OrderItem]] = relationship(
        lazy="raise", order_by="OrderItem.position", cascade="all, delete-orphan"
    )
    order_kits: Mapped[list[OrderKit]] = relationship(
        lazy="raise", order_by="OrderKit.position", cascade="all, delete-orphan"
    )
    order_events: Mapped[list[OrderEvent]] = relationship(
        lazy="raise", order_by="OrderEvent.id", cascade="all, delete-orphan"
    )
    order_notes: Mapped[list[OrderNote]] = relationship(
        lazy="raise", order_by="OrderNote.id", cascade="all, delete-orphan"
    )
    tracking_numbers: Mapped[list[TrackingNumber]] = relationship(
        lazy="raise", order_by="TrackingNumber.id", cascade="all, delete-orphan"
    )
    packed_kits: Mapped[list[PackedKit]] = relationship(
        lazy="raise", order_by="PackedKit.position", cascade="all, delete-orphan"
    )
    order_devices: Mapped[list[OrderDevice]] = relationship(
        lazy="raise", order_by="OrderDevice.device_id", cascade="all, delete-orphan"
    )
    # The return leg of a two-way order (a Return whose related_order_id is this order).
    returns: Mapped[list[Return]] = relationship(
        lazy="raise",
        primaryjoin="and_(Order.id == foreign(Return.related_order_id), Return.two_way.is_(True))",
        order_by="Return.id",
        viewonly=True,
    )
    reservations: Mapped[list[OrderReservation]] = relationship(
        lazy="raise", order_by="OrderReservation.item_id", cascade="all, delete-orphan"
    )


class OrderExternalId(Base):
    """Index of a customer's own order ids, for the ``externalOrderId`` filter."""

    __tablename__ = "order_external_ids"
    __table_args__ = (Index("ix_order_external_ids_account_id_value", "account_id", "value"),)

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    value: Mapped[str] = mapped_column(String(200))


class OrderItem(Base):
    """An item ordered directly, with its count."""

    __tablename__ = "order_items"
    __table_args__ = (CheckConstraint("count >= 1", name="count_positive"),)

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    count: Mapped[int] = mapped_column(Integer)

    item: Mapped[Item] = relationship(lazy="raise")


class OrderKit(Base):
    """A kit ordered, with its count."""

    __tablename__ = "order_kits"
    __table_args__ = (CheckConstraint("count >= 1", name="count_positive"),)

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    kit_id: Mapped[int] = mapped_column(ForeignKey("kits.id"), index=True)
    count: Mapped[int] = mapped_column(Integer)

    kit: Mapped[Kit] = relationship(lazy="raise")


class OrderEvent(Base):
    """One status change of an order; ``name`` is the status it moved to."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    event_timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderNote(Base):
    """A free-text note on an order, with who wrote it."""

    __tablename__ = "order_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_key_prefix: Mapped[str | None] = mapped_column(String(32))
