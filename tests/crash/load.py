"""A bounded load of order changes through an API server, for the worker crash test.

Each lane places orders one after another and moves each through processing to cancelled; some
requests are refused with 400, so the change they asked for rolls back. The ledger keeps what
the client learnt: the changes acknowledged with a 2xx, and the refusals.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conftest import TEST_KEYS

API_KEY_HEADER = "Impilo-API-Key"
ORDER = {
    "patient": {"id": 1234},
    "orderItems": [{"item": {"id": 1003}, "count": 1}],
    "shippingOption": "standard",
}
# Item 1004 may not be ordered: refused with 400 before anything is written.
NOT_ORDERABLE = {**ORDER, "orderItems": [{"item": {"id": 1004}, "count": 1}]}
# Item 1003 is counted, so naming devices for it makes the packing invalid: 400.
BAD_PACKING = {"status": "packed", "orderItems": [{"item": {"id": 1003}, "devices": [{"id": 1}]}]}

Change = tuple[int, str]  # (order id, status it moved to)


@dataclass
class Ledger:
    """What the client learnt from its requests."""

    acknowledged: set[Change] = field(default_factory=set)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (status, code)
    unexpected: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Lane:
    """One sequence of requests to the server at ``base_url``."""

    client: httpx.AsyncClient
    base_url: str
    ledger: Ledger

    async def post(
        self, path: str, key: str, body: dict[str, Any], expected: int
    ) -> httpx.Response | None:
        """The answer when it has the ``expected`` status; anything else is noted."""
        try:
            response = await self.client.post(
                self.base_url + path, json=body, headers={API_KEY_HEADER: key}
            )
        except httpx.TransportError as exc:
            self.ledger.unexpected.append(f"POST {path}: {type(exc).__name__}")
            return None
        if response.status_code != expected:
            self.ledger.unexpected.append(f"POST {path}: {response.status_code} {response.text}")
            return None
        return response

    async def place(self) -> int | None:
        response = await self.post("/api/v3/order", TEST_KEYS.customer, ORDER, 201)
        if response is None:
            return None
        order_id: int = response.json()["id"]
        self.ledger.acknowledged.add((order_id, "received"))
        return order_id

    async def move(self, order_id: int, status: str) -> bool:
        path = f"/api/v3/ops/order/{order_id}/status"
        if await self.post(path, TEST_KEYS.operator, {"status": status}, 200) is None:
            return False
        self.ledger.acknowledged.add((order_id, status))
        return True

    async def refused(self, path: str, key: str, body: dict[str, Any]) -> None:
        response = await self.post(path, key, body, 400)
        if response is not None:
            self.ledger.refused.append((response.status_code, response.json()["code"]))

    async def run(self, orders: int, until: threading.Event) -> None:
        await self.refused("/api/v3/order", TEST_KEYS.customer, NOT_ORDERABLE)
        for n in range(orders):
            if until.is_set():
                return
            order_id = await self.place()
            if order_id is None or not await self.move(order_id, "processing"):
                continue
            if n % 3 == 0:
                path = f"/api/v3/ops/order/{order_id}/status"
                await self.refused(path, TEST_KEYS.operator, BAD_PACKING)
            await self.move(order_id, "cancelled")


async def run_load(
    base_url: str, *, lanes: int, orders_per_lane: int, until: threading.Event
) -> Ledger:
    """Run the lanes side by side, each until ``until`` is set or its orders are all placed;
    returns what they learnt."""
    ledger = Ledger()
    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(
            *(Lane(client, base_url, ledger).run(orders_per_lane, until) for _ in range(lanes))
        )
    return ledger
