"""The API view of a device, and the loader options it needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import joinedload, selectinload

from kitdesk.db.models import Device, Patient
from kitdesk.domain.catalog.service import item_read
from kitdesk.domain.devices.schemas import (
    DeviceEventRead,
    DeviceIdentifierRead,
    DevicePatient,
    DeviceRead,
    DeviceSite,
)
from kitdesk.domain.devices.states import DeviceEventType, DeviceStatus


def device_options(path: Any = None) -> tuple[Any, ...]:
    """Loader options for everything ``device_read`` touches, in a fixed number of queries.

    ``path`` is the relationship loader leading to the devices (None when querying devices).
    """

    def start(attr: Any, loader: Any) -> Any:
        return loader(attr) if path is None else path.options(loader(attr))

    return (
        start(Device.item, joinedload),
        start(Device.site, joinedload),
        start(Device.current_patient, joinedload),
        start(Device.identifiers, selectinload),
        start(Device.events, selectinload),
    )


def patient_summary(patient: Patient) -> DevicePatient:
    """The short view of a patient embedded in a device."""
    return DevicePatient(
        id=patient.id,
        external_identifier=patient.external_identifier,
        first_name=patient.first_name,
        last_name=patient.last_name,
        date_of_birth=patient.date_of_birth,
        email=patient.email,
        phone_number=patient.phone_number,
        archived=patient.archived,
    )


def device_read(device: Device) -> DeviceRead:
    """The API view of a device (load it with ``device_options``)."""
    site = device.site
    patient = device.current_patient
    return DeviceRead(
        id=device.id,
        item=item_read(device.item),
        current_status=DeviceStatus(device.current_status),
        used=device.used,
        current_patient=patient_summary(patient) if patient else None,
        site=DeviceSite(id=site.id, name=site.name, active=site.active) if site else None,
        last_health_check=device.last_health_check,
        device_identifiers=[
            DeviceIdentifierRead(type=i.type, value=i.value) for i in device.identifiers
        ],
        device_events=[
            DeviceEventRead(
                type=DeviceEventType(e.type),
                event_timestamp=e.event_timestamp,
                order_id=e.order_id,
                return_id=e.return_id,
            )
            for e in device.events
        ],
        external_identifier=device.external_identifier,
        disabled_readings=device.disabled_readings,
        created_at=device.created_at,
        updated_at=device.updated_at,
    )
