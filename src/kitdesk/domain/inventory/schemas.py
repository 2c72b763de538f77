"""Warehouse and stock models (operator side)."""

from __future__ import annotations

from pydantic import Field

from kitdesk.domain.catalog.schemas import ItemRead
from kitdesk.domain.common import (
    Address,
    AddressIn,
    CamelModel,
    Count,
    Id,
    InputModel,
    Name,
    ShortText,
    Text32,
)


class FulfillmentSiteCreate(InputModel):
    """A new warehouse."""

    code: Text32 = Field(description="Short unique code, e.g. CHI-1.")
    name: Name
    address: AddressIn | None = None


class FulfillmentSiteRead(CamelModel):
    """A warehouse."""

    id: int
    code: str
    name: str
    active: bool
    address: Address | None = None


class StockReceipt(InputModel):
    """Counted (non-serialized) units arriving at a warehouse."""

    item_id: Id
    quantity: Count


class DeviceReceipt(InputModel):
    """Serialized units arriving at a warehouse, one identifier each."""

    item_id: Id
    identifiers: list[ShortText] = Field(min_length=1, max_length=10_000)


class StockLevelRead(CamelModel):
    """Stock of one item at one warehouse."""

    fulfillment_site_id: int
    item: ItemRead
    on_hand: int
    reserved: int
    available: int
