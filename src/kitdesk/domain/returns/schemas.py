"""Return (RMA) request and response models, and the loaner report."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from kitdesk.domain.catalog.schemas import ItemRead, KitRead
from kitdesk.domain.common import CamelModel, Id, InputModel, StrictBool
from kitdesk.domain.devices.schemas import DeviceRead
from kitdesk.domain.devices.states import InspectionResult
from kitdesk.domain.orders.fulfillment_schemas import TrackingNumberIn
from kitdesk.domain.orders.schemas import ShippingOption, TrackingNumberRead
from kitdesk.domain.patients.schemas import PatientRead
from kitdesk.domain.returns.refs import MAX_LINES, ReturnDeviceRef, ReturnItemIn, ReturnPackedKitRef
from kitdesk.domain.returns.states import ReturnStatus
from kitdesk.domain.sites.schemas import SiteRead


class ReturnCreate(InputModel):
    """A new return (RMA) from exactly one patient or site."""

    patient_id: Id | None = Field(default=None, description="Patient making the return.")
    site_id: Id | None = Field(default=None, description="Site making the return.")
    related_order_id: Id | None = Field(
        default=None, description="One of the caller's orders this return relates to."
    )
    return_devices: list[ReturnDeviceRef] | None = Field(default=None, max_length=MAX_LINES)
    return_items: list[ReturnItemIn] | None = Field(default=None, max_length=MAX_LINES)
    return_packed_kits: list[ReturnPackedKitRef] | None = Field(default=None, max_length=MAX_LINES)
    shipping_option: ShippingOption = Field(
        default="standard", description="The shipping service level."
    )
    email_label: StrictBool = Field(
        default=False, description="Email the return label (true) or ship it (false)."
    )


class ReturnItemRead(CamelModel):
    """Counted items expected back."""

    item: ItemRead
    count: int


class ReturnKitRead(CamelModel):
    """A packed kit expected back: ``id`` is the packed kit's id."""

    id: int
    kit: KitRead
    devices: list[DeviceRead]


class ReturnEventRead(CamelModel):
    """One status change of a return."""

    name: ReturnStatus
    event_timestamp: datetime


class ReturnRead(CamelModel):
    """A return (RMA): what is coming back, from whom, and its history."""

    id: int
    patient: PatientRead | None = None
    site: SiteRead | None = None
    current_status: ReturnStatus
    shipping_option: ShippingOption | None = None
    email_label: bool
    return_devices: list[DeviceRead]
    return_items: list[ReturnItemRead]
    return_kits: list[ReturnKitRead]
    return_events: list[ReturnEventRead]
    tracking_numbers: list[TrackingNumberRead]
    related_order_id: int | None = None
    created_at: datetime
    updated_at: datetime


class ReturnMove(InputModel):
    """Move a return to ``status`` (operator); tracking numbers given are added to it."""

    status: ReturnStatus
    tracking_numbers: list[TrackingNumberIn] | None = Field(default=None, max_length=20)


class ReturnReceipt(InputModel):
    """A return arrived at a warehouse (operator)."""

    fulfillment_site_id: Id = Field(description="The warehouse that received the return.")


class DeviceInspection(InputModel):
    """The outcome of inspecting a returned device (operator)."""

    result: InspectionResult = Field(
        description="inStock puts it back in stock at its warehouse; retired takes it out of use."
    )


class LoanerRead(CamelModel):
    """A delivered loaner kit with devices not yet back."""

    order_id: int
    packed_kit_id: int
    kit: KitRead
    patient: PatientRead | None = None
    delivered_at: datetime
    days_out: int = Field(description="Whole days since delivery.")
    devices: list[DeviceRead]
    outstanding: list[int] = Field(
        description="Ids of the kit's devices not yet back at a warehouse."
    )
