"""A customer's devices: finding them, and associating them with patients.

Every query is scoped to the caller's account: warehouse stock (no account) and other customers'
devices answer exactly as unknown ones do. Every change goes through ``history.record`` so the
device's ``deviceEvents`` tell its whole story.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import Device, DeviceIdentifier, Patient
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.common import Page, PageRequest, invalid_input, make_page
from kitdesk.domain.devices.history import record
from kitdesk.domain.devices.schemas import (
    AssociateDevice,
    DeviceRead,
    DeviceReference,
    ValidateDeviceRead,
)
from kitdesk.domain.devices.states import DeviceEventType, DeviceStatus
from kitdesk.domain.devices.views import device_options, device_read
from kitdesk.domain.patients.service import resolve_patient
from kitdesk.domain.webhooks.publish import publish
from kitdesk.errors import FieldError, Invalid, InvalidState, not_found

NOT_AVAILABLE = "device_not_available"
NOT_WITH_PATIENT = "device_not_with_patient"


@dataclass(frozen=True)
class DeviceFilters:
    """Filters of the device list; empty lists mean 'any'."""

    ids: list[int] = field(default_factory=list)
    statuses: list[DeviceStatus] = field(default_factory=list)
    patient_ids: list[int] = field(default_factory=list)
    site_ids: list[int] = field(default_factory=list)
    item_ids: list[int] = field(default_factory=list)


def _owned(account_id: int) -> Select[Device]:
    """The account's devices with everything their view needs."""
    return select(Device).options(*device_options()).where(Device.account_id == account_id)


def _named_by(identifier: str) -> Select[int]:
    """Ids of the devices carrying this identifier value, of any identifier type."""
    return select(DeviceIdentifier.device_id).where(DeviceIdentifier.value == identifier)


async def get_device(session: AsyncSession, *, account_id: int, device_id: int) -> Device:
    """One of the account's devices, or 404."""
    device = await session.scalar(_owned(account_id).where(Device.id == device_id))
    if device is None:
        raise not_found("device", device_id)
    audit.record(session, action="device.read", resource_type="device", resource_id=device.id)
    return device


async def list_devices(
    session: AsyncSession, *, account_id: int, filters: DeviceFilters, page: PageRequest
) -> Page[DeviceRead]:
    """One page of the account's devices, by id."""
    query = _filtered(select(Device).where(Device.account_id == account_id), filters)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = Device.id.desc() if page.sort_descending else Device.id.asc()
    rows = (
        await session.scalars(
            query.options(*device_options()).order_by(order).offset(page.offset).limit(page.size)
        )
    ).all()
    audit.record(
        session, action="device.list", resource_type="device", resource_ids=[d.id for d in rows]
    )
    return make_page([device_read(d) for d in rows], request=page, total=total)


def _filtered(query: Select[Device], f: DeviceFilters) -> Select[Device]:
    if f.ids:
        query = query.where(Device.id.in_(f.ids))
    if f.statuses:
        query = query.where(Device.current_status.in_([s.value for s in f.statuses]))
    if f.patient_ids:
        query = query.where(Device.current_patient_id.in_(f.patient_ids))
    if f.site_ids:
        query = query.where(Device.site_id.in_(f.site_ids))
    if f.item_ids:
        query = query.where(Device.item_id.in_(f.item_ids))
    return query


async def validate(
    session: AsyncSession, *, account_id: int, identifier: str
) -> ValidateDeviceRead:
    """Whether ``identifier`` names one of the account's devices (the oldest, if several)."""
    if "\x00" in identifier:  # no identifier holds one, and PostgreSQL text cannot
        return ValidateDeviceRead(valid=False)
    device = await session.scalar(
        _owned(account_id).where(Device.id.in_(_named_by(identifier))).order_by(Device.id).limit(1)
    )
    if device is None:
        return ValidateDeviceRead(valid=False)
    audit.record(session, action="device.read", resource_type="device", resource_id=device.id)
    return ValidateDeviceRead(valid=True, device=device_read(device))


def _one_of(id_name: str, ident: int | None, text_name: str, text: str | None) -> list[FieldError]:
    """Exactly one of an id and a textual reference must be given, the text not blank."""
    if ident is None and text is None:
        return [FieldError(id_name, f"{id_name} or {text_name} is required")]
    if ident is not None and text is not None:
        both = f"give {id_name} or {text_name}, not both"
        return [FieldError(id_name, both), FieldError(text_name, both)]
    if text is not None and not text.strip():
        return [FieldError(text_name, "must not be blank")]
    return []


def _reference_errors(ref: DeviceReference) -> list[FieldError]:
    return _one_of("deviceId", ref.device_id, "deviceIdentifier", ref.device_identifier)


def _patient_errors(data: AssociateDevice) -> list[FieldError]:
    return _one_of(
        "patientId", data.patient_id, "patientExternalIdentifier", data.patient_external_identifier
    )


async def _locked_device(session: AsyncSession, account_id: int, ref: DeviceReference) -> Device:
    """The referenced device of the account, locked until the transaction ends, or 404."""
    query = _owned(account_id).with_for_update(of=Device)
    if ref.device_id is not None:
        device = await session.scalar(query.where(Device.id == ref.device_id))
        if device is None:
            raise not_found("device", ref.device_id)
        return device
    identifier = ref.device_identifier or ""
    found = (
        await session.scalars(
            query.where(Device.id.in_(_named_by(identifier))).order_by(Device.id).limit(2)
        )
    ).all()
    if not found:
        raise not_found("device with identifier", repr(identifier))
    if len(found) > 1:
        message = f"identifier {identifier!r} names several devices; give deviceId instead"
        raise Invalid(
            code="ambiguous_device_identifier",
            message=message,
            errors=[FieldError("deviceIdentifier", "names several devices")],
        )
    return found[0]


async def _patient(session: AsyncSession, account_id: int, data: AssociateDevice) -> Patient:
    """The referenced patient of the account; unknown or foreign ones are a 400."""
    if data.patient_id is not None:
        return await resolve_patient(
            session, account_id=account_id, patient_id=data.patient_id, field_name="patientId"
        )
    identifier = data.patient_external_identifier or ""
    patient = await session.scalar(
        select(Patient).where(
            Patient.account_id == account_id, Patient.external_identifier == identifier
        )
    )
    if patient is None:
        message = f"patient with external identifier {identifier!r} not found"
        raise Invalid(
            code="unknown_patient",
            message=message,
            errors=[FieldError("patientExternalIdentifier", message)],
        )
    return patient


async def _device_and_patient(
    session: AsyncSession, account_id: int, data: AssociateDevice
) -> tuple[Device, Patient]:
    errors = _reference_errors(data) + _patient_errors(data)
    if errors:
        raise invalid_input(errors)
    device = await _locked_device(session, account_id, data)
    return device, await _patient(session, account_id, data)


def _whereabouts(device: Device) -> str:
    """The device's status, for messages: 'inTransit and at no customer site'."""
    if device.site_id is None:
        return f"{device.current_status} and at no customer site"
    return device.current_status


async def associate(session: AsyncSession, *, account_id: int, data: AssociateDevice) -> Device:
    """Hand a device that is available at a customer site to one of the account's patients."""
    device, patient = await _device_and_patient(session, account_id, data)
    if device.current_status != DeviceStatus.AVAILABLE_AT_SITE or device.site_id is None:
        raise InvalidState(
            code=NOT_AVAILABLE,
            message=f"device {device.id} is {_whereabouts(device)}; only a device "
            f"{DeviceStatus.AVAILABLE_AT_SITE.value} at a customer site can be associated "
            "with a patient",
            extra={"currentStatus": device.current_status},
        )
    device.current_patient = patient
    record(device, DeviceEventType.ASSOCIATED, status=DeviceStatus.WITH_PATIENT)
    await session.flush()
    _audit_change(session, "device.associate", device, ["currentPatient", "currentStatus"])
    await _publish(session, device, "device.associationCreated")
    return device


async def disassociate(session: AsyncSession, *, account_id: int, data: AssociateDevice) -> Device:
    """Take a device back from the patient it is with; it stays available at its site."""
    device, patient = await _device_and_patient(session, account_id, data)
    if device.current_status != DeviceStatus.WITH_PATIENT or device.site_id is None:
        raise InvalidState(
            code=NOT_WITH_PATIENT,
            message=f"device {device.id} is {_whereabouts(device)}; only a device "
            f"{DeviceStatus.WITH_PATIENT.value} at a customer site can be disassociated",
            extra={"currentStatus": device.current_status},
        )
    if device.current_patient_id != patient.id:
        raise InvalidState(
            code=NOT_WITH_PATIENT,
            message=f"device {device.id} is not with patient {patient.id}",
            extra={"currentStatus": device.current_status},
        )
    device.current_patient = None
    record(device, DeviceEventType.DISASSOCIATED, status=DeviceStatus.AVAILABLE_AT_SITE)
    await session.flush()
    _audit_change(session, "device.disassociate", device, ["currentPatient", "currentStatus"])
    await _publish(session, device, "device.associationRemoved")
    return device


async def _publish(session: AsyncSession, device: Device, event_type: str) -> None:
    """Queue a device's association event; the payload is the whole device."""

    async def payload() -> dict[str, Any]:
        return device_read(device).model_dump(mode="json", by_alias=True)

    assert device.account_id is not None  # a customer's device
    await publish(
        session,
        account_id=device.account_id,
        resource_key=f"device:{device.id}",
        payloads={event_type: payload},
    )


async def set_readings(
    session: AsyncSession, *, account_id: int, data: DeviceReference, disabled: bool
) -> Device:
    """Disable (or enable again) the readings of one of the account's devices."""
    errors = _reference_errors(data)
    if errors:
        raise invalid_input(errors)
    device = await _locked_device(session, account_id, data)
    if device.disabled_readings == disabled:
        state = "disabled" if disabled else "enabled"
        raise InvalidState(
            code=f"readings_already_{state}",
            message=f"readings of device {device.id} are already {state}",
        )
    device.disabled_readings = disabled
    event = DeviceEventType.READINGS_DISABLED if disabled else DeviceEventType.READINGS_ENABLED
    record(device, event)
    await session.flush()
    _audit_change(session, "device.update", device, ["disabledReadings"])
    return device


def _audit_change(session: AsyncSession, action: str, device: Device, changed: list[str]) -> None:
    audit.record(
        session, action=action, resource_type="device", resource_id=device.id, changed=changed
    )
