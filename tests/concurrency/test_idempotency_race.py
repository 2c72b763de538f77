"""One Idempotency-Key, many identical requests at once, two server processes: one order."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from kitdesk.db.engine import create_engine, create_session_factory, session_scope
from kitdesk.db.models import IdempotencyKey, Order
from kitdesk.settings import Settings
from tests.conftest import TEST_KEYS
from tests.servers import running_servers

ATTEMPTS = 50
DEMO_ACCOUNT = 2


def _body(count: int) -> dict[str, Any]:
    return {
        "patient": {"id": 1234},
        "orderItems": [{"item": {"id": 1003}, "count": count}],
        "shippingOption": "standard",
    }


async def _race(base_urls: list[str], bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    headers = {"Impilo-API-Key": TEST_KEYS.customer, "Idempotency-Key": "race-key-1"}
    limits = httpx.Limits(max_connections=len(bodies))
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def one(n: int) -> httpx.Response:
            url = f"{base_urls[n % len(base_urls)]}/api/v3/order"
            return await client.post(url, json=bodies[n], headers=headers)

        return list(await asyncio.gather(*(one(n) for n in range(len(bodies)))))


async def _rows(url: str) -> tuple[int, list[str]]:
    """Orders of the demo customer, and the states of its idempotency keys."""
    engine = create_engine(Settings(database_url=url))
    try:
        async with session_scope(create_session_factory(engine)) as session:
            orders = await session.scalar(
                select(func.count()).select_from(Order).where(Order.account_id == DEMO_ACCOUNT)
            )
            states = list((await session.scalars(select(IdempotencyKey.state))).all())
            return int(orders or 0), states
    finally:
        await engine.dispose()


def _assert_one_original(responses: list[httpx.Response]) -> httpx.Response:
    """Exactly one response did the work; every other 201 is its byte-identical replay."""
    created = [r for r in responses if r.status_code == 201]
    originals = [r for r in created if "idempotent-replayed" not in r.headers]
    assert len(originals) == 1, [r.headers for r in created]
    assert {r.content for r in created} == {originals[0].content}
    assert all(r.headers["idempotent-replayed"] == "true" for r in created if r not in originals)
    return originals[0]


def test_identical_posts_with_one_key_across_two_processes_place_exactly_one_order(
    demo_database_url: str, tmp_path: Path
) -> None:
    with running_servers(demo_database_url, tmp_path, count=2) as servers:
        urls = [s.base_url for s in servers]
        responses = asyncio.run(_race(urls, [_body(2)] * ATTEMPTS))
        replay = asyncio.run(_race(urls[:1], [_body(2)]))[0]
    statuses = sorted({r.status_code for r in responses})
    assert set(statuses) <= {201, 409}, statuses
    original = _assert_one_original(responses)
    for busy in (r for r in responses if r.status_code == 409):
        assert busy.headers["content-type"] == "application/problem+json"
        assert busy.json()["code"] == "idempotency_key_in_flight"
    assert replay.status_code == 201
    assert replay.content == original.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert asyncio.run(_rows(demo_database_url)) == (1, ["stored"])


def test_two_different_bodies_racing_for_one_key_get_one_order_and_no_server_error(
    demo_database_url: str, tmp_path: Path
) -> None:
    bodies = [_body(2 + n % 2) for n in range(ATTEMPTS)]
    with running_servers(demo_database_url, tmp_path, count=2) as servers:
        responses = asyncio.run(_race([s.base_url for s in servers], bodies))
    assert {r.status_code for r in responses} <= {201, 409, 422}
    original = _assert_one_original(responses)
    winner = original.json()["orderItems"][0]["count"]
    for response, body in zip(responses, bodies, strict=True):
        if response.status_code == 201:
            assert body["orderItems"][0]["count"] == winner
        elif response.status_code == 422:
            assert body["orderItems"][0]["count"] != winner
            assert response.json()["code"] == "idempotency_key_reused"
    assert asyncio.run(_rows(demo_database_url)) == (1, ["stored"])
