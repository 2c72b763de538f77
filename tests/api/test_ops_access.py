"""Every operator endpoint (under /api/v3/ops) needs an operator key."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kitdesk.api.app import create_app
from kitdesk.settings import Settings
from tests.api.ops_support import OPS, level
from tests.conftest import TEST_KEYS, Api, assert_problem

FORBIDDEN = "this endpoint needs an operator key"
MISSING = "missing Impilo-API-Key header"
# Bodies that an operator could send successfully, so only the key decides the answer.
BODIES: dict[str, Any] = {
    "/fulfillment-site": {"code": "NEVER", "name": "Never created"},
    "/fulfillment-site/1/stock": {"itemId": 1003, "quantity": 5},
    "/fulfillment-site/1/devices": {"itemId": 1000, "identifiers": ["NEVER-1"]},
    "/order/1/status": {"status": "processing"},
    "/return/1/status": {"status": "inTransit"},
    "/return/1/receive": {"fulfillmentSiteId": 1},
    "/device/1/inspect": {"result": "retired"},
}
KNOWN = {
    ("POST", "/fulfillment-site"),
    ("GET", "/fulfillment-site"),
    ("POST", "/fulfillment-site/1/stock"),
    ("POST", "/fulfillment-site/1/devices"),
    ("GET", "/stock"),
    ("GET", "/order"),
    ("GET", "/order/1"),
    ("POST", "/order/1/status"),
}


def ops_endpoints() -> list[tuple[str, str]]:
    """(method, path below /api/v3/ops with ids filled in) of every documented operator route."""
    paths = create_app(Settings(database_url="sqlite:///:memory:")).openapi()["paths"]
    found = set()
    for template, operations in paths.items():
        if template.startswith(OPS + "/"):
            path = re.sub(r"\{[^}]+\}", "1", template.removeprefix(OPS))
            found.update((method.upper(), path) for method in operations)
    return sorted(found)


ENDPOINTS = ops_endpoints()


def test_the_endpoint_list_covers_the_warehouse_stock_and_order_endpoints() -> None:
    assert set(ENDPOINTS) >= KNOWN


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_customer_key_is_forbidden_on_every_operator_endpoint(
    api: Api, demo_keys: Any, endpoint: tuple[str, str]
) -> None:
    method, path = endpoint
    body = BODIES.get(path) if method == "POST" else None
    r = api.request(method, OPS + path, key=demo_keys.customer, json=body)
    assert_problem(r, 403, "forbidden", FORBIDDEN)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_a_missing_key_is_unauthorized_on_every_operator_endpoint(
    api: Api, demo_keys: Any, endpoint: tuple[str, str]
) -> None:
    method, path = endpoint
    body = BODIES.get(path) if method == "POST" else None
    r = api.request(method, OPS + path, json=body)
    assert_problem(r, 401, "unauthorized", MISSING)
    assert r.headers["www-authenticate"] == "Impilo-API-Key"


def test_a_refused_customer_writes_nothing(api: Api, demo_keys: Any) -> None:
    for path in ("/fulfillment-site", "/fulfillment-site/1/stock", "/fulfillment-site/1/devices"):
        r = api.post(OPS + path, key=demo_keys.other_customer, json=BODIES[path])
        assert_problem(r, 403, "forbidden", FORBIDDEN)
    moved = api.post(
        f"{OPS}/order/1/status", key=demo_keys.customer, json=BODIES["/order/1/status"]
    )
    assert_problem(moved, 403, "forbidden", FORBIDDEN)
    listed = api.get(f"{OPS}/fulfillment-site", key=TEST_KEYS.operator).json()
    assert [w["code"] for w in listed] == ["MAIN"]
    assert level(api, TEST_KEYS.operator, 1, 1003) == (100_000, 0, 100_000)
    assert level(api, TEST_KEYS.operator, 1, 1000) == (200, 0, 200)
