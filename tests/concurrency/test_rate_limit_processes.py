"""Rate limits are counted in the database, so two server processes share one budget per key."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.conftest import TEST_KEYS
from tests.servers import running_servers

LIMIT = 20
BURST = 30
# A window far longer than the test, so no window boundary falls inside it.
WINDOW = 366 * 24 * 3600
PATH = "/api/v3/order-status"


async def _burst(base_urls: list[str], key: str, count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def one(n: int) -> httpx.Response:
            url = f"{base_urls[n % len(base_urls)]}{PATH}"
            return await client.get(url, headers={"Impilo-API-Key": key})

        return list(await asyncio.gather(*(one(n) for n in range(count))))


def test_two_processes_share_one_keys_budget_and_never_throttle_another_tenant(
    demo_database_url: str, tmp_path: Path
) -> None:
    env = {
        "KITDESK_RATE_LIMIT_REQUESTS": str(LIMIT),
        "KITDESK_RATE_LIMIT_WINDOW_SECONDS": str(WINDOW),
    }
    with running_servers(demo_database_url, tmp_path, count=2, extra_env=env) as servers:
        urls = [s.base_url for s in servers]
        burst = asyncio.run(_burst(urls, TEST_KEYS.customer, BURST))
        other = asyncio.run(_burst(urls, TEST_KEYS.other_customer, LIMIT))
    statuses = [r.status_code for r in burst]
    assert statuses.count(200) == LIMIT
    throttled = [r for r in burst if r.status_code != 200]
    assert len(throttled) == BURST - LIMIT
    for r in throttled:
        assert r.status_code == 429
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "too_many_requests"
        assert int(r.headers["retry-after"]) >= 1
    assert [r.status_code for r in other] == [200] * LIMIT
