"""Placing an order picks one warehouse that can serve all of it, or refuses and writes nothing.

The demo warehouse (1) holds everything, so these tests close it and stock their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import (
    AuditEntry,
    Order,
    OrderEvent,
    OrderItem,
    OrderKit,
    OrderReservation,
    Patient,
    WebhookEvent,
    WebhookSubscription,
)
from kitdesk.domain.inventory import service as inventory
from tests.api.ops_support import level, receive, receive_devices, set_active, warehouse
from tests.conftest import Api, assert_problem

# A kit of one blood pressure monitor (1000, serialized) and one pack of batteries (1005),
# plus test strips (1003).
ORDER = {
    "patient": {"id": 1234},
    "shippingOption": "standard",
    "orderKits": [{"kit": {"id": 1000}, "count": 1}],
    "orderItems": [{"item": {"id": 1003}, "count": 3}],
}


def stock_three_warehouses(api: Api, op: str) -> tuple[int, int, int]:
    """Strips only; monitors and batteries but too few strips; all of it."""
    set_active(api, 1, False)
    strips_only = warehouse(api, op, "STRIPS")
    short = warehouse(api, op, "SHORT")
    complete = warehouse(api, op, "COMPLETE")
    assert receive(api, op, strips_only, 1003, 50).status_code == 200
    assert receive_devices(api, op, short, 1000, ["S-1", "S-2"]).status_code == 201
    assert receive(api, op, short, 1005, 5).status_code == 200
    assert receive(api, op, short, 1003, 2).status_code == 200
    assert receive_devices(api, op, complete, 1000, ["C-1"]).status_code == 201
    assert receive(api, op, complete, 1005, 1).status_code == 200
    assert receive(api, op, complete, 1003, 3).status_code == 200
    return strips_only, short, complete


def snapshot(api: Api, op: str, sites: tuple[int, ...]) -> dict[tuple[int, int], Any]:
    return {(s, i): level(api, op, s, i) for s in sites for i in (1000, 1003, 1005)}


def test_an_order_goes_to_the_one_warehouse_that_holds_all_of_it(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    strips_only, short, complete = stock_three_warehouses(api, op)
    before = snapshot(api, op, (strips_only, short))
    r = api.post("/api/v3/order", key=demo_keys.customer, json=ORDER)
    assert r.status_code == 201, r.text
    assert level(api, op, complete, 1000) == (1, 1, 0)
    assert level(api, op, complete, 1005) == (1, 1, 0)
    assert level(api, op, complete, 1003) == (3, 3, 0)
    assert snapshot(api, op, (strips_only, short)) == before


def test_an_order_no_single_warehouse_can_serve_is_refused_and_nothing_is_written(
    api: Api, demo_keys: Any
) -> None:
    op = demo_keys.operator
    sites = stock_three_warehouses(api, op)
    first = api.post("/api/v3/order", key=demo_keys.customer, json=ORDER)
    assert first.status_code == 201, first.text
    before = snapshot(api, op, sites)
    # Together the warehouses still hold enough strips, monitors and batteries; none alone does.
    r = api.post("/api/v3/order", key=demo_keys.customer, json=ORDER)
    assert_problem(r, 400, "insufficient_inventory", "insufficient_inventory")
    assert snapshot(api, op, sites) == before
    orders = api.get("/api/v3/order", key=demo_keys.customer).json()
    assert [o["id"] for o in orders["content"]] == [first.json()["id"]]


def test_an_inactive_warehouse_is_never_chosen(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    _, _, complete = stock_three_warehouses(api, op)
    set_active(api, complete, False)
    refused = api.post("/api/v3/order", key=demo_keys.customer, json=ORDER)
    assert_problem(refused, 400, "insufficient_inventory", "insufficient_inventory")
    assert level(api, op, complete, 1003) == (3, 0, 3)
    set_active(api, 1, True)
    placed = api.post("/api/v3/order", key=demo_keys.customer, json=ORDER)
    assert placed.status_code == 201, placed.text
    assert level(api, op, 1, 1003) == (100_000, 3, 99_997)
    assert level(api, op, complete, 1003) == (3, 0, 3)
    listed = api.get("/api/v3/ops/fulfillment-site", key=op).json()
    assert [(w["code"], w["active"]) for w in listed] == [
        ("MAIN", True),
        ("STRIPS", True),
        ("SHORT", True),
        ("COMPLETE", False),
    ]


def test_an_order_larger_than_any_warehouse_is_refused(api: Api, demo_keys: Any) -> None:
    op = demo_keys.operator
    body = {**ORDER, "orderKits": None, "orderItems": [{"item": {"id": 1000}, "count": 201}]}
    r = api.post("/api/v3/order", key=demo_keys.customer, json=body)
    assert_problem(r, 400, "insufficient_inventory", "insufficient_inventory")
    assert level(api, op, 1, 1000) == (200, 0, 200)
    assert api.get("/api/v3/order", key=demo_keys.customer).json()["total"] == 0


# The warehouse is chosen from unlocked stock levels and reserved under lock only at the end of
# the placement; these tests stand in for an order that empties the chosen warehouse in between.


def _chosen_earlier(monkeypatch: pytest.MonkeyPatch, sites: list[int]) -> None:
    """Make placement start from ``sites``, as if they had held the goods a moment ago."""

    def stale(levels: Iterable[tuple[int, int, int]], *, needs: Mapping[int, int]) -> list[int]:
        return sites

    monkeypatch.setattr(inventory, "warehouses_from", stale)


def _rows(api: Api) -> dict[str, int]:
    async def count(session: AsyncSession) -> dict[str, int]:
        return {
            table.__tablename__: (await session.scalar(select(func.count()).select_from(table)))
            or 0
            for table in (Order, OrderItem, OrderKit, OrderEvent, OrderReservation, AuditEntry)
        } | {
            "webhook_events": (await session.scalar(select(func.count()).select_from(WebhookEvent)))
            or 0
        }

    return api.call(count)


def test_a_warehouse_emptied_after_it_was_chosen_is_passed_over_for_the_next(
    api: Api, demo_keys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    op = demo_keys.operator
    strips_only, short, complete = stock_three_warehouses(api, op)
    before = snapshot(api, op, (strips_only, short))
    _chosen_earlier(monkeypatch, [short, complete])
    r = api.post("/api/v3/order", key=demo_keys.customer, json=ORDER)
    assert r.status_code == 201, r.text
    assert snapshot(api, op, (strips_only, short)) == before
    assert level(api, op, complete, 1003) == (3, 3, 0)

    async def site_of(session: AsyncSession) -> int | None:
        return await session.scalar(
            select(Order.fulfillment_site_id).where(Order.id == r.json()["id"])
        )

    assert api.call(site_of) == complete


def test_when_every_chosen_warehouse_was_emptied_the_order_is_refused_and_nothing_stays_written(
    api: Api, demo_keys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    op = demo_keys.operator
    sites = stock_three_warehouses(api, op)
    strips_only, short, _ = sites

    async def subscribe(session: AsyncSession) -> None:
        # A subscriber, so that a placed order would also queue webhook events.
        account = await session.scalar(select(Patient.account_id).where(Patient.id == 1234))
        for kind in ("order.status", "order.statusFull"):
            assert account is not None
            session.add(
                WebhookSubscription(
                    account_id=account, type=kind, url="https://hooks.example.com/k"
                )
            )

    api.call(subscribe)
    before, rows_before = snapshot(api, op, sites), _rows(api)
    _chosen_earlier(monkeypatch, [strips_only, short])
    r = api.post("/api/v3/order", key=demo_keys.customer, json=ORDER)
    assert_problem(r, 400, "insufficient_inventory", "insufficient_inventory")
    assert snapshot(api, op, sites) == before
    # The order, its lines, event, reservations, audit entry and webhook events all rolled back.
    assert _rows(api) == rows_before
    assert api.get("/api/v3/order", key=demo_keys.customer).json()["total"] == 0
    # The same order placed for real writes all of those rows, webhook events included.
    monkeypatch.undo()
    placed = api.post("/api/v3/order", key=demo_keys.customer, json=ORDER)
    assert placed.status_code == 201, placed.text
    after = _rows(api)
    assert all(after[table] > rows_before[table] for table in rows_before), after


def test_an_order_refused_by_every_warehouse_in_its_one_statement_writes_nothing(
    api: Api, demo_keys: Any, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    # No webhook subscriber and no unique external ids: on PostgreSQL the order is placed by
    # one statement per warehouse tried (the order, its rows, its audit entry, its reservation),
    # each failing as a whole when the warehouse falls short.
    op = demo_keys.operator
    sites = stock_three_warehouses(api, op)
    strips_only, short, complete = sites
    before, rows_before = snapshot(api, op, sites), _rows(api)
    _chosen_earlier(monkeypatch, [strips_only, short])
    body = {**ORDER, "externalOrderIds": ["refused-1"], "orderNotes": [{"note": "n"}]}
    r = api.post("/api/v3/order", key=demo_keys.customer, json=body)
    assert_problem(r, 400, "insufficient_inventory", "insufficient_inventory")
    assert snapshot(api, op, sites) == before
    assert _rows(api) == rows_before
    kept = api.client.app.state.kept_connections  # type: ignore[attr-defined]
    if backend == "postgresql":
        # The refusal left its connection clean and kept: the next order is placed on it.
        assert kept.idle == 1
    monkeypatch.undo()
    placed = api.post("/api/v3/order", key=demo_keys.customer, json=body)
    assert placed.status_code == 201, placed.text
    assert level(api, op, complete, 1003) == (3, 3, 0)
    after = _rows(api)
    grew = {table for table in rows_before if after[table] > rows_before[table]}
    assert grew == set(rows_before) - {"webhook_events"}
    assert api.get("/api/v3/order", key=demo_keys.customer).json()["total"] == 1
