"""Demo data: enough for the Order Management Guide's examples to succeed again and again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import Account, Item, Kit, Patient, Site
from kitdesk.domain.accounts import service as accounts
from kitdesk.domain.catalog import service as catalog
from kitdesk.domain.catalog.schemas import ItemCreate, ItemRef, KitCreate, KitLineIn

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


async def load(session: AsyncSession, *, customer_key: str | None = None) -> DemoKeys:
    """Load the demo accounts, catalog, sites and patients into an empty database."""
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
    await _advance_sequences(session)
    return DemoKeys(
        customer=(
            await accounts.create_key(session, account_id=demo.id, name="demo", secret=customer_key)
        ).secret,
        other_customer=(
            await accounts.create_key(session, account_id=other.id, name="demo")
        ).secret,
        operator=(await accounts.create_key(session, account_id=operator.id, name="demo")).secret,
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


async def _advance_sequences(session: AsyncSession) -> None:
    """Explicit ids leave PostgreSQL's sequences behind; move them past the largest id."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for model in (Account, Item, Kit, Site, Patient):
        table = model.__tablename__
        await session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT MAX(id) FROM {table}))"
            )
        )
