"""The order view as the ``OrderRead`` models render it: the reference the fast views match.

This is how Kitdesk rendered orders before the views were read with Core statements: load the
order's ORM graph with relationship loaders, build the pydantic models, dump them by alias.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from kitdesk.db.models import (
    Device,
    Kit,
    KitItem,
    Order,
    OrderDevice,
    OrderItem,
    OrderKit,
    PackedKit,
    Patient,
    Return,
    ReturnItem,
)
from kitdesk.domain.catalog.service import item_read, kit_read
from kitdesk.domain.devices.views import device_read
from kitdesk.domain.orders.lifecycle import Status
from kitdesk.domain.orders.schemas import (
    OrderEventRead,
    OrderItemRead,
    OrderKitRead,
    OrderNoteRead,
    OrderRead,
    PackedKitRead,
    ReturnDeviceIdRead,
    ReturnItemRead,
    ReturnPackedKitIdRead,
    TrackingNumberRead,
)
from kitdesk.domain.patients.service import to_read as patient_read
from kitdesk.domain.sites.service import to_read as site_read


def order_loader() -> tuple[Any, ...]:
    """Every relationship the order view touches."""
    device = selectinload(Order.order_devices).joinedload(OrderDevice.device)
    return (
        joinedload(Order.patient).joinedload(Patient.site),
        joinedload(Order.site),
        selectinload(Order.order_items).joinedload(OrderItem.item),
        selectinload(Order.order_kits)
        .joinedload(OrderKit.kit)
        .joinedload(Kit.kit_items)
        .joinedload(KitItem.item),
        selectinload(Order.order_events),
        selectinload(Order.order_notes),
        selectinload(Order.tracking_numbers),
        selectinload(Order.packed_kits)
        .joinedload(PackedKit.kit)
        .joinedload(Kit.kit_items)
        .joinedload(KitItem.item),
        device.joinedload(Device.item),
        device.joinedload(Device.site),
        device.joinedload(Device.current_patient),
        device.joinedload(Device.identifiers),
        device.joinedload(Device.events),
        selectinload(Order.returns).joinedload(Return.devices),
        selectinload(Order.returns).joinedload(Return.items).joinedload(ReturnItem.item),
        selectinload(Order.returns).joinedload(Return.packed_kits),
    )


async def load(session: AsyncSession, order_id: int) -> Order:
    """The order with its whole graph loaded."""
    order = await session.scalar(select(Order).options(*order_loader()).where(Order.id == order_id))
    assert order is not None
    return order


def reference(order: Order) -> dict[str, Any]:
    """The order's view as ``OrderRead`` serializes it (JSON values, camelCase keys)."""
    return to_read(order).model_dump(mode="json", by_alias=True)


def to_read(order: Order) -> OrderRead:
    """The ``OrderRead`` of a loaded order."""
    return OrderRead(
        id=order.id,
        external_order_ids=list(order.external_order_ids),
        patient=patient_read(order.patient) if order.patient else None,
        site=site_read(order.site) if order.site else None,
        current_status=Status(order.current_status),
        shipping_option=order.shipping_option,
        email_label=order.email_label,
        order_items=[
            OrderItemRead(item=item_read(i.item), count=i.count) for i in order.order_items
        ],
        order_kits=[OrderKitRead(kit=kit_read(k.kit), count=k.count) for k in order.order_kits],
        order_notes=[
            OrderNoteRead(note=n.note, created_at=n.created_at) for n in order.order_notes
        ],
        order_events=[
            OrderEventRead(name=Status(e.name), event_timestamp=e.event_timestamp)
            for e in order.order_events
        ],
        tracking_numbers=[
            TrackingNumberRead(carrier=t.carrier, value=t.value) for t in order.tracking_numbers
        ],
        devices=[device_read(od.device) for od in order.order_devices if od.packed_kit_id is None],
        packed_kits=[
            PackedKitRead(
                id=pk.id,
                kit=kit_read(pk.kit),
                devices=[
                    device_read(od.device)
                    for od in order.order_devices
                    if od.packed_kit_id == pk.id
                ],
            )
            for pk in order.packed_kits
        ],
        **_return_leg(order),
        created_at=order.created_at,
        updated_at=order.updated_at,
    )


def _return_leg(order: Order) -> dict[str, Any]:
    leg = order.returns[0] if order.returns else None
    if leg is None:
        return {
            "return_id": None,
            "return_devices": [],
            "return_items": [],
            "return_packed_kits": [],
        }
    in_kits = {d.device_id for d in leg.devices if d.packed_kit_id is not None}
    return {
        "return_id": leg.id,
        "return_devices": [
            ReturnDeviceIdRead(id=d.device_id) for d in leg.devices if d.device_id not in in_kits
        ],
        "return_items": [ReturnItemRead(item=item_read(i.item), count=i.count) for i in leg.items],
        "return_packed_kits": [ReturnPackedKitIdRead(id=k.packed_kit_id) for k in leg.packed_kits],
    }
