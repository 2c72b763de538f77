"""Warehouse and stock receipts racing through real servers: duplicates are refused cleanly
(409 or 400, never a 500) and every accepted unit is counted once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import TEST_KEYS
from tests.servers import running_servers

RACERS = 24
OPS = "/api/v3/ops"


async def post_all(base_urls: list[str], calls: list[tuple[str, Any]]) -> list[httpx.Response]:
    """POST every (path, body) at once, spread over the servers."""
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=50)) as client:

        async def one(n: int, path: str, body: Any) -> httpx.Response:
            return await client.post(
                f"{base_urls[n % len(base_urls)]}{path}",
                json=body,
                headers={"Impilo-API-Key": TEST_KEYS.operator},
            )

        return list(await asyncio.gather(*(one(n, p, b) for n, (p, b) in enumerate(calls))))


def _get(base_url: str, path: str, **params: Any) -> Any:
    r = httpx.get(
        base_url + path, params=params, headers={"Impilo-API-Key": TEST_KEYS.operator}, timeout=30
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_racing_receipts_are_refused_or_counted_never_lost(
    demo_database_url: str, tmp_path: Path
) -> None:
    with running_servers(demo_database_url, tmp_path, count=2) as servers:
        urls = [s.base_url for s in servers]
        same_code = [(f"{OPS}/fulfillment-site", {"code": "RACE", "name": "Race"})] * RACERS
        created = asyncio.run(post_all(urls, same_code))
        statuses = sorted(r.status_code for r in created)
        assert statuses == [201] + [409] * (RACERS - 1), [r.text for r in created]
        assert {r.json()["code"] for r in created if r.status_code == 409} == {"duplicate_code"}
        site = next(r.json()["id"] for r in created if r.status_code == 201)

        first_receipts = [
            (f"{OPS}/fulfillment-site/{site}/stock", {"itemId": 1003, "quantity": 2})
        ] * RACERS
        received = asyncio.run(post_all(urls, first_receipts))
        assert [r.status_code for r in received] == [200] * RACERS, [r.text for r in received]
        [row] = _get(urls[0], f"{OPS}/stock", fulfillmentSiteId=site, itemId=1003)
        assert (row["onHand"], row["reserved"]) == (2 * RACERS, 0)

        same_device = [
            (f"{OPS}/fulfillment-site/{site}/devices", {"itemId": 1001, "identifiers": ["RACE-1"]})
        ] * RACERS
        devices = asyncio.run(post_all(urls, same_device))
        assert sorted(r.status_code for r in devices) == [201] + [400] * (RACERS - 1)
        assert {r.json()["code"] for r in devices if r.status_code == 400} == {"invalid_devices"}
        [row] = _get(urls[0], f"{OPS}/stock", fulfillmentSiteId=site, itemId=1001)
        assert (row["onHand"], row["reserved"]) == (1, 0)
