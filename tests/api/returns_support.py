"""Helpers shared by the return and loaner API tests: devices in customer hands, delivered kits.

The order-delivery flow is exercised elsewhere; here devices and packed kits are put where a
delivered order would leave them by writing the rows directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from kitdesk.db.base import utcnow
from kitdesk.db.models import (
    Account,
    Device,
    FulfillmentSite,
    Kit,
    KitItem,
    Order,
    OrderDevice,
    OrderEvent,
    PackedKit,
    Patient,
    StockLevel,
)
from kitdesk.domain import demo
from kitdesk.domain.devices.states import DeviceStatus
from kitdesk.domain.inventory import service as inventory
from kitdesk.domain.inventory.schemas import DeviceReceipt, FulfillmentSiteCreate, StockReceipt
from kitdesk.domain.orders.lifecycle import Status
from tests.conftest import Api

RETURNS = "/api/v3/return"
OPS_RETURNS = "/api/v3/ops/return"
WAREHOUSE_CODE = "CHI-1"


async def account_id(session: AsyncSession, name: str = demo.DEMO_CUSTOMER) -> int:
    """The id of a demo account."""
    found = await session.scalar(select(Account.id).where(Account.name == name))
    assert found is not None
    return found


async def warehouse(session: AsyncSession, code: str = WAREHOUSE_CODE) -> int:
    """The warehouse with this code, created on first use."""
    found = await session.scalar(select(FulfillmentSite.id).where(FulfillmentSite.code == code))
    if found is not None:
        return found
    site = await inventory.create_fulfillment_site(
        session, data=FulfillmentSiteCreate(code=code, name=f"Warehouse {code}")
    )
    return site.id


def warehouse_id(api: Api, code: str = WAREHOUSE_CODE) -> int:
    """The id of the warehouse with this code (created on first use)."""
    return api.call(lambda s: warehouse(s, code))


async def _receive(session: AsyncSession, item_id: int, serials: list[str]) -> list[Device]:
    site_id = await warehouse(session)
    return await inventory.receive_devices(
        session, site_id=site_id, data=DeviceReceipt(item_id=item_id, identifiers=serials)
    )


async def _hand_over(
    session: AsyncSession,
    devices: list[Device],
    *,
    account: int,
    patient_id: int | None,
    site_id: int | None,
    status: DeviceStatus | None,
    order_id: int | None = None,
    leave_stock: bool = True,
) -> None:
    """Put devices where a delivery leaves them: with the patient (at their site) or at a site."""
    if patient_id is not None:
        site_id = await session.scalar(select(Patient.site_id).where(Patient.id == patient_id))
    default = (
        DeviceStatus.WITH_PATIENT if patient_id is not None else DeviceStatus.AVAILABLE_AT_SITE
    )
    await session.execute(
        update(Device)
        .where(Device.id.in_([d.id for d in devices]))
        .values(
            account_id=account,
            current_patient_id=patient_id,
            site_id=site_id,
            current_status=(status or default).value,
            fulfillment_site_id=None,
            order_id=order_id,
        )
        .execution_options(synchronize_session=False)
    )
    # The units left the warehouse's stock when they shipped.
    for device in devices if leave_stock else []:
        await session.execute(
            update(StockLevel)
            .where(StockLevel.item_id == device.item_id)
            .values(on_hand=StockLevel.on_hand - 1)
        )


def give_devices(
    api: Api,
    serials: list[str],
    *,
    item_id: int = 1000,
    patient_id: int | None = None,
    site_id: int | None = None,
    customer: str = demo.DEMO_CUSTOMER,
    status: DeviceStatus | None = None,
) -> list[int]:
    """New devices of ``item_id`` held by ``customer``: with a patient or at a site."""

    async def run(session: AsyncSession) -> list[int]:
        devices = await _receive(session, item_id, serials)
        await _hand_over(
            session,
            devices,
            account=await account_id(session, customer),
            patient_id=patient_id,
            site_id=site_id,
            status=status,
        )
        return [d.id for d in devices]

    return api.call(run)


def set_device(api: Api, device_id: int, **values: Any) -> None:
    """Change stored columns of a device directly."""

    async def run(session: AsyncSession) -> None:
        await session.execute(update(Device).where(Device.id == device_id).values(**values))

    api.call(run)


def stock_devices(api: Api, item_id: int, serials: list[str]) -> list[int]:
    """In-stock devices at the warehouse."""
    return [d.id for d in api.call(lambda s: _receive(s, item_id, serials))]


def on_hand(api: Api, item_id: int) -> int:
    """Units of an item on hand at the warehouse."""

    async def run(session: AsyncSession) -> int:
        site_id = await warehouse(session)
        level = await session.scalar(
            select(StockLevel.on_hand).where(
                StockLevel.fulfillment_site_id == site_id, StockLevel.item_id == item_id
            )
        )
        return level or 0

    return api.call(run)


@dataclass(frozen=True)
class DeliveredKit:
    """A kit packed on an order and delivered."""

    order_id: int
    packed_kit_id: int
    device_ids: list[int]


async def _stock_for_kit(session: AsyncSession, kit_id: int, serials: list[str]) -> list[Device]:
    """Stock at the warehouse for one unit of the kit; returns the devices for its units."""
    kit = await session.scalar(
        select(Kit)
        .options(selectinload(Kit.kit_items).selectinload(KitItem.item))
        .where(Kit.id == kit_id)
    )
    assert kit is not None
    devices: list[Device] = []
    left = list(serials)
    for line in kit.kit_items:
        if line.item.device_identifier_type is None:
            site_id = await warehouse(session)
            receipt = StockReceipt(item_id=line.item_id, quantity=line.count)
            await inventory.receive_stock(session, site_id=site_id, data=receipt)
        else:
            taken, left = left[: line.count], left[line.count :]
            devices += await _receive(session, line.item_id, taken)
    return devices


async def _pack_and_ship(
    session: AsyncSession, order_id: int, kit_id: int, devices: list[Device], patient_id: int
) -> PackedKit:
    """Pack the devices as one unit of the kit and hand them to the patient."""
    packed = PackedKit(order_id=order_id, kit_id=kit_id, position=0)
    session.add(packed)
    await session.flush()
    session.add_all(
        OrderDevice(order_id=order_id, device_id=d.id, packed_kit_id=packed.id) for d in devices
    )
    order = await session.scalar(
        select(Order).options(selectinload(Order.reservations)).where(Order.id == order_id)
    )
    assert order is not None
    # Placement may or may not reserve stock; either way the packed units leave it.
    reserved = order.fulfillment_site_id is not None and bool(order.reservations)
    if order.fulfillment_site_id is not None and order.reservations:
        held = {r.item_id: r.quantity for r in order.reservations}
        await inventory.consume(session, site_id=order.fulfillment_site_id, held=held)
    await _hand_over(
        session,
        devices,
        account=order.account_id,
        patient_id=patient_id,
        site_id=None,
        status=None,
        order_id=order_id,
        leave_stock=not reserved,
    )
    return packed


def delivered_kit(
    api: Api,
    key: str,
    serials: list[str],
    *,
    kit_id: int = 1004,
    patient_id: int = 1234,
    delivered_at: datetime | None = None,
    delivered: bool = True,
) -> DeliveredKit:
    """Order one kit for a patient, pack ``serials`` in it and (unless told not to) deliver it.

    An undelivered kit's devices are in transit.
    """
    devices = api.call(lambda s: _stock_for_kit(s, kit_id, serials))
    body = {"patient": {"id": patient_id}, "orderKits": [{"kit": {"id": kit_id}, "count": 1}]}
    response = api.post("/api/v3/order", key=key, json=body)
    assert response.status_code == 201, response.text
    order_id: int = response.json()["id"]

    async def run(session: AsyncSession) -> int:
        packed = await _pack_and_ship(session, order_id, kit_id, devices, patient_id)
        if not delivered:
            await session.execute(
                update(Device)
                .where(Device.id.in_([d.id for d in devices]))
                .values(current_status=DeviceStatus.IN_TRANSIT.value)
            )
            return packed.id
        moment = delivered_at or utcnow()
        session.add(
            OrderEvent(order_id=order_id, name=Status.DELIVERED.value, event_timestamp=moment)
        )
        await session.execute(
            update(Order).where(Order.id == order_id).values(current_status="delivered")
        )
        return packed.id

    packed_kit_id = api.call(run)
    return DeliveredKit(order_id, packed_kit_id, [d.id for d in devices])


def open_return(api: Api, key: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST a return that must be accepted; returns it."""
    response = api.post(RETURNS, key=key, json=body)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    created: dict[str, Any] = response.json()
    return created


def device_refs(*ids: int) -> list[dict[str, int]]:
    """``returnDevices`` entries naming devices by id."""
    return [{"id": i} for i in ids]


def field_names(problem: dict[str, Any]) -> list[str]:
    """The fields a problem names, in order."""
    return [e["field"] for e in problem["errors"]]
