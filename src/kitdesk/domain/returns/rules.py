"""The rules a new return must meet: what may come back, from whom.

Only devices the customer holds can be returned, and only from where they are: a patient
returns devices that are with them or at their site (with no patient); a site returns devices
at that site. A device of another customer answers exactly as an unknown one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from kitdesk.db.models import (
    CatalogEntry,
    Device,
    DeviceIdentifier,
    Item,
    Order,
    OrderDevice,
    OrderEvent,
    PackedKit,
    Patient,
    Return,
    ReturnDevice,
    ReturnPackedKit,
    Site,
)
from kitdesk.domain.catalog.service import kit_loader
from kitdesk.domain.devices.states import HELD_BY_CUSTOMER
from kitdesk.domain.devices.views import device_options
from kitdesk.domain.orders.lifecycle import Status
from kitdesk.domain.orders.schemas import ShippingOption
from kitdesk.domain.returns.refs import ReturnDeviceRef, ReturnItemIn, ReturnPackedKitRef
from kitdesk.domain.returns.states import OPEN
from kitdesk.errors import FieldError, Invalid

MSG_CONTENT = "Return must contain at least one of: returnDevices, returnItems, or returnPackedKits"
# Documented for two-way orders, verbatim.
MSG_DEVICE_IN_KIT = "Device cannot be included both as a return device and in a packed kit"
HELD = frozenset(s.value for s in HELD_BY_CUSTOMER)
OPEN_VALUES = sorted(s.value for s in OPEN)


@dataclass
class Problems:
    """Rule violations collected so that one response names every bad field.

    The error's code and message are those of the first violation; each field carries its own.
    """

    first: tuple[str, str] | None = None
    errors: list[FieldError] = field(default_factory=list)

    def add(self, code: str, message: str, field_name: str, detail: str | None = None) -> None:
        if self.first is None:
            self.first = (code, message)
        self.errors.append(FieldError(field_name, detail or message))

    def raise_if_any(self) -> None:
        if self.first is not None:
            code, message = self.first
            raise Invalid(code=code, message=message, errors=self.errors)


@dataclass(frozen=True)
class ReturnRequest:
    """A return to open, with its sender already resolved (None when it did not resolve)."""

    account_id: int
    patient: Patient | None
    site: Site | None
    devices: list[ReturnDeviceRef]
    items: list[ReturnItemIn]
    packed_kits: list[ReturnPackedKitRef]
    shipping_option: ShippingOption | None
    email_label: bool
    related_order_id: int | None
    two_way: bool
    prefix: str = ""


@dataclass
class Resolved:
    """The rows a valid request names, in request order."""

    devices: list[Device] = field(default_factory=list)
    # returnDevices index -> its device, for the first mention of each resolved device.
    device_at: dict[int, Device] = field(default_factory=dict)
    items: dict[int, Item] = field(default_factory=dict)
    packed_kits: list[PackedKit] = field(default_factory=list)
    kit_devices: dict[int, list[Device]] = field(default_factory=dict)


async def check(session: AsyncSession, r: ReturnRequest, p: Problems) -> Resolved:
    """Apply every rule, adding each violation to ``p``; returns what resolved."""
    resolved = Resolved()
    if not (r.devices or r.items or r.packed_kits):
        p.add("return_content_required", MSG_CONTENT, f"{r.prefix}returnDevices")
    await _check_devices(session, r, p, resolved)
    await _check_items(session, r, p, resolved)
    await _check_packed_kits(session, r, p, resolved)
    _check_overlap(r, p, resolved)
    await _check_open_returns(session, r, p, resolved)
    return resolved


def _label(ref: ReturnDeviceRef) -> str:
    return str(ref.id) if ref.id is not None else str(ref.device_identifier)


def _device_field(r: ReturnRequest, n: int, ref: ReturnDeviceRef) -> str:
    key = "id" if ref.id is not None else "deviceIdentifier"
    return f"{r.prefix}returnDevices[{n}].{key}"


def _location_problem(r: ReturnRequest, device: Device, label: str) -> str | None:
    """Why the sender cannot return this device, or None when it can."""
    if r.patient is not None:
        patient = r.patient
        at_site = (
            device.current_patient_id is None
            and patient.site_id is not None
            and device.site_id == patient.site_id
        )
        if device.current_patient_id == patient.id or at_site:
            return None
        return f"device {label} is not with patient {patient.id} or at the patient's site"
    if r.site is not None and device.site_id != r.site.id:
        return f"device {label} is not at site {r.site.id}"
    return None


def _holding_problem(device: Device, label: str) -> str | None:
    if device.current_status in HELD:
        return None
    return f"device {label} cannot be returned: it is {device.current_status}"


async def _customer_devices(
    session: AsyncSession, account_id: int, refs: list[ReturnDeviceRef]
) -> tuple[dict[int, Device], dict[str, Device]]:
    """The account's devices named by id and by identifier (others' devices are not found)."""
    ids = [ref.id for ref in refs if ref.id is not None]
    values = [ref.device_identifier for ref in refs if ref.device_identifier is not None]
    if not ids and not values:
        return {}, {}
    by_value = select(DeviceIdentifier.device_id).where(DeviceIdentifier.value.in_(values))
    rows = await session.scalars(
        select(Device)
        .options(*device_options())
        .where(Device.account_id == account_id, or_(Device.id.in_(ids), Device.id.in_(by_value)))
    )
    devices = list(rows.all())
    return (
        {d.id: d for d in devices},
        {i.value: d for d in devices for i in d.identifiers},
    )


async def _check_devices(
    session: AsyncSession, r: ReturnRequest, p: Problems, resolved: Resolved
) -> None:
    by_id, by_value = await _customer_devices(session, r.account_id, r.devices)
    seen: set[int] = set()
    for n, ref in enumerate(r.devices):
        where, label = _device_field(r, n, ref), _label(ref)
        device = by_id.get(ref.id) if ref.id is not None else by_value.get(label)
        if device is None:
            p.add("unknown_device", f"device {label} not found", where)
            continue
        if device.id in seen:
            message = f"device {label} appears more than once in returnDevices"
            p.add("duplicate_device", message, where)
            continue
        seen.add(device.id)
        resolved.devices.append(device)
        resolved.device_at[n] = device
        held = _holding_problem(device, label)
        if held is not None:
            p.add("device_not_returnable", held, where)
            continue
        located = _location_problem(r, device, label)
        if located is not None:
            p.add("device_not_with_sender", located, where)


async def _check_items(
    session: AsyncSession, r: ReturnRequest, p: Problems, resolved: Resolved
) -> None:
    ids = [line.item.id for line in r.items]
    if ids:
        rows = await session.scalars(
            select(Item)
            .join(
                CatalogEntry,
                (CatalogEntry.item_id == Item.id) & (CatalogEntry.account_id == r.account_id),
            )
            .where(Item.id.in_(ids))
        )
        resolved.items = {i.id: i for i in rows}
    seen: set[int] = set()
    for n, ident in enumerate(ids):
        where = f"{r.prefix}returnItems[{n}].item.id"
        item = resolved.items.get(ident)
        if item is None:
            p.add("unknown_item", f"item {ident} not found", where)
        elif ident in seen:
            message = (
                f"item {ident} appears more than once in returnItems; give it once with a count"
            )
            p.add("duplicate_item", message, where)
        elif item.device_identifier_type is not None:
            message = f"item {ident} is serialized: return its devices in returnDevices"
            p.add("serialized_item", message, where)
        seen.add(ident)


async def _customer_packed_kits(
    session: AsyncSession, account_id: int, ids: list[int]
) -> tuple[dict[int, tuple[PackedKit, bool]], dict[int, list[Device]]]:
    """The account's packed kits (with whether their order was delivered) and their devices."""
    delivered = exists().where(
        OrderEvent.order_id == PackedKit.order_id, OrderEvent.name == Status.DELIVERED.value
    )
    rows = await session.execute(
        select(PackedKit, delivered)
        .join(Order, Order.id == PackedKit.order_id)
        .options(joinedload(PackedKit.kit).options(*kit_loader()))
        .where(PackedKit.id.in_(ids), Order.account_id == account_id)
    )
    kits = {kit.id: (kit, bool(was_delivered)) for kit, was_delivered in rows.unique().all()}
    devices: dict[int, list[Device]] = {k: [] for k in kits}
    if not kits:
        return kits, devices
    contents = await session.scalars(
        select(OrderDevice)
        .options(joinedload(OrderDevice.device).options(*device_options()))
        .where(OrderDevice.packed_kit_id.in_(list(kits)))
        .order_by(OrderDevice.device_id)
    )
    for line in contents.unique():
        assert line.packed_kit_id is not None
        devices[line.packed_kit_id].append(line.device)
    return kits, devices


async def _check_packed_kits(
    session: AsyncSession, r: ReturnRequest, p: Problems, resolved: Resolved
) -> None:
    ids = [ref.id for ref in r.packed_kits]
    if not ids:
        return
    kits, contents = await _customer_packed_kits(session, r.account_id, ids)
    seen: set[int] = set()
    for n, ident in enumerate(ids):
        where = f"{r.prefix}returnPackedKits[{n}].id"
        if ident not in kits:
            p.add("unknown_packed_kit", f"packed kit {ident} not found", where)
            continue
        if ident in seen:
            message = f"packed kit {ident} appears more than once in returnPackedKits"
            p.add("duplicate_packed_kit", message, where)
            continue
        seen.add(ident)
        kit, delivered = kits[ident]
        resolved.packed_kits.append(kit)
        resolved.kit_devices[ident] = contents[ident]
        if not delivered:
            p.add("packed_kit_not_delivered", f"packed kit {ident} has not been delivered", where)
            continue
        _check_kit_devices(r, p, kit, contents[ident], where)


def _check_kit_devices(
    r: ReturnRequest, p: Problems, kit: PackedKit, devices: list[Device], where: str
) -> None:
    for device in devices:
        label = str(device.id)
        if device.account_id != r.account_id or device.order_id != kit.order_id:
            message = f"packed kit {kit.id}: device {label} is no longer with the customer"
            p.add("packed_kit_incomplete", message, where)
            continue
        problem = _holding_problem(device, label) or _location_problem(r, device, label)
        if problem is not None:
            p.add("packed_kit_not_returnable", f"packed kit {kit.id}: {problem}", where)


def _check_overlap(r: ReturnRequest, p: Problems, resolved: Resolved) -> None:
    in_kits = {d.id: kit_id for kit_id, ds in resolved.kit_devices.items() for d in ds}
    if not in_kits:
        return
    for n, device in resolved.device_at.items():
        ref = r.devices[n]
        if device.id in in_kits:
            detail = f"device {_label(ref)} is in packed kit {in_kits[device.id]}"
            p.add("device_in_packed_kit", MSG_DEVICE_IN_KIT, _device_field(r, n, ref), detail)


async def _open_returns_of(
    session: AsyncSession, key: Any, return_id: Any, ids: list[int]
) -> dict[int, int]:
    """For each of ``ids`` (values of ``key``) on an open return, that return's id."""
    if not ids:
        return {}
    rows = await session.execute(
        select(key, Return.id)
        .join(Return, Return.id == return_id)
        .where(key.in_(ids), Return.current_status.in_(OPEN_VALUES))
    )
    return {row[0]: row[1] for row in rows}


async def _check_open_returns(
    session: AsyncSession, r: ReturnRequest, p: Problems, resolved: Resolved
) -> None:
    """A device or packed kit already on an open return cannot go on another."""
    kit_devices = [d for ds in resolved.kit_devices.values() for d in ds]
    device_ids = sorted({d.id for d in [*resolved.device_at.values(), *kit_devices]})
    if device_ids:
        # Lock the devices (in id order) so that two returns of one device cannot both pass.
        await session.execute(
            select(Device.id).where(Device.id.in_(device_ids)).order_by(Device.id).with_for_update()
        )
    devices_out = await _open_returns_of(
        session, ReturnDevice.device_id, ReturnDevice.return_id, device_ids
    )
    kits_out = await _open_returns_of(
        session,
        ReturnPackedKit.packed_kit_id,
        ReturnPackedKit.return_id,
        [k.id for k in resolved.packed_kits],
    )
    for n, device in resolved.device_at.items():
        if device.id in devices_out:
            ref = r.devices[n]
            message = f"device {_label(ref)} is already on return {devices_out[device.id]}"
            p.add("device_already_returning", message, _device_field(r, n, ref))
    first_mention = {ref.id: n for n, ref in reversed(list(enumerate(r.packed_kits)))}
    for kit in resolved.packed_kits:
        where = f"{r.prefix}returnPackedKits[{first_mention[kit.id]}].id"
        if kit.id in kits_out:
            message = f"packed kit {kit.id} is already on return {kits_out[kit.id]}"
            p.add("packed_kit_already_returning", message, where)
            continue
        for device in resolved.kit_devices[kit.id]:
            if device.id in devices_out:
                message = (
                    f"packed kit {kit.id}: device {device.id} is already on return "
                    f"{devices_out[device.id]}"
                )
                p.add("device_already_returning", message, where)
