"""Loaner kits out: delivered loaner kits whose devices have not all come back."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from kitdesk.db.base import utcnow
from kitdesk.db.models import (
    Device,
    Kit,
    KitItem,
    Order,
    OrderDevice,
    OrderEvent,
    PackedKit,
    Patient,
)
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.catalog.service import kit_read
from kitdesk.domain.devices.states import HELD_BY_CUSTOMER, DeviceStatus
from kitdesk.domain.devices.views import device_options, device_read
from kitdesk.domain.orders.lifecycle import Status
from kitdesk.domain.patients.service import to_read as patient_read
from kitdesk.domain.returns.schemas import LoanerRead

# A device is still out while the customer holds it or it is on its way back.
OUT = frozenset(s.value for s in HELD_BY_CUSTOMER | {DeviceStatus.RETURN_IN_TRANSIT})


def _is_out(device: Device, order_id: int) -> bool:
    # order_id is cleared when a device comes back, so a device that was later shipped again on
    # another order does not count against this one.
    return device.current_status in OUT and device.order_id == order_id


def _loaners_query(account_id: int | None) -> Select[PackedKit, Order, datetime]:
    """Loaner packed kits of delivered orders with a device still out, with the delivery time."""
    delivered = (
        select(
            OrderEvent.order_id.label("order_id"),
            func.min(OrderEvent.event_timestamp).label("delivered_at"),
        )
        .where(OrderEvent.name == Status.DELIVERED.value)
        .group_by(OrderEvent.order_id)
        .subquery()
    )
    outstanding = (
        select(OrderDevice.device_id)
        .join(Device, Device.id == OrderDevice.device_id)
        .where(
            OrderDevice.packed_kit_id == PackedKit.id,
            Device.order_id == PackedKit.order_id,
            Device.current_status.in_(sorted(OUT)),
        )
        .exists()
    )
    query = (
        select(PackedKit, Order, delivered.c.delivered_at)
        .join(Kit, Kit.id == PackedKit.kit_id)
        .join(Order, Order.id == PackedKit.order_id)
        .join(delivered, delivered.c.order_id == Order.id)
        .where(Kit.loaner.is_(True), outstanding)
        .options(
            joinedload(PackedKit.kit).joinedload(Kit.kit_items).joinedload(KitItem.item),
            joinedload(Order.patient).joinedload(Patient.site),
        )
        .order_by(delivered.c.delivered_at, PackedKit.id)
    )
    if account_id is not None:
        query = query.where(Order.account_id == account_id)
    return query


async def list_loaners_out(session: AsyncSession, *, account_id: int | None) -> list[LoanerRead]:
    """Delivered loaner kits with devices not yet back, longest out first.

    ``account_id`` None lists every account's. ``deliveredAt`` is the order's first
    ``delivered`` event; ``daysOut`` counts whole days from then until now.
    """
    rows = (await session.execute(_loaners_query(account_id))).unique().all()
    devices = await _kit_devices(session, [kit.id for kit, _, _ in rows])
    # The loaners embed their orders' patients: audited as a list of those orders.
    order_ids = sorted({order.id for _, order, _ in rows})
    audit.record(session, action="loaner.list", resource_type="order", resource_ids=order_ids)
    moment = utcnow()
    return [
        LoanerRead(
            order_id=order.id,
            packed_kit_id=kit.id,
            kit=kit_read(kit.kit),
            patient=patient_read(order.patient) if order.patient else None,
            delivered_at=delivered_at,
            days_out=(moment - delivered_at).days,
            devices=[device_read(d) for d in devices[kit.id]],
            outstanding=[d.id for d in devices[kit.id] if _is_out(d, order.id)],
        )
        for kit, order, delivered_at in rows
    ]


async def _kit_devices(session: AsyncSession, kit_ids: list[int]) -> dict[int, list[Device]]:
    found: dict[int, list[Device]] = defaultdict(list)
    if not kit_ids:
        return found
    lines = await session.scalars(
        select(OrderDevice)
        .options(joinedload(OrderDevice.device).options(*device_options()))
        .where(OrderDevice.packed_kit_id.in_(kit_ids))
        .order_by(OrderDevice.device_id)
    )
    for line in lines.unique():
        assert line.packed_kit_id is not None
        found[line.packed_kit_id].append(line.device)
    return found
