"""The operator-managed catalog: manufacturers, items, customer catalogs and kits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kitdesk.db.base import Base, BigId, UTCDateTime, utcnow


class Manufacturer(Base):
    """The maker of an item."""

    __tablename__ = "manufacturers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)


class Item(Base):
    """A catalog entry. Items with a ``device_identifier_type`` are serialized devices."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    manufacturer_id: Mapped[int | None] = mapped_column(ForeignKey("manufacturers.id"))
    orderable: Mapped[bool] = mapped_column(Boolean, default=True)
    device_identifier_type: Mapped[str | None] = mapped_column(String(32))
    item_class: Mapped[str | None] = mapped_column(String(64))
    item_class_type: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[str | None] = mapped_column(String(16))
    reading_type: Mapped[str | None] = mapped_column(String(64))
    dimensions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    manufacturer: Mapped[Manufacturer | None] = relationship(lazy="joined", innerjoin=False)


class CatalogEntry(Base):
    """Grants one item to one customer's catalog."""

    __tablename__ = "catalog_entries"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Kit(Base):
    """A named bundle of items. ``account_id`` NULL means a kit every customer may order."""

    __tablename__ = "kits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    loaner: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    kit_items: Mapped[list[KitItem]] = relationship(
        lazy="raise", order_by="KitItem.position", cascade="all, delete-orphan"
    )


class KitItem(Base):
    """One line of a kit: an item and how many of it."""

    __tablename__ = "kit_items"
    __table_args__ = (CheckConstraint("count >= 1", name="count_positive"),)

    kit_id: Mapped[int] = mapped_column(ForeignKey("kits.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    count: Mapped[int] = mapped_column(Integer)

    item: Mapped[Item] = relationship(lazy="raise")
