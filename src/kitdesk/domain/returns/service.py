"""Opening returns (RMAs): standalone (``POST /api/v3/return``) or the return leg of an order.

Reading returns lives in ``queries``, the operator's moves in ``operations`` and the loaner
report in ``loaners``; their public functions are re-exported here so that callers need one
import.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from kitdesk.db.models import (
    Order,
    Patient,
    Return,
    ReturnDevice,
    ReturnEvent,
    ReturnItem,
    ReturnPackedKit,
    Site,
)
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.devices.history import record
from kitdesk.domain.devices.states import DeviceEventType
from kitdesk.domain.orders.schemas import ShippingOption
from kitdesk.domain.returns import rules
from kitdesk.domain.returns.events import return_status_changed
from kitdesk.domain.returns.loaners import list_loaners_out
from kitdesk.domain.returns.operations import (
    inspect_device,
    lock_return,
    move_return,
    receive_return,
)
from kitdesk.domain.returns.queries import ReturnFilters, get_return, list_returns, to_read
from kitdesk.domain.returns.refs import ReturnDeviceRef, ReturnItemIn, ReturnPackedKitRef
from kitdesk.domain.returns.rules import Problems, Resolved, ReturnRequest
from kitdesk.domain.returns.schemas import ReturnCreate
from kitdesk.domain.returns.states import INITIAL

MSG_SENDER = "patientId or siteId required"
MSG_BOTH_SENDERS = "a return comes from exactly one sender: give patientId or siteId, not both"

__all__ = [
    "ReturnFilters",
    "build_return",
    "create_return",
    "get_return",
    "inspect_device",
    "list_loaners_out",
    "list_returns",
    "lock_return",
    "move_return",
    "receive_return",
    "to_read",
]


async def build_return(
    session: AsyncSession,
    *,
    account_id: int,
    patient: Patient | None,
    site: Site | None,
    devices: list[ReturnDeviceRef],
    items: list[ReturnItemIn],
    packed_kits: list[ReturnPackedKitRef],
    shipping_option: ShippingOption | None,
    email_label: bool,
    related_order_id: int | None,
    two_way: bool,
    field_prefix: str = "",
) -> Return:
    """Validate and open a return, ``requested``, from exactly one of ``patient`` / ``site``.

    Its devices get a ``returnRequested`` event; their status changes only when they ship back.
    Every bad field is named in one ``Invalid`` (fields are ``{field_prefix}returnDevices[i]...``).
    """
    if (patient is None) == (site is None):
        raise ValueError("a return needs exactly one of patient or site")
    request = ReturnRequest(
        account_id=account_id,
        patient=patient,
        site=site,
        devices=devices,
        items=items,
        packed_kits=packed_kits,
        shipping_option=shipping_option,
        email_label=email_label,
        related_order_id=related_order_id,
        two_way=two_way,
        prefix=field_prefix,
    )
    return await _validate_and_write(session, request, Problems())


async def create_return(session: AsyncSession, *, account_id: int, data: ReturnCreate) -> Return:
    """Open a standalone return (RMA) for one of the account's patients or sites."""
    problems = Problems()
    patient, site = await _sender(session, account_id, data, problems)
    if data.related_order_id is not None:
        order_id = await session.scalar(
            select(Order.id).where(
                Order.id == data.related_order_id, Order.account_id == account_id
            )
        )
        if order_id is None:
            message = f"order {data.related_order_id} not found"
            problems.add("unknown_order", message, "relatedOrderId")
    request = ReturnRequest(
        account_id=account_id,
        patient=patient,
        site=site,
        devices=data.return_devices or [],
        items=data.return_items or [],
        packed_kits=data.return_packed_kits or [],
        shipping_option=data.shipping_option,
        email_label=data.email_label,
        related_order_id=data.related_order_id,
        two_way=False,
    )
    ret = await _validate_and_write(session, request, problems)
    audit.record(session, action="return.create", resource_type="return", resource_id=ret.id)
    return ret


async def _sender(
    session: AsyncSession, account_id: int, data: ReturnCreate, problems: Problems
) -> tuple[Patient | None, Site | None]:
    """The patient or site making the return (None when missing, doubled or unknown)."""
    if data.patient_id is None and data.site_id is None:
        problems.add("patient_or_site_required", MSG_SENDER, "patientId")
        return None, None
    if data.patient_id is not None and data.site_id is not None:
        problems.add("patient_and_site", MSG_BOTH_SENDERS, "patientId")
        problems.add("patient_and_site", MSG_BOTH_SENDERS, "siteId")
        return None, None
    if data.patient_id is not None:
        patient = await session.scalar(
            select(Patient)
            .options(joinedload(Patient.site))
            .where(Patient.id == data.patient_id, Patient.account_id == account_id)
        )
        if patient is None:
            problems.add("unknown_patient", f"patient {data.patient_id} not found", "patientId")
        return patient, None
    site = await session.scalar(
        select(Site).where(Site.id == data.site_id, Site.account_id == account_id)
    )
    if site is None:
        problems.add("unknown_site", f"site {data.site_id} not found", "siteId")
    return None, site


async def _validate_and_write(
    session: AsyncSession, request: ReturnRequest, problems: Problems
) -> Return:
    # Every rule runs before anything is refused, so one response names every bad field.
    resolved = await rules.check(session, request, problems)
    problems.raise_if_any()
    return await _write(session, request, resolved)


async def _write(session: AsyncSession, request: ReturnRequest, resolved: Resolved) -> Return:
    lines = [(device, None) for device in resolved.devices] + [
        (device, kit.id) for kit in resolved.packed_kits for device in resolved.kit_devices[kit.id]
    ]
    ret = Return(
        account_id=request.account_id,
        patient=request.patient,
        site=request.site,
        related_order_id=request.related_order_id,
        two_way=request.two_way,
        current_status=INITIAL.value,
        shipping_option=request.shipping_option,
        email_label=request.email_label,
        devices=[
            ReturnDevice(position=n, device=device, packed_kit_id=kit_id)
            for n, (device, kit_id) in enumerate(lines)
        ],
        items=[
            ReturnItem(position=n, item=resolved.items[line.item.id], count=line.count)
            for n, line in enumerate(request.items)
        ],
        packed_kits=[
            ReturnPackedKit(position=n, packed_kit=kit)
            for n, kit in enumerate(resolved.packed_kits)
        ],
        events=[ReturnEvent(name=INITIAL.value)],
    )
    session.add(ret)
    await session.flush()
    for device, _ in lines:
        record(device, DeviceEventType.RETURN_REQUESTED, return_id=ret.id)
    await session.flush()
    await return_status_changed(session, ret)
    return ret
