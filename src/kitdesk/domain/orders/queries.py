"""Reading orders: one order, a filtered page, and the API view of an order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from kitdesk.db.models import (
    Device,
    Kit,
    KitItem,
    Order,
    OrderDevice,
    OrderExternalId,
    OrderItem,
    OrderKit,
    PackedKit,
    Patient,
    Return,
    ReturnItem,
)
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.catalog.service import item_read, kit_read
from kitdesk.domain.common import Page, PageRequest, make_page
from kitdesk.domain.devices.views import device_read
from kitdesk.domain.orders.lifecycle import Status
from kitdesk.domain.orders.schemas import (
    OrderEventRead,
    OrderItemRead,
    OrderKitRead,
    OrderNoteRead,
    OrderRead,
    OrderSort,
    PackedKitRead,
    ReturnDeviceIdRead,
    ReturnItemRead,
    ReturnPackedKitIdRead,
    TrackingNumberRead,
)
from kitdesk.domain.patients.service import to_read as patient_read
from kitdesk.domain.sites.service import to_read as site_read
from kitdesk.errors import not_found


@dataclass(frozen=True)
class OrderFilters:
    """Filters of the order list; empty lists and None mean 'any'."""

    ids: list[int] = field(default_factory=list)
    patient_ids: list[int] = field(default_factory=list)
    site_ids: list[int] = field(default_factory=list)
    external_order_id: str | None = None
    statuses: list[Status] = field(default_factory=list)
    created_at_min: datetime | None = None
    created_at_max: datetime | None = None


def order_loader() -> tuple[Any, ...]:
    """Everything an order view needs, loaded in a fixed number of queries.

    One query for the orders with their recipients, then one per collection. A kit's lines and
    their items are joined into the order-kit query rather than loaded by a further select: that
    select would run only when the page holds kits, so the count would depend on the content.
    """
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
        *_device_loader(selectinload(Order.order_devices).joinedload(OrderDevice.device)),
        selectinload(Order.returns).joinedload(Return.devices),
        selectinload(Order.returns).joinedload(Return.items).joinedload(ReturnItem.item),
        selectinload(Order.returns).joinedload(Return.packed_kits),
    )


def _device_loader(path: Any) -> tuple[Any, ...]:
    # Joined, not selected: a nested select would run only when the page holds devices.
    return (
        path.joinedload(Device.item),
        path.joinedload(Device.site),
        path.joinedload(Device.current_patient),
        path.joinedload(Device.identifiers),
        path.joinedload(Device.events),
    )


def to_read(order: Order) -> OrderRead:
    """The API view of an order (load it with ``order_loader``)."""
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
    """The order's return leg as the request named it (the return itself has the details)."""
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


async def get_order(session: AsyncSession, *, account_id: int | None, order_id: int) -> Order:
    """One of the account's orders with everything its view needs, or 404; audited as a read.

    ``account_id`` must always be given; None (any account) is for operator callers only.
    """
    order = await load_order(session, account_id=account_id, order_id=order_id)
    audit.record(session, action="order.read", resource_type="order", resource_id=order.id)
    return order


async def load_order(session: AsyncSession, *, account_id: int | None, order_id: int) -> Order:
    """The order with everything its view needs, for Kitdesk's own use (not audited), or 404."""
    order = await session.scalar(
        _scoped(select(Order), account_id).options(*order_loader()).where(Order.id == order_id)
    )
    if order is None:
        raise not_found("order", order_id)
    return order


def _scoped(query: Select[Order], account_id: int | None) -> Select[Order]:
    return query if account_id is None else query.where(Order.account_id == account_id)


async def list_orders(
    session: AsyncSession,
    *,
    account_id: int | None,
    filters: OrderFilters,
    page: PageRequest,
    sort: OrderSort = "id",
) -> Page[OrderRead]:
    """One page of the account's orders (of every account when ``account_id`` is None)."""
    ids = _filtered(_scoped(select(Order.id), account_id), filters)
    total = await session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    column = Order.id if sort == "id" else Order.created_at
    order_by = (
        [column.desc(), Order.id.desc()] if page.sort_descending else [column.asc(), Order.id.asc()]
    )
    # Deferred join: the page's ids come from the index alone, so a deep page skips ids, not
    # whole orders joined to their patients and sites.
    page_ids = ids.order_by(*order_by).offset(page.offset).limit(page.size).subquery()
    rows = (
        (
            await session.scalars(
                select(Order)
                .options(*order_loader())
                .join(page_ids, page_ids.c.id == Order.id)
                .order_by(*order_by)
            )
        )
        .unique()
        .all()
    )
    audit.record(
        session, action="order.list", resource_type="order", resource_ids=[o.id for o in rows]
    )
    return make_page([to_read(o) for o in rows], request=page, total=total)


def _filtered(query: Select[Order], f: OrderFilters) -> Select[Order]:
    if f.ids:
        query = query.where(Order.id.in_(f.ids))
    if f.patient_ids:
        query = query.where(Order.patient_id.in_(f.patient_ids))
    if f.site_ids:
        query = query.where(Order.site_id.in_(f.site_ids))
    if f.statuses:
        query = query.where(Order.current_status.in_([s.value for s in f.statuses]))
    if f.external_order_id is not None:
        query = query.where(
            exists().where(
                OrderExternalId.order_id == Order.id,
                OrderExternalId.account_id == Order.account_id,
                OrderExternalId.value == f.external_order_id,
            )
        )
    if f.created_at_min is not None:
        query = query.where(Order.created_at >= f.created_at_min)
    if f.created_at_max is not None:
        query = query.where(Order.created_at <= f.created_at_max)
    return query
