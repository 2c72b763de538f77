"""Unique external order ids hold when two server processes place orders with one id at once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from kitdesk.db.engine import create_engine, create_session_factory, session_scope
from kitdesk.domain.integrity import external_ids
from kitdesk.settings import Settings
from tests.conftest import TEST_KEYS
from tests.servers import running_servers

ATTEMPTS = 30
DEMO_ACCOUNT = 2


async def _make_unique(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        async with session_scope(create_session_factory(engine)) as session:
            await external_ids.set_unique(session, account_id=DEMO_ACCOUNT, unique=True)
    finally:
        await engine.dispose()


async def _race(base_urls: list[str]) -> list[httpx.Response]:
    # Return-only orders reserve no stock, so they share no row lock that would queue them up
    # and hide a check-then-insert race.
    body: dict[str, Any] = {
        "externalOrderIds": ["po-9000"],
        "patient": {"id": 1234},
        "returnItems": [{"item": {"id": 1003}, "count": 1}],
        "emailLabel": True,
    }
    limits = httpx.Limits(max_connections=ATTEMPTS)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def one(n: int) -> httpx.Response:
            return await client.post(
                f"{base_urls[n % len(base_urls)]}/api/v3/order",
                json=body,
                headers={"Impilo-API-Key": TEST_KEYS.customer},
            )

        return list(await asyncio.gather(*(one(n) for n in range(ATTEMPTS))))


def test_only_one_of_many_orders_racing_for_one_external_id_is_placed(
    demo_database_url: str, tmp_path: Path
) -> None:
    asyncio.run(_make_unique(demo_database_url))
    with running_servers(demo_database_url, tmp_path, count=2) as servers:
        responses = asyncio.run(_race([s.base_url for s in servers]))
        listed = httpx.get(
            f"{servers[0].base_url}/api/v3/order?externalOrderId=po-9000",
            headers={"Impilo-API-Key": TEST_KEYS.customer},
        ).json()
    placed = [r for r in responses if r.status_code == 201]
    assert len(placed) == 1, sorted(r.status_code for r in responses)
    winner = placed[0].json()["id"]
    message = f"externalOrderId po-9000 is already used by order {winner}"
    refused = [r for r in responses if r.status_code != 201]
    assert len(refused) == ATTEMPTS - 1
    assert {r.status_code for r in refused} == {409}
    assert {r.json()["code"] for r in refused} == {"duplicate_external_order_id"}
    assert {r.json()["message"] for r in refused} == {message}
    assert [o["id"] for o in listed["content"]] == [winner]
