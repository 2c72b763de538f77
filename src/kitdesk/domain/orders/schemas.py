"""Order request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from kitdesk.domain.catalog.schemas import ItemRead, ItemRef, KitRead, KitRef
from kitdesk.domain.common import CamelModel, Count, InputModel, LongText, ShortText, StrictBool
from kitdesk.domain.devices.schemas import DeviceRead
from kitdesk.domain.orders.lifecycle import InitialStatus, Status
from kitdesk.domain.patients.schemas import PatientRead, PatientRef
from kitdesk.domain.returns.refs import ReturnDeviceRef, ReturnItemIn, ReturnPackedKitRef
from kitdesk.domain.sites.schemas import SiteRead, SiteRef

ShippingOption = Literal["standard", "expedited", "overnight", "pickup"]
OrderSort = Literal["id", "createdAt"]
MAX_LINES = 100


class OrderItemIn(InputModel):
    """An item to ship: ``{"item": {"id": ...}, "count": n}``."""

    item: ItemRef
    count: Count


class OrderKitIn(InputModel):
    """A kit to ship: ``{"kit": {"id": ...}, "count": n}``."""

    kit: KitRef
    count: Count


class OrderNoteIn(InputModel):
    """A note attached to an order."""

    note: LongText


class OrderCreate(InputModel):
    """A new order for exactly one existing patient or site."""

    external_order_ids: list[ShortText] | None = Field(
        default=None, max_length=50, description="The client's own ids for this order."
    )
    patient: PatientRef | None = Field(default=None, description="Recipient patient (only id).")
    site: SiteRef | None = Field(default=None, description="Recipient site (only id).")
    order_items: list[OrderItemIn] | None = Field(default=None, max_length=MAX_LINES)
    order_kits: list[OrderKitIn] | None = Field(default=None, max_length=MAX_LINES)
    order_notes: list[OrderNoteIn] | None = Field(default=None, max_length=20)
    shipping_option: ShippingOption | None = None
    email_label: StrictBool = Field(
        default=False, description="Email the return label (true) or ship it (false)."
    )
    current_status: InitialStatus | None = Field(
        default=None, description="Set by Kitdesk; a new order is always received."
    )
    return_devices: list[ReturnDeviceRef] | None = Field(
        default=None, max_length=MAX_LINES, description="Devices to come back (two-way order)."
    )
    return_items: list[ReturnItemIn] | None = Field(
        default=None, max_length=MAX_LINES, description="Counted items to come back."
    )
    return_packed_kits: list[ReturnPackedKitRef] | None = Field(
        default=None, max_length=MAX_LINES, description="Packed kits to come back whole."
    )


class OrderItemRead(CamelModel):
    """An ordered item and its count."""

    item: ItemRead
    count: int


class OrderKitRead(CamelModel):
    """An ordered kit and its count."""

    kit: KitRead
    count: int


class OrderEventRead(CamelModel):
    """One status change."""

    name: Status
    event_timestamp: datetime


class OrderNoteRead(CamelModel):
    """A note on the order."""

    note: str
    created_at: datetime
    created_by: dict[str, Any] | None = None


class TrackingNumberRead(CamelModel):
    """A carrier tracking number."""

    carrier: str
    value: str


class ReturnDeviceIdRead(CamelModel):
    """A device expected back on the order's return leg."""

    id: int


class ReturnItemRead(CamelModel):
    """Counted items expected back."""

    item: ItemRead
    count: int


class ReturnPackedKitIdRead(CamelModel):
    """A packed kit expected back whole."""

    id: int


class PackedKitRead(CamelModel):
    """One unit of an ordered kit as packed, with its devices."""

    id: int
    kit: KitRead
    devices: list[DeviceRead]


class OrderRead(CamelModel):
    """An order, with what was shipped and its history."""

    id: int
    external_order_ids: list[str]
    patient: PatientRead | None = None
    site: SiteRead | None = None
    current_status: Status
    shipping_option: ShippingOption | None = None
    email_label: bool
    order_items: list[OrderItemRead]
    order_kits: list[OrderKitRead]
    order_notes: list[OrderNoteRead]
    order_events: list[OrderEventRead]
    tracking_numbers: list[TrackingNumberRead]
    devices: list[DeviceRead] = Field(
        description="Devices shipped for the ordered items (kit devices are in packedKits)."
    )
    packed_kits: list[PackedKitRead]
    return_id: int | None = Field(
        default=None, description="The return that carries this order's return leg."
    )
    return_devices: list[ReturnDeviceIdRead]
    return_items: list[ReturnItemRead]
    return_packed_kits: list[ReturnPackedKitIdRead]
    created_at: datetime
    updated_at: datetime


class OrderStatusRead(CamelModel):
    """One status of the order lifecycle and the statuses an order may move to from it."""

    status: Status
    terminal: bool
    next: list[Status] = Field(
        description="Statuses reachable from this one. For onHold: the statuses an order can be "
        "held from; a held order goes back only to the one it left."
    )
    only_back_to_held_status: bool
    conditions: dict[str, str] = Field(
        description="Moves allowed only for some orders (next status -> which orders)."
    )
    customer_cancellable: bool
