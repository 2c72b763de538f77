"""Orders packed at the same time through real servers never share a device."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from tests.concurrency.test_receipt_race import post_all
from tests.conftest import TEST_KEYS
from tests.servers import running_servers

ORDERS = 16
ORDER = {
    "patient": {"id": 1234},
    "shippingOption": "standard",
    "orderItems": [{"item": {"id": 1000}, "count": 2}],
    "orderKits": [{"kit": {"id": 1000}, "count": 1}],
}


def _post(client: httpx.Client, path: str, body: Any, key: str) -> Any:
    r = client.post(path, json=body, headers={"Impilo-API-Key": key})
    assert r.status_code in (200, 201), r.text
    return r.json()


def _processing_orders(base_url: str) -> list[int]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        ids = [
            _post(client, "/api/v3/order", ORDER, TEST_KEYS.customer)["id"] for _ in range(ORDERS)
        ]
        for order_id in ids:
            _post(
                client,
                f"/api/v3/ops/order/{order_id}/status",
                {"status": "processing"},
                TEST_KEYS.operator,
            )
    return ids


def test_orders_packed_at_once_get_disjoint_devices(demo_database_url: str, tmp_path: Path) -> None:
    with running_servers(demo_database_url, tmp_path, count=2) as servers:
        urls = [s.base_url for s in servers]
        ids = _processing_orders(urls[0])
        calls = [(f"/api/v3/ops/order/{i}/status", {"status": "packed"}) for i in ids]
        packed = asyncio.run(post_all(urls, calls))
    assert [r.status_code for r in packed] == [200] * ORDERS, [r.text for r in packed]
    picked: list[int] = []
    for r in packed:
        body = r.json()
        devices = body["devices"] + [d for k in body["packedKits"] for d in k["devices"]]
        assert len(devices) == 3
        picked += [d["id"] for d in devices]
    assert len(set(picked)) == 3 * ORDERS
