"""Stock never goes negative: many orders race for the last units through real servers."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kitdesk.db.engine import create_engine, create_session_factory, session_scope
from kitdesk.db.models import Item, StockLevel
from kitdesk.domain.catalog import service as catalog
from kitdesk.domain.catalog.schemas import ItemCreate
from kitdesk.settings import Settings
from tests.conftest import TEST_KEYS
from tests.servers import running_servers

STOCK = 50
ORDERS = 200
DEMO_ACCOUNT = 2  # the demo customer's account id (operator is 1)


async def _one_scarce_item(url: str) -> int:
    """A counted item in the demo customer's catalog with exactly STOCK units in the warehouse."""
    engine = create_engine(Settings(database_url=url))
    try:
        async with session_scope(create_session_factory(engine)) as session:
            item = await catalog.create_item(session, data=ItemCreate(name="Scarce supply"))
            await catalog.grant_items(session, account_id=DEMO_ACCOUNT, item_ids=[item.id])
            session.add(StockLevel(fulfillment_site_id=1, item_id=item.id, on_hand=STOCK))
            return item.id
    finally:
        await engine.dispose()


async def _stock_of(url: str, item_id: int) -> tuple[int, int]:
    engine = create_engine(Settings(database_url=url))
    try:
        async with session_scope(create_session_factory(engine)) as session:
            level = await session.scalar(select(StockLevel).where(StockLevel.item_id == item_id))
            assert level is not None
            assert await session.get(Item, item_id) is not None
            return level.on_hand, level.reserved
    finally:
        await engine.dispose()


async def _race(base_urls: list[str], item_id: int) -> list[httpx.Response]:
    body: dict[str, Any] = {
        "patient": {"id": 1234},
        "orderItems": [{"item": {"id": item_id}, "count": 1}],
        "shippingOption": "standard",
    }
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def one(n: int) -> httpx.Response:
            return await client.post(
                f"{base_urls[n % len(base_urls)]}/api/v3/order",
                json=body,
                headers={"Impilo-API-Key": TEST_KEYS.customer},
            )

        return list(await asyncio.gather(*(one(n) for n in range(ORDERS))))


@pytest.mark.parametrize("processes", [1, 2])
def test_concurrent_orders_never_oversell(
    demo_database_url: str, tmp_path: Path, processes: int
) -> None:
    item_id = asyncio.run(_one_scarce_item(demo_database_url))
    with running_servers(demo_database_url, tmp_path, count=processes) as servers:
        responses = asyncio.run(_race([s.base_url for s in servers], item_id))
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == STOCK, sorted(set(statuses))
    refused = [r for r in responses if r.status_code != 201]
    assert len(refused) == ORDERS - STOCK
    assert {r.json()["code"] for r in refused} == {"insufficient_inventory"}
    assert {r.json()["message"] for r in refused} == {"insufficient_inventory"}
    on_hand, reserved = asyncio.run(_stock_of(demo_database_url, item_id))
    assert (on_hand, reserved) == (STOCK, STOCK)  # nothing left to promise, nothing oversold
