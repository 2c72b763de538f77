"""Warehouses (fulfillment sites), their stock, and the stock each order holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kitdesk.db.base import Base, BigId, UTCDateTime, utcnow
from kitdesk.db.models.customers import AddressMixin


class FulfillmentSite(AddressMixin, Base):
    """An operator warehouse that holds stock and ships orders."""

    __tablename__ = "fulfillment_sites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockLevel(Base):
    """Units of one item at one warehouse.

    ``on_hand`` counts units physically there and not yet shipped (serialized units in stock or
    packed); ``reserved`` counts the part promised to orders. The checks make negative or
    over-reserved stock impossible whatever the code above does.
    """

    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
    )

    fulfillment_site_id: Mapped[int] = mapped_column(
        ForeignKey("fulfillment_sites.id"), primary_key=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True, index=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OrderReservation(Base):
    """How many units of an item an order holds at its warehouse (kits expanded to items)."""

    __tablename__ = "order_reservations"
    __table_args__ = (CheckConstraint("quantity >= 1", name="quantity_positive"),)

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer)
