"""Order creations with Idempotency-Keys, sent while something crashes, then retried.

Each key names one order request (its own body, with the key as its external order id). The
first round sends them all, a few at a time, and sets off the blow once enough were answered
201; the second round sends every key again, the same body, until it is answered 201.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from kitdesk.domain import demo
from tests.conftest import TEST_KEYS

KEYS = 80
# Requests in flight at once. SQLite serializes every transaction on its write lock (with a
# 10-second busy timeout), so fewer at once there keep a loaded machine from timing out on it.
CONCURRENCY = {"postgresql": 12, "sqlite": 4}
BLOW_AFTER = 25  # 201s answered before the blow
# Bounds the second round: a key is sent again at most this many times, this far apart.
RETRIES = 120
RETRY_PAUSE_SECONDS = 0.25
API_KEY_HEADER = "Impilo-API-Key"
KIT_ITEMS = {kit_id: lines for kit_id, _name, lines, _loaner in demo.KITS}
SHAPES: list[dict[str, Any]] = [
    {"orderItems": [{"item": {"id": 1003}, "count": 2}]},
    {"orderItems": [{"item": {"id": 1000}, "count": 1}, {"item": {"id": 1005}, "count": 3}]},
    {"orderKits": [{"kit": {"id": 1002}, "count": 1}]},
    {
        "orderItems": [{"item": {"id": 1001}, "count": 1}],
        "orderKits": [{"kit": {"id": 1003}, "count": 1}],
    },
    {"orderKits": [{"kit": {"id": 1000}, "count": 1}, {"kit": {"id": 1001}, "count": 2}]},
]


def key_of(n: int) -> str:
    return f"crash-order-{n:03d}"


def body_of(n: int) -> dict[str, Any]:
    return {
        "patient": {"id": 1234},
        "shippingOption": "standard",
        "externalOrderIds": [key_of(n)],
        **SHAPES[n % len(SHAPES)],
    }


def units_of(body: dict[str, Any]) -> Counter[int]:
    """The units of each item an order with ``body`` reserves (kits expanded)."""
    units: Counter[int] = Counter()
    for line in body.get("orderItems", []):
        units[line["item"]["id"]] += line["count"]
    for line in body.get("orderKits", []):
        for item_id, count in KIT_ITEMS[line["kit"]["id"]]:
            units[item_id] += count * line["count"]
    return units


@dataclass
class FirstRound:
    """The first answer to each key (None: none came), and whether the blow was struck."""

    answers: dict[str, httpx.Response | None] = field(default_factory=dict)
    acknowledged: int = 0
    blown: bool = False


async def _send(client: httpx.AsyncClient, base_url: str, n: int) -> httpx.Response | None:
    try:
        return await client.post(
            f"{base_url}/api/v3/order",
            json=body_of(n),
            headers={API_KEY_HEADER: TEST_KEYS.customer, "Idempotency-Key": key_of(n)},
        )
    except httpx.TransportError:
        return None


async def first_round(base_url: str, blow: Callable[[], None], *, concurrency: int) -> FirstRound:
    """Send every key once, ``concurrency`` at a time; strike ``blow`` after ``BLOW_AFTER`` 201s."""
    result = FirstRound()
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=60) as client:

        async def one(n: int) -> None:
            async with gate:
                response = await _send(client, base_url, n)
            result.answers[key_of(n)] = response
            if response is not None and response.status_code == 201:
                result.acknowledged += 1
                if result.acknowledged == BLOW_AFTER:
                    result.blown = True
                    await asyncio.to_thread(blow)

        await asyncio.gather(*(one(n) for n in range(KEYS)))
    return result


def may_retry(response: httpx.Response | None, *, server_errors: bool) -> bool:
    """No answer, the key still in flight elsewhere, or (while the database recovers) a 5xx."""
    if response is None:
        return True
    if response.status_code == 409:
        return bool(response.json()["code"] == "idempotency_key_in_flight")
    return server_errors and response.status_code >= 500


async def second_round(
    base_url: str, *, concurrency: int, server_errors: bool
) -> dict[str, httpx.Response]:
    """Send every key again until it is answered 201; returns those answers."""
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=60) as client:

        async def one(n: int) -> httpx.Response:
            async with gate:
                for _ in range(RETRIES):
                    response = await _send(client, base_url, n)
                    if response is not None and response.status_code == 201:
                        return response
                    if not may_retry(response, server_errors=server_errors):
                        assert response is not None
                        raise AssertionError(f"{key_of(n)}: {response.status_code} {response.text}")
                    await asyncio.sleep(RETRY_PAUSE_SECONDS)
            raise AssertionError(f"{key_of(n)} was never answered 201")

        answers = await asyncio.gather(*(one(n) for n in range(KEYS)))
    return {key_of(n): answer for n, answer in enumerate(answers)}
