"""Demo data: enough for the Order Management Guide's examples to succeed again and again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.base import utcnow
from kitdesk.db.models import (
    Account,
    Device,
    DeviceEvent,
    DeviceIdentifier,
    FulfillmentSite,
    Item,
    Kit,
    Patient,
    Site,
    StockLevel,
)
from kitdesk.domain.accounts import service as accounts
from kitdesk.domain.catalog import service as catalog
from kitdesk.domain.catalog.schemas import ItemCreate, ItemRef, KitCreate, KitLineIn
from kitdesk.domain.devices.states import DeviceEventType, DeviceStatus

DEMO_CUSTOMER = "Demo Clinic"
OTHER_CUSTOMER = "Riverside Cardiology"
OPERATOR = "Kitdesk Logistics"

# id, name, model, manufacturer, serialized by, orderable
ITEMS = [
    (1000, "Blood pressure monitor", "BP-200", "Acme Medical", "imei", True),
    (1001, "Weight scale", "WS-50", "Acme Medical", "serial", True),
    (1002, "Glucometer", "GM-7", "Glucotech", "serial", True),
    (1003, "Glucose test strips (50)", "TS-50", "Glucotech", None, True),
    (1004, "Pulse oximeter (awaiting approval)", "PO-1", "Acme Medical", "serial", False),
    (1005, "AAA batteries (4)", None, None, None, True),
]
# id, name, [(item id, count)], loaner
KITS = [
    (1000, "Hypertension starter kit", [(1000, 1), (1005, 1)], False),
    (1001, "Weight management kit", [(1001, 1), (1005, 1)], False),
    (1002, "Diabetes kit", [(1002, 1), (1003, 2)], False),
    (1003, "Complete RPM kit", [(1000, 1), (1001, 1), (1002, 1), (1003, 1)], False),
    (1004, "Loaner blood pressure kit", [(1000, 1)], True),
    (1005, "Oximetry kit (contains a non-orderable item)", [(1004, 1)], False),
]


@dataclass(frozen=True)
class DemoKeys:
    """The keys created for the demo accounts (secrets shown once)."""

    customer: str
    other_customer: str
    operator: str


async def has_data(session: AsyncSession) -> bool:
    """True when any account exists."""
    return bool(await session.scalar(select(func.count()).select_from(Account)))


# Enough stock for dozens of the guide's orders (each takes 30 units of every device).
DEVICES_PER_ITEM = 1500
COUNTED_UNITS = 100_000


async def load(
    session: AsyncSession,
    *,
    customer_key: str | None = None,
    devices_per_item: int = DEVICES_PER_ITEM,
    other_customer_key: str | None = None,
    operator_key: str | None = None,
) -> DemoKeys:
    """Load the demo accounts, catalog, sites, patients and warehouse stock into an empty
    database."""
    operator = await accounts.create_account(session, name=OPERATOR, kind="operator")
    demo = await accounts.create_account(session, name=DEMO_CUSTOMER)
    other = await accounts.create_account(session, name=OTHER_CUSTOMER)
    for ident, name, model, maker, serial, orderable in ITEMS:
        await catalog.create_item(
            session,
            item_id=ident,
            data=ItemCreate(
                name=name,
                model=model,
                manufacturer=maker,
                sku=f"KD-{ident}",
                device_identifier_type=serial,
                orderable=orderable,
            ),
        )
    all_items = [i[0] for i in ITEMS]
    await catalog.grant_items(session, account_id=demo.id, item_ids=all_items)
    await catalog.grant_items(session, account_id=other.id, item_ids=[1000, 1003])
    for ident, name, lines, loaner in KITS:
        await catalog.create_kit(
            session,
            kit_id=ident,
            data=KitCreate(
                name=name,
                loaner=loaner,
                account_id=demo.id,
                kit_items=[KitLineIn(item=ItemRef(id=i), count=c) for i, c in lines],
            ),
        )
    _people(session, demo_id=demo.id, other_id=other.id)
    await session.flush()
    await _stock(session, devices_per_item=devices_per_item)
    await _advance_sequences(session)
    return DemoKeys(
        customer=(
            await accounts.create_key(session, account_id=demo.id, name="demo", secret=customer_key)
        ).secret,
        other_customer=(
            await accounts.create_key(
                session, account_id=other.id, name="demo", secret=other_customer_key
            )
        ).secret,
        operator=(
            await accounts.create_key(
                session, account_id=operator.id, name="demo", secret=operator_key
            )
        ).secret,
    )


def _people(session: AsyncSession, *, demo_id: int, other_id: int) -> None:
    address = {
        "address_line_one": "100 Main Street",
        "address_city": "Springfield",
        "address_state": "IL",
        "address_zip_code": "62701",
        "address_country": "US",
    }
    demo_site = Site(
        id=1234,
        account_id=demo_id,
        name="Demo Clinic Main Office",
        phone_number="+1 217 555 0100",
        **address,
    )
    other_site = Site(id=5678, account_id=other_id, name="Riverside Cardiology", **address)
    session.add_all([demo_site, other_site])
    session.add_all(
        [
            Patient(
                id=1234,
                account_id=demo_id,
                site=demo_site,
                external_identifier="demo-1234",
                first_name="Alex",
                last_name="Demo",
                date_of_birth=date(1960, 4, 2),
                email="alex.demo@example.com",
                phone_number="+1 217 555 0123",
                sex="unknown",
                **address,
            ),
            Patient(
                id=5678,
                account_id=other_id,
                site=other_site,
                external_identifier="rc-5678",
                first_name="Sam",
                last_name="Rivers",
                date_of_birth=date(1955, 9, 17),
                sex="female",
                **address,
            ),
        ]
    )


async def _stock(session: AsyncSession, *, devices_per_item: int) -> None:
    """One warehouse holding every orderable item: devices one by one, supplies by the unit."""
    warehouse = FulfillmentSite(id=1, code="MAIN", name="Main warehouse")
    session.add(warehouse)
    await session.flush()
    now = utcnow()
    devices: list[dict[str, Any]] = []
    identifiers: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    levels: list[dict[str, Any]] = []
    for ident, _name, _model, _maker, serial, orderable in ITEMS:
        if not orderable:
            continue
        if serial is None:
            levels.append({"item_id": ident, "on_hand": COUNTED_UNITS})
            continue
        levels.append({"item_id": ident, "on_hand": devices_per_item})
        for n in range(devices_per_item):
            device_id = len(devices) + 1
            devices.append(
                {
                    "id": device_id,
                    "item_id": ident,
                    "current_status": DeviceStatus.IN_STOCK.value,
                    "fulfillment_site_id": warehouse.id,
                    "used": False,
                    "disabled_readings": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            identifiers.append(
                {
                    "id": device_id,
                    "device_id": device_id,
                    "type": serial,
                    "value": f"{serial.upper()}-{ident}-{n + 1:06d}",
                }
            )
            events.append(
                {
                    "id": device_id,
                    "device_id": device_id,
                    "type": DeviceEventType.RECEIVED.value,
                    "event_timestamp": now,
                }
            )
    for table, rows in ((Device, devices), (DeviceIdentifier, identifiers), (DeviceEvent, events)):
        if rows:
            await session.execute(insert(table), rows)
    await session.execute(
        insert(StockLevel),
        [
            {"fulfillment_site_id": warehouse.id, "reserved": 0, "updated_at": now, **lv}
            for lv in levels
        ],
    )


async def _advance_sequences(session: AsyncSession) -> None:
    """Explicit ids leave PostgreSQL's sequences behind; move them past the largest id."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in (
        Account,
        Item,
        Kit,
        Site,
        Patient,
        FulfillmentSite,
        Device,
        DeviceIdentifier,
        DeviceEvent,
    ):
        table = model.__tablename__
        await session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT MAX(id) FROM {table}))"
            )
        )
