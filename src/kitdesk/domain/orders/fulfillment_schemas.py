"""Request models of the operator's order moves."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from kitdesk.domain.catalog.schemas import ItemRef, KitRef
from kitdesk.domain.common import Id, InputModel, LongText, ShortText, Text100
from kitdesk.domain.orders.lifecycle import Status


class DeviceRef(InputModel):
    """A device named by ``id`` or by one of its identifiers (``deviceIdentifier``)."""

    id: Id | None = None
    device_identifier: ShortText | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> DeviceRef:
        if (self.id is None) == (self.device_identifier is None):
            raise PydanticCustomError("device_ref", "give exactly one of id or deviceIdentifier")
        return self


class PackedItemIn(InputModel):
    """Devices packed for one ordered (serialized) item."""

    item: ItemRef
    devices: list[DeviceRef] = Field(max_length=1000)


class PackedKitIn(InputModel):
    """One unit of an ordered kit, with the devices packed in it."""

    kit: KitRef
    devices: list[DeviceRef] = Field(max_length=100)


class TrackingNumberIn(InputModel):
    """A carrier tracking number."""

    carrier: Text100
    value: ShortText = Field(min_length=1)


class OrderMove(InputModel):
    """Move an order to ``status``, with what that move needs.

    ``packed`` takes the devices per ordered item and per kit unit (``orderItems``,
    ``packedKits``), or picks in-stock devices at the order's warehouse when both are omitted.
    ``shipped`` needs at least one tracking number (unless the order already has one).
    """

    status: Status
    order_items: list[PackedItemIn] | None = Field(default=None, max_length=100)
    packed_kits: list[PackedKitIn] | None = Field(default=None, max_length=1000)
    tracking_numbers: list[TrackingNumberIn] | None = Field(default=None, max_length=20)
    note: LongText | None = None
