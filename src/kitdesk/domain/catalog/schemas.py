"""Item and kit models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from kitdesk.domain.common import CamelModel, Count, Id, InputModel, Name, ShortText, StrictBool

DeviceIdentifierType = Literal["simCardNumber", "macAddress", "iccid", "serial", "imei"]
ItemSize = Literal["standard", "small", "large", "extraLarge", "medium"]


class ManufacturerRead(CamelModel):
    """The maker of an item."""

    id: int
    name: str


class ItemRead(CamelModel):
    """A catalog item. Items with a ``deviceIdentifierType`` ship as serialized devices."""

    id: int
    name: str
    model: str | None = None
    sku: str
    manufacturer: ManufacturerRead | None = None
    orderable: bool
    device_identifier_type: DeviceIdentifierType | None = None
    item_class: str | None = None
    item_class_type: str | None = None
    size: ItemSize | None = None
    reading_type: str | None = None
    dimensions: dict[str, Any] | None = None
    item_certifications: list[dict[str, Any]] = Field(default_factory=list)


class KitItemRead(CamelModel):
    """One line of a kit."""

    item: ItemRead
    count: int


class KitRead(CamelModel):
    """A named bundle of items."""

    id: int
    name: str
    archived: bool
    loaner: bool
    kit_items: list[KitItemRead]


class ItemRef(InputModel):
    """A reference to an item: only ``id`` is used, other Item fields are ignored."""

    id: Id = Field(description="Id of an item in the caller's catalog.")
    name: Any = None
    model: Any = None
    sku: Any = None
    manufacturer: Any = None
    orderable: Any = None
    device_identifier_type: Any = None
    item_class: Any = None
    item_class_type: Any = None
    size: Any = None
    reading_type: Any = None
    dimensions: Any = None
    item_certifications: Any = None


class KitRef(InputModel):
    """A reference to a kit: only ``id`` is used, other Kit fields are ignored."""

    id: Id = Field(description="Id of a kit the caller may order.")
    name: Any = None
    archived: Any = None
    loaner: Any = None
    kit_items: Any = None


class ItemCreate(InputModel):
    """A new catalog item (operator)."""

    name: Name
    model: ShortText | None = None
    sku: ShortText | None = Field(default=None, description="Generated when omitted.")
    manufacturer: ShortText | None = Field(default=None, description="Manufacturer name.")
    orderable: StrictBool = True
    device_identifier_type: DeviceIdentifierType | None = None
    size: ItemSize | None = None


class KitLineIn(InputModel):
    """One line of a new kit."""

    item: ItemRef
    count: Count


class KitCreate(InputModel):
    """A new kit (operator). ``accountId`` None makes it orderable by every customer."""

    name: Name
    kit_items: list[KitLineIn] = Field(min_length=1, max_length=100)
    loaner: StrictBool = False
    account_id: Id | None = None
