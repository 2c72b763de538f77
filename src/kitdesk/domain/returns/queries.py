"""Reading returns: one return, a filtered page, and the API view of a return."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from kitdesk.db.models import (
    Device,
    Kit,
    KitItem,
    PackedKit,
    Patient,
    Return,
    ReturnDevice,
    ReturnItem,
    ReturnPackedKit,
    TrackingNumber,
)
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.catalog.service import item_read, kit_read
from kitdesk.domain.common import Page, PageRequest, make_page
from kitdesk.domain.devices.views import device_read
from kitdesk.domain.orders.schemas import TrackingNumberRead
from kitdesk.domain.patients.service import to_read as patient_read
from kitdesk.domain.returns.schemas import (
    ReturnEventRead,
    ReturnItemRead,
    ReturnKitRead,
    ReturnRead,
)
from kitdesk.domain.returns.states import ReturnStatus
from kitdesk.domain.sites.service import to_read as site_read
from kitdesk.errors import not_found


@dataclass(frozen=True)
class ReturnFilters:
    """Filters of the return list; empty lists mean 'any'."""

    ids: list[int] = field(default_factory=list)
    patient_ids: list[int] = field(default_factory=list)
    site_ids: list[int] = field(default_factory=list)
    related_order_ids: list[int] = field(default_factory=list)
    statuses: list[ReturnStatus] = field(default_factory=list)


def return_loader() -> tuple[Any, ...]:
    """Everything a return view needs, in the same number of queries whatever the returns hold.

    One query for the returns with their sender, then one per collection. A device's item,
    place, identifiers and history are joined into the device query (rather than loaded by
    further selects, which would run only when the page holds devices), as are a packed kit's
    kit, lines and items.
    """
    device = selectinload(Return.devices).joinedload(ReturnDevice.device)
    return (
        joinedload(Return.patient).joinedload(Patient.site),
        joinedload(Return.site),
        device.joinedload(Device.item),
        device.joinedload(Device.site),
        device.joinedload(Device.current_patient),
        device.joinedload(Device.identifiers),
        device.joinedload(Device.events),
        selectinload(Return.items).joinedload(ReturnItem.item),
        selectinload(Return.packed_kits)
        .joinedload(ReturnPackedKit.packed_kit)
        .joinedload(PackedKit.kit)
        .joinedload(Kit.kit_items)
        .joinedload(KitItem.item),
        selectinload(Return.events),
    )


async def tracking_numbers(
    session: AsyncSession, return_ids: Sequence[int]
) -> dict[int, list[TrackingNumber]]:
    """The tracking numbers of these returns, oldest first (one query)."""
    found: dict[int, list[TrackingNumber]] = defaultdict(list)
    if not return_ids:
        return found
    rows = await session.scalars(
        select(TrackingNumber)
        .where(TrackingNumber.return_id.in_(list(return_ids)))
        .order_by(TrackingNumber.id)
    )
    for tn in rows:
        assert tn.return_id is not None
        found[tn.return_id].append(tn)
    return found


def to_read(ret: Return, tracking: Sequence[TrackingNumber] = ()) -> ReturnRead:
    """The API view of a return (load it with ``return_loader``).

    Devices inside a returned packed kit are listed with that kit, not in ``returnDevices``.
    """
    return ReturnRead(
        id=ret.id,
        patient=patient_read(ret.patient) if ret.patient else None,
        site=site_read(ret.site) if ret.site else None,
        current_status=ReturnStatus(ret.current_status),
        shipping_option=ret.shipping_option,
        email_label=ret.email_label,
        return_devices=[device_read(rd.device) for rd in ret.devices if rd.packed_kit_id is None],
        return_items=[ReturnItemRead(item=item_read(i.item), count=i.count) for i in ret.items],
        return_kits=[
            ReturnKitRead(
                id=rpk.packed_kit_id,
                kit=kit_read(rpk.packed_kit.kit),
                devices=[
                    device_read(rd.device)
                    for rd in ret.devices
                    if rd.packed_kit_id == rpk.packed_kit_id
                ],
            )
            for rpk in ret.packed_kits
        ],
        return_events=[
            ReturnEventRead(name=ReturnStatus(e.name), event_timestamp=e.event_timestamp)
            for e in ret.events
        ],
        tracking_numbers=[TrackingNumberRead(carrier=t.carrier, value=t.value) for t in tracking],
        related_order_id=ret.related_order_id,
        created_at=ret.created_at,
        updated_at=ret.updated_at,
    )


async def get_return(
    session: AsyncSession, *, account_id: int | None, return_id: int
) -> ReturnRead:
    """One return of the account (``account_id`` None: any account), or 404."""
    query = select(Return).options(*return_loader()).where(Return.id == return_id)
    if account_id is not None:
        query = query.where(Return.account_id == account_id)
    ret = await session.scalar(query)
    if ret is None:
        raise not_found("return", return_id)
    audit.record(session, action="return.read", resource_type="return", resource_id=ret.id)
    tracking = await tracking_numbers(session, [ret.id])
    return to_read(ret, tracking[ret.id])


async def list_returns(
    session: AsyncSession,
    *,
    account_id: int | None,
    filters: ReturnFilters,
    page: PageRequest,
) -> Page[ReturnRead]:
    """One page of the account's returns (``account_id`` None: every account), by id."""
    query = _filtered(select(Return), filters)
    if account_id is not None:
        query = query.where(Return.account_id == account_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = Return.id.desc() if page.sort_descending else Return.id.asc()
    rows = (
        (
            await session.scalars(
                query.options(*return_loader()).order_by(order).offset(page.offset).limit(page.size)
            )
        )
        .unique()
        .all()
    )
    tracking = await tracking_numbers(session, [r.id for r in rows])
    audit.record(
        session, action="return.list", resource_type="return", resource_ids=[r.id for r in rows]
    )
    return make_page([to_read(r, tracking[r.id]) for r in rows], request=page, total=total)


def _filtered(query: Select[Return], f: ReturnFilters) -> Select[Return]:
    if f.ids:
        query = query.where(Return.id.in_(f.ids))
    if f.patient_ids:
        query = query.where(Return.patient_id.in_(f.patient_ids))
    if f.site_ids:
        query = query.where(Return.site_id.in_(f.site_ids))
    if f.related_order_ids:
        query = query.where(Return.related_order_id.in_(f.related_order_ids))
    if f.statuses:
        query = query.where(Return.current_status.in_([s.value for s in f.statuses]))
    return query
