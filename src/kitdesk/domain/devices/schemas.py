"""Device request and response models."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from kitdesk.domain.catalog.schemas import ItemRead
from kitdesk.domain.common import CamelModel, Id, InputModel, ShortText
from kitdesk.domain.devices.states import DeviceEventType, DeviceStatus


class DeviceIdentifierRead(CamelModel):
    """One identifier of a device: ``type`` (serial, imei, ...) and ``value``."""

    type: str
    value: str


class DeviceEventRead(CamelModel):
    """One entry of a device's history."""

    type: DeviceEventType
    event_timestamp: datetime
    order_id: int | None = None
    return_id: int | None = None


class DevicePatient(CamelModel):
    """The patient a device is with."""

    id: int
    external_identifier: str | None = None
    first_name: str
    last_name: str
    date_of_birth: date | None = None
    email: str | None = None
    phone_number: str | None = None
    archived: bool


class DeviceSite(CamelModel):
    """The customer site a device is at."""

    id: int
    name: str
    active: bool


class DeviceRead(CamelModel):
    """A serialized unit of an item."""

    id: int
    item: ItemRead
    current_status: DeviceStatus
    used: bool
    current_patient: DevicePatient | None = None
    site: DeviceSite | None = None
    last_health_check: datetime | None = None
    device_identifiers: list[DeviceIdentifierRead]
    device_events: list[DeviceEventRead]
    external_identifier: str | None = None
    disabled_readings: bool
    created_at: datetime
    updated_at: datetime


class DeviceReference(InputModel):
    """Names a device by ``deviceId`` or by ``deviceIdentifier`` (exactly one)."""

    device_id: Id | None = None
    device_identifier: ShortText | None = None


class AssociateDevice(DeviceReference):
    """Names a device and a patient (by ``patientId`` or ``patientExternalIdentifier``)."""

    patient_id: Id | None = None
    patient_external_identifier: ShortText | None = None


class ValidateDeviceRead(CamelModel):
    """Whether an identifier names one of the caller's devices, and that device."""

    valid: bool
    device: DeviceRead | None = Field(default=None)
