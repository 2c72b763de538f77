"""Packing: assigning real devices from the order's warehouse to every serialized unit."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from kitdesk.db.models import Device, DeviceIdentifier, Order, OrderDevice, PackedKit
from kitdesk.domain.devices.history import record
from kitdesk.domain.devices.states import DeviceEventType, DeviceStatus
from kitdesk.domain.orders.fulfillment_schemas import DeviceRef, OrderMove
from kitdesk.errors import FieldError, Invalid


@dataclass
class Plan:
    """What must be packed: serialized units per ordered item and per kit unit."""

    direct: dict[int, int] = field(default_factory=dict)  # item id -> units
    kit_units: list[tuple[int, Counter[int]]] = field(default_factory=list)  # (kit id, items)

    @property
    def total_by_item(self) -> Counter[int]:
        total: Counter[int] = Counter(self.direct)
        for _, items in self.kit_units:
            total.update(items)
        return total


def plan_for(order: Order) -> Plan:
    """The serialized units an order needs (its lines, kits and items must be loaded)."""
    plan = Plan()
    for line in order.order_items:
        if line.item.device_identifier_type is not None:
            plan.direct[line.item_id] = plan.direct.get(line.item_id, 0) + line.count
    for kline in order.order_kits:
        units: Counter[int] = Counter()
        for entry in kline.kit.kit_items:
            if entry.item.device_identifier_type is not None:
                units[entry.item_id] += entry.count
        for _ in range(kline.count):
            plan.kit_units.append((kline.kit_id, Counter(units)))
    return plan


async def pack(session: AsyncSession, order: Order, move: OrderMove) -> None:
    """Assign devices and build ``packedKits``; the order must not be packed yet."""
    plan = plan_for(order)
    if move.order_items is None and move.packed_kits is None:
        direct, kits = await _auto_pick(session, order, plan)
    else:
        direct, kits = await _explicit(session, order, plan, move)
    for device in direct:
        _allocate(device, order)
        order.order_devices.append(OrderDevice(device_id=device.id, device=device))
    for position, (kit_id, devices) in enumerate(kits):
        packed = PackedKit(order_id=order.id, kit_id=kit_id, position=position)
        session.add(packed)
        await session.flush()
        order.packed_kits.append(packed)
        for device in devices:
            _allocate(device, order)
            order.order_devices.append(
                OrderDevice(device_id=device.id, device=device, packed_kit_id=packed.id)
            )
    await session.flush()


def _allocate(device: Device, order: Order) -> None:
    device.order_id = order.id
    record(device, DeviceEventType.ALLOCATED, status=DeviceStatus.ALLOCATED, order_id=order.id)


async def _auto_pick(
    session: AsyncSession, order: Order, plan: Plan
) -> tuple[list[Device], list[tuple[int, list[Device]]]]:
    """Take the oldest in-stock devices at the warehouse; concurrent packers skip each other's."""
    pool: dict[int, list[Device]] = {}
    for item_id, units in sorted(plan.total_by_item.items()):
        query = (
            select(Device)
            .options(selectinload(Device.events), selectinload(Device.identifiers))
            .where(
                Device.fulfillment_site_id == order.fulfillment_site_id,
                Device.current_status == DeviceStatus.IN_STOCK.value,
                Device.item_id == item_id,
            )
            .order_by(Device.id)
            .limit(units)
            .with_for_update(skip_locked=True)
        )
        found = list((await session.scalars(query)).all())
        if len(found) < units:
            raise Invalid(
                code="insufficient_devices",
                message=f"the warehouse has {len(found)} of the {units} devices of item "
                f"{item_id} this order needs in stock",
            )
        pool[item_id] = found
    direct = [pool[i].pop(0) for i, n in plan.direct.items() for _ in range(n)]
    kits = [
        (kit_id, [pool[i].pop(0) for i, n in sorted(items.items()) for _ in range(n)])
        for kit_id, items in plan.kit_units
    ]
    return direct, kits


@dataclass
class _Picker:
    """Checks each named device once against the order and the warehouse, collecting errors."""

    order: Order
    found: dict[str, list[Device]]
    errors: list[FieldError] = field(default_factory=list)
    used: set[int] = field(default_factory=set)

    def take(self, ref: DeviceRef, item_ids: set[int], where: str) -> Device | None:
        """The device ``ref`` names, or None with an error recorded at ``where``."""
        # An identifier value is unique per identifier type only: prefer the expected item.
        candidates = self.found.get(_key(ref), [])
        device = next((d for d in candidates if d.item_id in item_ids), None)
        device = device or (candidates[0] if candidates else None)
        problem = self._problem(ref, device, item_ids)
        if problem is not None or device is None:
            self.errors.append(FieldError(where, problem or _missing(ref)))
            return None
        self.used.add(device.id)
        return device

    def _problem(self, ref: DeviceRef, device: Device | None, item_ids: set[int]) -> str | None:
        if device is None:
            return _missing(ref)
        if device.id in self.used:
            return f"device {device.id} is packed twice"
        if device.item_id not in item_ids:
            wanted = ", ".join(str(i) for i in sorted(item_ids))
            return f"device {device.id} is item {device.item_id}, not item {wanted}"
        if device.current_status != DeviceStatus.IN_STOCK.value:
            return f"device {device.id} is {device.current_status}, not in stock"
        if device.fulfillment_site_id != self.order.fulfillment_site_id:
            return f"device {device.id} is in stock at another warehouse"
        return None


def _missing(ref: DeviceRef) -> str:
    if ref.id is not None:
        return f"device {ref.id} not found"
    return f"no device has the identifier {ref.device_identifier}"


def _units(counts: Counter[int] | dict[int, int]) -> str:
    """``{1000: 2, 1001: 1}`` as "2 of item 1000, 1 of item 1001"."""
    return ", ".join(f"{n} of item {i}" for i, n in sorted(counts.items())) or "no devices"


async def _explicit(
    session: AsyncSession, order: Order, plan: Plan, move: OrderMove
) -> tuple[list[Device], list[tuple[int, list[Device]]]]:
    """Check an operator's device assignment against the plan and the warehouse's stock."""
    refs = [r for line in move.order_items or [] for r in line.devices]
    refs += [r for pk in move.packed_kits or [] for r in pk.devices]
    picker = _Picker(order=order, found=await _lookup(session, refs))
    direct = _explicit_items(move, plan, picker)
    kits = _explicit_kits(move, plan, picker)
    if picker.errors:
        raise Invalid(
            code="invalid_packing",
            message="the packing does not match the order",
            errors=picker.errors,
        )
    return direct, kits


def _explicit_items(move: OrderMove, plan: Plan, picker: _Picker) -> list[Device]:
    """Devices for the ordered serialized items, ``orderItems[n].devices``."""
    direct: list[Device] = []
    given: Counter[int] = Counter()
    for n, line in enumerate(move.order_items or []):
        if line.item.id not in plan.direct:
            picker.errors.append(
                FieldError(
                    f"orderItems[{n}].item.id",
                    f"item {line.item.id} has no devices to pack on this order",
                )
            )
            continue
        given[line.item.id] += len(line.devices)
        for m, ref in enumerate(line.devices):
            device = picker.take(ref, {line.item.id}, f"orderItems[{n}].devices[{m}]")
            if device is not None:
                direct.append(device)
    if given != Counter(plan.direct):
        picker.errors.append(
            FieldError(
                "orderItems",
                f"the order's items need {_units(plan.direct)}; given {_units(given)}",
            )
        )
    return direct


def _explicit_kits(move: OrderMove, plan: Plan, picker: _Picker) -> list[tuple[int, list[Device]]]:
    """One ``packedKits`` entry per ordered kit unit, each with that kit's devices."""
    kits: list[tuple[int, list[Device]]] = []
    wanted = list(plan.kit_units)
    given = move.packed_kits or []
    if sorted(k for k, _ in wanted) != sorted(pk.kit.id for pk in given):
        expected = ", ".join(str(k) for k, _ in sorted(wanted, key=lambda w: w[0])) or "none"
        got = ", ".join(str(pk.kit.id) for pk in sorted(given, key=lambda g: g.kit.id)) or "none"
        picker.errors.append(
            FieldError("packedKits", f"one entry per ordered kit unit: kits {expected}; got {got}")
        )
        return kits
    for n, pk in enumerate(given):
        items = next(units for k, units in wanted if k == pk.kit.id)
        wanted.remove((pk.kit.id, items))
        where = f"packedKits[{n}].devices"
        devices = [
            device
            for m, ref in enumerate(pk.devices)
            if (device := picker.take(ref, set(items), f"{where}[{m}]"))
        ]
        # A wrong composition only shows once every named device was accepted.
        miscounted = len(pk.devices) != items.total()
        all_accepted = len(devices) == len(pk.devices)
        if miscounted or (all_accepted and Counter(d.item_id for d in devices) != items):
            picker.errors.append(FieldError(where, f"kit {pk.kit.id} holds {_units(items)}"))
        kits.append((pk.kit.id, devices))
    return kits


def _key(ref: DeviceRef) -> str:
    return f"id:{ref.id}" if ref.id is not None else f"ident:{ref.device_identifier}"


async def _lookup(session: AsyncSession, refs: list[DeviceRef]) -> dict[str, list[Device]]:
    """Devices named by id or identifier, keyed like ``_key``, locked for this transaction."""
    ids = [r.id for r in refs if r.id is not None]
    idents = [r.device_identifier for r in refs if r.id is None and r.device_identifier]
    if not ids and not idents:
        return {}
    query = (
        select(Device)
        .options(selectinload(Device.events), selectinload(Device.identifiers))
        .where(
            or_(
                Device.id.in_(ids),
                Device.id.in_(
                    select(DeviceIdentifier.device_id).where(DeviceIdentifier.value.in_(idents))
                ),
            )
        )
        .order_by(Device.id)
        .with_for_update()
    )
    out: dict[str, list[Device]] = {}
    for device in (await session.scalars(query)).all():
        out[f"id:{device.id}"] = [device]
        for ident in device.identifiers:
            out.setdefault(f"ident:{ident.value}", []).append(device)
    return out
