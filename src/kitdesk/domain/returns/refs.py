"""The return content of a request: devices, counted items and packed kits coming back.

Shared by ``POST /api/v3/return`` and two-way orders; this module imports nothing from orders,
so order schemas can use it.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from kitdesk.domain.catalog.schemas import ItemRef
from kitdesk.domain.common import Count, Id, InputModel, ShortText

MAX_LINES = 100


class ReturnDeviceRef(InputModel):
    """A device coming back, named by ``id`` or by ``deviceIdentifier`` (exactly one)."""

    id: Id | None = None
    device_identifier: ShortText | None = Field(
        default=None, description="One of the device's identifiers (serial, IMEI, ...)."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> ReturnDeviceRef:
        if (self.id is None) == (self.device_identifier is None):
            raise PydanticCustomError("device_ref", "give exactly one of id or deviceIdentifier")
        return self


class ReturnItemIn(InputModel):
    """Counted items coming back: ``{"item": {"id": ...}, "count": n}``."""

    item: ItemRef
    count: Count


class ReturnPackedKitRef(InputModel):
    """A packed kit (the ``id`` of an order's ``packedKits`` entry) coming back whole."""

    id: Id = Field(description="Id of a packed kit of one of the caller's delivered orders.")
