"""Factories and assertions shared by the device HTTP-contract tests.

Devices arrive at a warehouse through the inventory service; ``hand_over`` then puts one in a
customer's hands the way a delivered order would (status, owner, site, patient), written directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import Account, Device
from kitdesk.domain import demo
from kitdesk.domain.devices.states import DeviceStatus
from kitdesk.domain.inventory.schemas import DeviceReceipt, FulfillmentSiteCreate
from kitdesk.domain.inventory.service import create_fulfillment_site, receive_devices
from tests.conftest import Api

DEVICES = "/api/v3/device"
ASSOCIATE = f"{DEVICES}/associate-patient"
DISASSOCIATE = f"{DEVICES}/disassociate-patient"
DISABLE = f"{DEVICES}/disable-readings"
ENABLE = f"{DEVICES}/enable-readings"
DEMO_SITE = 1234
DEMO_PATIENT = 1234  # external identifier "demo-1234"
OTHER_SITE = 5678
OTHER_PATIENT = 5678  # external identifier "rc-5678", of the second customer
BP_MONITOR = 1000  # serialized by IMEI
SCALE = 1001  # serialized by serial number


def add_warehouse(api: Api, code: str = "CHI-1") -> int:
    """A new warehouse; returns its id."""

    async def create(session: AsyncSession) -> int:
        site = await create_fulfillment_site(
            session, data=FulfillmentSiteCreate(code=code, name=f"Warehouse {code}")
        )
        return site.id

    return api.call(create)


def receive(api: Api, warehouse: int, item_id: int, *identifiers: str) -> list[int]:
    """Devices of ``item_id`` arriving at ``warehouse`` (all inStock); returns their ids."""

    async def run(session: AsyncSession) -> list[int]:
        data = DeviceReceipt(item_id=item_id, identifiers=list(identifiers))
        return [d.id for d in await receive_devices(session, site_id=warehouse, data=data)]

    return api.call(run)


def hand_over(
    api: Api,
    device_id: int,
    *,
    customer: str = demo.DEMO_CUSTOMER,
    status: DeviceStatus = DeviceStatus.AVAILABLE_AT_SITE,
    site_id: int | None = DEMO_SITE,
    patient_id: int | None = None,
) -> None:
    """Make a warehouse device ``customer``'s, in ``status`` at ``site_id`` (with a patient)."""

    async def run(session: AsyncSession) -> None:
        account = await session.scalar(select(Account.id).where(Account.name == customer))
        device = await session.get(Device, device_id)
        assert device is not None
        assert account is not None
        device.account_id = account
        device.fulfillment_site_id = None
        device.current_status = status.value
        device.site_id = site_id
        device.current_patient_id = patient_id

    api.call(run)


@dataclass(frozen=True)
class Fleet:
    """Devices of item 1000 (IMEI-1 ... IMEI-5) in the states most tests start from."""

    at_site: int  # the demo customer's, availableAtSite at site 1234 (IMEI-1)
    with_patient: int  # the demo customer's, withPatient 1234 at site 1234 (IMEI-2)
    in_stock: int  # still in the warehouse, nobody's (IMEI-3)
    other: int  # the second customer's, availableAtSite at site 5678 (IMEI-4)
    in_transit: int  # the demo customer's, shipped, at no site yet (IMEI-5)
    warehouse: int


FLEET = ("at_site", "with_patient", "in_stock", "other", "in_transit")


def fleet(api: Api) -> Fleet:
    """Receive five devices and hand four of them over (needs the demo data loaded)."""
    warehouse = add_warehouse(api)
    ids = receive(api, warehouse, BP_MONITOR, *(f"IMEI-{n}" for n in range(1, 6)))
    at_site, with_patient, in_stock, other, in_transit = ids
    hand_over(api, at_site)
    hand_over(api, with_patient, status=DeviceStatus.WITH_PATIENT, patient_id=DEMO_PATIENT)
    hand_over(api, other, customer=demo.OTHER_CUSTOMER, site_id=OTHER_SITE)
    hand_over(api, in_transit, status=DeviceStatus.IN_TRANSIT, site_id=None)
    return Fleet(at_site, with_patient, in_stock, other, in_transit, warehouse)


def ok(response: Any) -> dict[str, Any]:
    """The JSON body of a 200 response."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def events(device: dict[str, Any]) -> list[str]:
    """The types of a device's events, oldest first."""
    return [e["type"] for e in device["deviceEvents"]]


def ids(response: Any) -> list[int]:
    """The ids on one page of a device list."""
    return [d["id"] for d in ok(response)["content"]]
