"""A demo database of its own on the test PostgreSQL cluster, for a test that stops the cluster.

It lives beside the session's test database (same cluster, name suffixed) and is dropped after.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url

from kitdesk.db.engine import create_engine, create_session_factory, session_scope
from kitdesk.db.migrate import upgrade
from kitdesk.domain import demo
from kitdesk.settings import Settings
from tests.conftest import TEST_DEVICES_PER_ITEM, TEST_KEYS


async def _admin(url: str, *statements: str) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for statement in statements:
                await autocommit.execute(text(statement))
    finally:
        await engine.dispose()


async def _migrate_and_load(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        await upgrade(engine)
        async with session_scope(create_session_factory(engine)) as session:
            await demo.load(
                session,
                devices_per_item=TEST_DEVICES_PER_ITEM,
                customer_key=TEST_KEYS.customer,
                other_customer_key=TEST_KEYS.other_customer,
                operator_key=TEST_KEYS.operator,
            )
    finally:
        await engine.dispose()


@contextmanager
def own_demo_database(test_url: str, suffix: str) -> Iterator[str]:
    """A migrated database with the demo data (keys: ``TEST_KEYS``), dropped on exit."""
    url = make_url(test_url)
    name = f"{url.database}_{suffix}"
    own = url.set(database=name).render_as_string(hide_password=False)
    drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    asyncio.run(_admin(test_url, drop, f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(_migrate_and_load(own))
        yield own
    finally:
        asyncio.run(_admin(test_url, drop))
