"""Working an order through its lifecycle: every move checked against ``lifecycle``.

The order row is locked for the whole move, so two operators (or processes) moving the same
order are serialized by the database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from kitdesk.db.models import (
    Device,
    Order,
    OrderDevice,
    OrderEvent,
    OrderItem,
    OrderKit,
    OrderNote,
    TrackingNumber,
)
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.catalog.service import kit_loader
from kitdesk.domain.devices.history import record
from kitdesk.domain.devices.states import DeviceEventType, DeviceStatus
from kitdesk.domain.inventory import service as inventory
from kitdesk.domain.orders import lifecycle, packing
from kitdesk.domain.orders.events import order_status_changed
from kitdesk.domain.orders.fulfillment_schemas import OrderMove
from kitdesk.domain.orders.lifecycle import OrderFacts, Status
from kitdesk.errors import FieldError, Invalid, InvalidState, not_found

S = Status


def fulfillment_loader() -> tuple[Any, ...]:
    """What a move may touch: lines, kits, devices with their history, reservations."""
    device = selectinload(Order.order_devices).joinedload(OrderDevice.device)
    return (
        joinedload(Order.patient),
        joinedload(Order.site),
        selectinload(Order.order_items).joinedload(OrderItem.item),
        selectinload(Order.order_kits).joinedload(OrderKit.kit).options(*kit_loader()),
        device.selectinload(Device.events),
        device.selectinload(Device.identifiers),
        selectinload(Order.packed_kits),
        selectinload(Order.tracking_numbers),
        selectinload(Order.reservations),
        selectinload(Order.order_events),
    )


async def lock_order(session: AsyncSession, *, order_id: int, account_id: int | None) -> Order:
    """Load and lock an order for a move; ``account_id`` None means any account (operator)."""
    query = select(Order).options(*fulfillment_loader()).where(Order.id == order_id)
    if account_id is not None:
        query = query.where(Order.account_id == account_id)
    order = await session.scalar(query.with_for_update(of=Order))
    if order is None:
        raise not_found("order", order_id)
    return order


def facts(order: Order) -> OrderFacts:
    """What the lifecycle rule needs to know about this order."""
    return OrderFacts(
        status=Status(order.current_status),
        held_from=Status(order.held_from) if order.held_from else None,
        two_way=order.two_way,
        pickup=order.shipping_option == "pickup",
        outbound=bool(order.order_items or order.order_kits),
    )


def check_move(order: Order, target: Status) -> None:
    """Raise a 409 naming the current status and the allowed ones unless ``target`` is allowed."""
    allowed = lifecycle.allowed_moves(facts(order))
    if target not in allowed:
        names = ", ".join(a.value for a in allowed) or "none (final status)"
        raise InvalidState(
            code="illegal_status_move",
            message=f"order {order.id} is {order.current_status}; it can move to: {names}",
            extra={
                "currentStatus": order.current_status,
                "allowedStatuses": [a.value for a in allowed],
            },
        )


def _enter(order: Order, target: Status) -> None:
    order.current_status = target.value
    order.order_events.append(OrderEvent(name=target.value))


async def move(
    session: AsyncSession, order: Order, data: OrderMove, *, key_prefix: str | None = None
) -> Order:
    """Apply one operator move to a locked order; a ``note`` given with it is kept on the order."""
    target = data.status
    check_move(order, target)
    _check_fields(data, target, Status(order.current_status))
    if target is S.CANCELLED:
        await cancel(session, order, allowed=lifecycle.OPERATOR_CANCELLABLE)
    else:
        await _apply(session, order, target, data)
    if data.note is not None:
        session.add(OrderNote(order_id=order.id, note=data.note, created_by_key_prefix=key_prefix))
    await session.flush()
    changed = ["currentStatus"] + (["orderNotes"] if data.note is not None else [])
    audit.record(
        session, action="order.move", resource_type="order", resource_id=order.id, changed=changed
    )
    if target is not S.CANCELLED:  # cancel() publishes its own events
        await order_status_changed(session, order)
    return order


def _check_fields(data: OrderMove, target: Status, current: Status) -> None:
    """Refuse what this move would silently ignore: devices outside packing, tracking numbers
    outside shipping (releasing a hold changes nothing but the status)."""
    released = current is S.ON_HOLD
    uses = {
        "orderItems": (data.order_items, S.PACKED),
        "packedKits": (data.packed_kits, S.PACKED),
        "trackingNumbers": (data.tracking_numbers, S.SHIPPED),
    }
    errors = [
        FieldError(name, f"only used when an order moves to {needs.value}, not on hold release")
        if target is needs
        else FieldError(name, f"only used when an order moves to {needs.value}")
        for name, (value, needs) in uses.items()
        if value is not None and (target is not needs or released)
    ]
    if errors:
        names = ", ".join(e.field for e in errors)
        raise Invalid(
            code="invalid_request",
            message=f"moving to {target.value} does not use {names}",
            errors=errors,
        )


async def _apply(session: AsyncSession, order: Order, target: Status, data: OrderMove) -> None:
    """What entering ``target`` does to the order's stock, devices and tracking numbers."""
    current = Status(order.current_status)
    if target is S.ON_HOLD:
        order.held_from = current.value
    elif current is S.ON_HOLD:
        order.held_from = None
    elif target is S.PACKED:
        await packing.pack(session, order, data)
    elif target is S.SHIPPED:
        _add_tracking(order, data)
        if current is S.PACKED:
            await _leave_warehouse(session, order, DeviceStatus.IN_TRANSIT)
    elif target is S.AVAILABLE_FOR_PICKUP:
        await _leave_warehouse(session, order, DeviceStatus.ALLOCATED)
    elif target is S.DELIVERED:
        _deliver(order)
    elif target is S.RETURNED_TO_SENDER:
        await _back_to_warehouse(session, order)
    _enter(order, target)


async def cancel(session: AsyncSession, order: Order, *, allowed: frozenset[Status]) -> None:
    """Cancel: release reserved stock and put packed devices back in stock."""
    current = Status(order.current_status)
    if current is S.ON_HOLD and order.held_from:
        current = Status(order.held_from)
    if current not in allowed:
        names = ", ".join(sorted(s.value for s in allowed))
        raise InvalidState(
            code="not_cancellable",
            message=f"order {order.id} is {order.current_status}; it can be cancelled only "
            f"while {names}",
            extra={"currentStatus": order.current_status},
        )
    if order.fulfillment_site_id is not None and order.reservations:
        held = {r.item_id: r.quantity for r in order.reservations}
        await inventory.release(session, site_id=order.fulfillment_site_id, held=held)
    for od in list(order.order_devices):
        device = od.device
        device.order_id = None
        record(device, DeviceEventType.UNALLOCATED, status=DeviceStatus.IN_STOCK, order_id=order.id)
    order.order_devices.clear()
    order.packed_kits.clear()
    order.held_from = None
    _enter(order, S.CANCELLED)
    await session.flush()
    await order_status_changed(session, order)
    audit.record(
        session,
        action="order.cancel",
        resource_type="order",
        resource_id=order.id,
        changed=["currentStatus"],
    )


def _add_tracking(order: Order, data: OrderMove) -> None:
    for tn in data.tracking_numbers or []:
        order.tracking_numbers.append(TrackingNumber(carrier=tn.carrier, value=tn.value))
    if not order.tracking_numbers:
        raise Invalid(
            code="tracking_number_required",
            message="shipping needs at least one tracking number",
            errors=[FieldError("trackingNumbers", "at least one tracking number is required")],
        )


async def _leave_warehouse(session: AsyncSession, order: Order, status: DeviceStatus) -> None:
    """The order's reserved units leave the warehouse's stock."""
    if order.fulfillment_site_id is not None and order.reservations:
        held = {r.item_id: r.quantity for r in order.reservations}
        await inventory.consume(session, site_id=order.fulfillment_site_id, held=held)
    for od in order.order_devices:
        od.device.account_id = order.account_id
        od.device.fulfillment_site_id = None
        record(od.device, DeviceEventType.SHIPPED, status=status, order_id=order.id)


def _deliver(order: Order) -> None:
    """Delivered devices move to the recipient."""
    for od in order.order_devices:
        device = od.device
        device.account_id = order.account_id
        device.fulfillment_site_id = None
        if order.patient is not None:
            device.current_patient_id = order.patient.id
            device.site_id = order.patient.site_id
            status = DeviceStatus.WITH_PATIENT
        else:
            device.current_patient_id = None
            device.site_id = order.site_id
            status = DeviceStatus.AVAILABLE_AT_SITE
        record(device, DeviceEventType.DELIVERED, status=status, order_id=order.id)


async def _back_to_warehouse(session: AsyncSession, order: Order) -> None:
    """A shipment that could not be delivered comes back: counted units to stock, devices to
    inspection."""
    site_id = order.fulfillment_site_id
    if site_id is None:
        return
    serialized = set(packing.plan_for(order).total_by_item)
    counted = {r.item_id: r.quantity for r in order.reservations if r.item_id not in serialized}
    await inventory.restock(session, site_id=site_id, units=counted)
    for od in order.order_devices:
        device = od.device
        # Back at the warehouse it belongs to no customer and no order, as a received return.
        device.account_id = None
        device.order_id = None
        device.fulfillment_site_id = site_id
        record(
            device,
            DeviceEventType.SHIPMENT_RETURNED,
            status=DeviceStatus.RETURNED,
            order_id=order.id,
        )


async def add_note(
    session: AsyncSession, *, account_id: int, order_id: int, note: str, key_prefix: str | None
) -> None:
    """Append a note to one of the account's orders."""
    found = await session.scalar(
        select(Order.id).where(Order.id == order_id, Order.account_id == account_id)
    )
    if found is None:
        raise not_found("order", order_id)
    session.add(OrderNote(order_id=order_id, note=note, created_by_key_prefix=key_prefix))
    await session.flush()
    audit.record(
        session,
        action="order.update",
        resource_type="order",
        resource_id=order_id,
        changed=["orderNotes"],
    )
