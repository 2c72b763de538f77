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
    found: dict[str, Device]
    errors: list[FieldError] = field(default_factory=list)
    used: set[int] = field(default_factory=set)

    def take(self, ref: DeviceRef, item_ids: set[int], where: str) -> Device | None:
        device = self.found.get(_key(ref))
        problem = None
        if device is None:
            problem = "no such device"
        elif device.id in self.used:
            problem = f"device {device.id} is packed twice"
        elif device.item_id not in item_ids:
            problem = f"device {device.id} is not one of the expected items"
        elif (
            device.current_status != DeviceStatus.IN_STOCK.value
            or device.fulfillment_site_id != self.order.fulfillment_site_id
        ):
            problem = f"device {device.id} is not in stock at this order's warehouse"
        if problem is not None or device is None:
            self.errors.append(FieldError(where, problem or "no such device"))
            return None
        self.used.add(device.id)
        return device


async def _explicit(
    session: AsyncSession, order: Order, plan: Plan, move: OrderMove
) -> tuple[list[Device], list[tuple[int, list[Device]]]]:
    """Check an operator's device assignment against the plan and the warehouse's stock."""
    refs = [r for line in move.order_items or [] for r in line.devices]
    refs += [r for pk in move.packed_kits or [] for r in pk.devices]
    picker = _Picker(order=order, found=await _lookup(session, refs))
    direct: list[Device] = []
    for n, line in enumerate(move.order_items or []):
        for m, ref in enumerate(line.devices):
            device = picker.take(ref, {line.item.id}, f"orderItems[{n}].devices[{m}]")
            if device is not None:
                direct.append(device)
    if dict(Counter(d.item_id for d in direct)) != plan.direct:
        picker.errors.append(FieldError("orderItems", f"expected devices per item: {plan.direct}"))
    kits = _explicit_kits(move, plan, picker)
    if picker.errors:
        raise Invalid(
            code="invalid_packing",
            message="the packing does not match the order",
            errors=picker.errors,
        )
    return direct, kits


def _explicit_kits(move: OrderMove, plan: Plan, picker: _Picker) -> list[tuple[int, list[Device]]]:
    kits: list[tuple[int, list[Device]]] = []
    wanted = list(plan.kit_units)
    given = move.packed_kits or []
    if sorted(k for k, _ in wanted) != sorted(pk.kit.id for pk in given):
        picker.errors.append(FieldError("packedKits", "expected one entry per ordered kit unit"))
        return kits
    for n, pk in enumerate(given):
        items = next(units for k, units in wanted if k == pk.kit.id)
        wanted.remove((pk.kit.id, items))
        devices = [
            device
            for m, ref in enumerate(pk.devices)
            if (device := picker.take(ref, set(items), f"packedKits[{n}].devices[{m}]"))
        ]
        if Counter(d.item_id for d in devices) != items:
            picker.errors.append(
                FieldError(f"packedKits[{n}]", f"expected devices per item: {dict(items)}")
            )
        kits.append((pk.kit.id, devices))
    return kits


def _key(ref: DeviceRef) -> str:
    return f"id:{ref.id}" if ref.id is not None else f"ident:{ref.device_identifier}"


async def _lookup(session: AsyncSession, refs: list[DeviceRef]) -> dict[str, Device]:
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
        .with_for_update()
    )
    out: dict[str, Device] = {}
    for device in (await session.scalars(query)).all():
        out[f"id:{device.id}"] = device
        for ident in device.identifiers:
            out[f"ident:{ident.value}"] = device
    return out
