"""The operator's side of returns: moving a return, receiving it, inspecting its devices.

The return row is locked for the whole move, so two operators (or processes) working the same
return are serialized by the database.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import (
    Device,
    FulfillmentSite,
    Order,
    OrderEvent,
    Return,
    ReturnEvent,
    TrackingNumber,
)
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.devices.history import record
from kitdesk.domain.devices.states import (
    HELD_BY_CUSTOMER,
    DeviceEventType,
    DeviceStatus,
    InspectionResult,
)
from kitdesk.domain.devices.views import device_options
from kitdesk.domain.inventory import service as inventory
from kitdesk.domain.orders.events import order_status_changed
from kitdesk.domain.orders.fulfillment_schemas import TrackingNumberIn
from kitdesk.domain.orders.lifecycle import Status
from kitdesk.domain.returns import states
from kitdesk.domain.returns.events import return_status_changed
from kitdesk.domain.returns.queries import return_loader
from kitdesk.domain.returns.states import ReturnStatus
from kitdesk.errors import FieldError, Invalid, InvalidState, not_found

R = ReturnStatus
MSG_RECEIVE = "a return is received at a warehouse: receive it with its fulfillmentSiteId"


async def lock_return(session: AsyncSession, *, return_id: int) -> Return:
    """Load and lock any account's return for a move, or 404."""
    ret = await session.scalar(
        select(Return)
        .options(*return_loader())
        .where(Return.id == return_id)
        .with_for_update(of=Return)
    )
    if ret is None:
        raise not_found("return", return_id)
    return ret


def check_move(ret: Return, target: ReturnStatus) -> None:
    """Raise a 409 naming the current and the allowed statuses unless ``target`` is allowed."""
    current = ReturnStatus(ret.current_status)
    if not states.can_move(current, target):
        allowed = states.allowed_moves(current)
        names = ", ".join(a.value for a in allowed) or "none (final status)"
        raise InvalidState(
            code="illegal_status_move",
            message=f"return {ret.id} is {current.value}; it can move to: {names}",
            extra={"currentStatus": current.value, "allowedStatuses": [a.value for a in allowed]},
        )


def _enter(ret: Return, target: ReturnStatus) -> None:
    ret.current_status = target.value
    ret.events.append(ReturnEvent(name=target.value))


async def move_return(
    session: AsyncSession,
    ret: Return,
    target: ReturnStatus,
    tracking_numbers: list[TrackingNumberIn] | None = None,
) -> Return:
    """Move a locked return to ``target``; tracking numbers given are added to it.

    ``inTransit`` puts its devices in ``returnInTransit``; ``received`` needs the warehouse
    (``receive_return``).
    """
    check_move(ret, target)
    if target is R.RECEIVED:
        raise Invalid(
            code="fulfillment_site_required",
            message=MSG_RECEIVE,
            errors=[FieldError("fulfillmentSiteId", "is required to receive a return")],
        )
    if target is R.IN_TRANSIT:
        _ship_back(ret)
    elif target is R.CANCELLED:
        for line in ret.devices:
            record(line.device, DeviceEventType.RETURN_CANCELLED, return_id=ret.id)
    for tn in tracking_numbers or []:
        session.add(TrackingNumber(return_id=ret.id, carrier=tn.carrier, value=tn.value))
    _enter(ret, target)
    await session.flush()
    audit.record(
        session,
        action="return.move",
        resource_type="return",
        resource_id=ret.id,
        changed=["currentStatus"] + (["trackingNumbers"] if tracking_numbers else []),
    )
    await return_status_changed(session, ret)
    return ret


def _ship_back(ret: Return) -> None:
    """Every device of the return leaves the customer; all must still be with them."""
    for line in ret.devices:
        device = line.device
        if DeviceStatus(device.current_status) not in HELD_BY_CUSTOMER:
            raise InvalidState(
                code="device_not_held",
                message=f"device {device.id} is {device.current_status}; "
                f"it cannot ship back on return {ret.id}",
            )
    for line in ret.devices:
        record(
            line.device,
            DeviceEventType.RETURN_SHIPPED,
            status=DeviceStatus.RETURN_IN_TRANSIT,
            return_id=ret.id,
        )


async def receive_return(session: AsyncSession, ret: Return, fulfillment_site_id: int) -> Return:
    """A locked return arrives at a warehouse: its devices are ``returned`` there.

    Counted items are recorded on the return, not restocked. A related two-way order waiting for
    this return moves to ``returnReceived``.
    """
    check_move(ret, R.RECEIVED)
    site = await session.get(FulfillmentSite, fulfillment_site_id)
    if site is None:
        message = f"fulfillment site {fulfillment_site_id} not found"
        raise Invalid(
            code="unknown_fulfillment_site",
            message=message,
            errors=[FieldError("fulfillmentSiteId", message)],
        )
    for line in ret.devices:
        device = line.device
        device.account_id = None
        device.order_id = None
        device.fulfillment_site_id = site.id
        device.current_patient = None
        device.site = None
        record(
            device, DeviceEventType.RETURN_RECEIVED, status=DeviceStatus.RETURNED, return_id=ret.id
        )
    ret.received_at_site_id = site.id
    _enter(ret, R.RECEIVED)
    await _order_return_received(session, ret)
    await session.flush()
    audit.record(
        session,
        action="return.receive",
        resource_type="return",
        resource_id=ret.id,
        changed=["currentStatus"],
    )
    await return_status_changed(session, ret)
    return ret


async def _order_return_received(session: AsyncSession, ret: Return) -> None:
    if ret.related_order_id is None:
        return
    order = await session.scalar(
        select(Order).where(Order.id == ret.related_order_id).with_for_update()
    )
    if order is not None and order.two_way and order.current_status == Status.AWAITING_RETURN.value:
        order.current_status = Status.RETURN_RECEIVED.value
        session.add(OrderEvent(order_id=order.id, name=Status.RETURN_RECEIVED.value))
        await session.flush()
        await order_status_changed(session, order)


async def inspect_device(
    session: AsyncSession, *, device_id: int, result: InspectionResult
) -> Device:
    """Inspect a returned device: back in stock at its warehouse (one unit), or retired."""
    device = await session.scalar(
        select(Device)
        .options(*device_options())
        .where(Device.id == device_id)
        .with_for_update(of=Device)
    )
    if device is None:
        raise not_found("device", device_id)
    if device.current_status != DeviceStatus.RETURNED.value or device.fulfillment_site_id is None:
        raise InvalidState(
            code="device_not_returned",
            message=f"device {device.id} is {device.current_status}; "
            "only a returned device can be inspected",
            extra={"currentStatus": device.current_status},
        )
    if result == DeviceStatus.IN_STOCK.value:
        await inventory.restock(
            session, site_id=device.fulfillment_site_id, units={device.item_id: 1}
        )
        record(device, DeviceEventType.INSPECTED_IN_STOCK, status=DeviceStatus.IN_STOCK)
    else:
        record(device, DeviceEventType.RETIRED, status=DeviceStatus.RETIRED)
    await session.flush()
    audit.record(
        session,
        action="device.inspect",
        resource_type="device",
        resource_id=device.id,
        changed=["currentStatus"],
    )
    return device
