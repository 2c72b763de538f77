"""Loading the benchmark's data set: the demo, then sites, patients and orders in bulk.

On PostgreSQL the bulk rows go in with COPY (asyncpg's binary copy); on SQLite (the smoke test's
database-free half) with multi-row INSERTs. Either way through the service's own engine.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bench import rows
from kitdesk.db.base import Base, utcnow
from kitdesk.db.engine import create_engine, create_session_factory, session_scope
from kitdesk.db.migrate import upgrade
from kitdesk.db.models import Account, StockLevel, WebhookSubscription
from kitdesk.domain import demo
from kitdesk.settings import Settings

KEY = "kd_bench0demo0customer0key00000000000000000001"
# Stock for the whole run: placement only reserves units (it never touches device rows), so the
# warehouse's levels are raised far past what any run can order.
STOCK_ON_HAND = 1_000_000_000
# The customer's webhook subscriptions. No webhook worker runs during the benchmark, so the
# deliveries stay pending and the address is never called.
WEBHOOK_TYPES = ("order.status", "order.statusFull")
WEBHOOK_URL = "https://hooks.example.com/kitdesk-bench"
ORDERS_PER_PAGE = 50
LIST_PAGES = 20
DEEP_PAGE = 2000


@dataclass(frozen=True)
class Shape:
    """How big the data set is."""

    patients: int
    sites: int
    orders: int
    devices_per_item: int


FULL = Shape(patients=1000, sites=50, orders=100_000, devices_per_item=demo.DEVICES_PER_ITEM)
SMOKE = Shape(patients=20, sites=3, orders=1200, devices_per_item=20)


@dataclass(frozen=True)
class DataSet:
    """What the load generators need to know about the seeded data."""

    key: str
    shape: Shape
    patient_ids: tuple[int, int]  # seeded patients, first and last id
    order_ids: tuple[int, int]  # seeded orders, first and last id
    list_pages: int  # the list traffic walks pages 1..list_pages
    deep_page: int

    @staticmethod
    def of(shape: Shape) -> DataSet:
        last_page = max(1, shape.orders // ORDERS_PER_PAGE)
        return DataSet(
            key=KEY,
            shape=shape,
            patient_ids=(rows.FIRST_ID, rows.FIRST_ID + shape.patients - 2),
            order_ids=(1, shape.orders),
            list_pages=min(LIST_PAGES, last_page),
            deep_page=min(DEEP_PAGE, last_page),
        )


async def seed(database_url: str, shape: Shape) -> DataSet:
    """Migrate an empty database and load the data set into it."""
    engine = create_engine(Settings(database_url=database_url))
    try:
        await upgrade(engine)
        async with session_scope(create_session_factory(engine)) as session:
            await demo.load(session, customer_key=KEY, devices_per_item=shape.devices_per_item)
            account_id = await session.scalar(
                select(Account.id).where(Account.name == demo.DEMO_CUSTOMER)
            )
            assert account_id is not None
            # The customer's integration listens for its orders, as most do: every new order
            # queues its two events (and their deliveries) in the outbox.
            session.add_all(
                WebhookSubscription(account_id=account_id, type=kind, url=f"{WEBHOOK_URL}/{kind}")
                for kind in WEBHOOK_TYPES
            )
        async with engine.begin() as conn:
            await _bulk(conn, account_id, shape)
        if engine.dialect.name == "postgresql":
            async with engine.connect() as conn:
                autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await autocommit.exec_driver_sql("VACUUM ANALYZE")
    finally:
        await engine.dispose()
    return DataSet.of(shape)


async def _bulk(conn: AsyncConnection, account_id: int, shape: Shape) -> None:
    now = utcnow()
    sites = rows.site_rows(account_id, shape.sites - 1, now)
    site_ids = [1234, *(int(str(r[0])) for r in sites)]
    patients = rows.patient_rows(account_id, site_ids, shape.patients - 1, now)
    patient_ids = [1234, *(int(str(r[0])) for r in patients)]
    orders = rows.order_rows(account_id, patient_ids, site_ids, shape.orders, now)
    if conn.dialect.name == "postgresql":
        # The rows are consistent by construction: skip the per-row foreign-key triggers.
        await conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
    await copy(conn, "sites", rows.SITE_COLUMNS, sites)
    await copy(conn, "patients", rows.PATIENT_COLUMNS, patients)
    await copy(conn, "orders", rows.ORDER_COLUMNS, orders.orders)
    for table, columns in rows.LINE_COLUMNS.items():
        await copy(conn, table, columns, orders.lines[table])
    await _stock(conn, orders.reserved)
    if conn.dialect.name == "postgresql":
        for table in ("sites", "patients", "orders", "order_events"):
            await conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT MAX(id) FROM {table}))"
            )


async def copy(
    conn: AsyncConnection, table_name: str, columns: list[str], data: list[rows.Row]
) -> None:
    """Bulk-insert ``data`` (tuples in ``columns`` order) into a table."""
    if not data:
        return
    table = Base.metadata.tables[table_name]
    if conn.dialect.name != "postgresql":
        for start in range(0, len(data), 5000):
            chunk = data[start : start + 5000]
            await conn.execute(table.insert(), [dict(zip(columns, r, strict=True)) for r in chunk])
        return
    as_json = [isinstance(table.c[name].type, JSON) for name in columns]
    records = [
        tuple(json.dumps(v) if j else v for v, j in zip(r, as_json, strict=True)) for r in data
    ]
    raw: Any = (await conn.get_raw_connection()).driver_connection
    await raw.copy_records_to_table(table_name, records=records, columns=columns)


async def _stock(conn: AsyncConnection, reserved: Counter[int]) -> None:
    """Reserve the seeded orders' units and stock the warehouse for the whole run."""
    for item_id in rows.ORDERABLE_ITEMS:
        await conn.execute(
            update(StockLevel)
            .where(
                StockLevel.fulfillment_site_id == rows.WAREHOUSE_ID, StockLevel.item_id == item_id
            )
            .values(on_hand=STOCK_ON_HAND, reserved=StockLevel.reserved + reserved[item_id])
        )
