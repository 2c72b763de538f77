"""What one request costs the database: its transactions, and the statements of placing an order."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.base import utcnow
from kitdesk.db.models import ApiKey
from kitdesk.domain.accounts.service import hash_key
from tests.api.orders_support import ORDERS, items, kits, patient_order
from tests.conftest import Api

# On PostgreSQL: the key with everything the order refers to in the key's account (recipient,
# items, kits with their lines, stock levels, webhook subscriptions, the external-id rule, an id
# for the order); then, in one message and one transaction without BEGIN or COMMIT, one
# statement with the order, all its rows and its audit entry, and one with the reservation at
# the chosen warehouse (lock, check and update).
PLACE_STATEMENTS = {"postgresql": 3}
# On SQLite, in one transaction: the key with the references; each table of the order takes its
# own INSERT (order, reservations, events, items, kits, notes, external ids, audit entry), the
# external-id rule is read on its own, and the reservation's lock and update are two statements.
PLACE_STATEMENTS["sqlite"] = 1 + 8 + 1 + 2
# A small order (one item: no kits, notes or external ids) writes less; on PostgreSQL the same
# statements do it.
SMALL_ORDER_SAVES = {"postgresql": 0, "sqlite": 4}


@contextmanager
def transactions(api: Api) -> Iterator[list[str]]:
    """Each transaction begun inside the block, named by its first statement."""
    engine = api.client.app.state.engine.sync_engine  # type: ignore[attr-defined]
    begun: list[str] = []
    pending: list[bool] = []

    def on_begin(conn: Any) -> None:
        pending.append(True)

    def on_statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if pending and not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA")):
            pending.clear()
            begun.append(" ".join(statement.split()[:3]))

    event.listen(engine, "begin", on_begin)
    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        yield begun
    finally:
        event.remove(engine, "begin", on_begin)
        event.remove(engine, "before_cursor_execute", on_statement)


def key_id_of(api: Api, key: str) -> int:
    async def load(session: AsyncSession) -> int:
        found = await session.scalar(select(ApiKey.id).where(ApiKey.key_hash == hash_key(key)))
        assert found is not None
        return found

    return api.call(load)


def set_last_use(api: Api, key: str, when: Any) -> None:
    key_id = key_id_of(api, key)

    async def change(session: AsyncSession) -> None:
        await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=when))

    api.call(change)


def test_a_request_with_a_recently_used_key_is_one_transaction(api: Api, key: str) -> None:
    set_last_use(api, key, utcnow())
    with transactions(api) as begun:
        response = api.get("/api/v3/item", key=key)
    assert response.status_code == 200
    assert len(begun) == 1
    assert begun[0].startswith("SELECT api_keys.id")


def test_a_stale_last_use_is_committed_on_its_own_before_the_request_runs(
    api: Api, key: str
) -> None:
    set_last_use(api, key, utcnow() - timedelta(minutes=5))
    with transactions(api) as begun:
        response = api.get("/api/v3/item", key=key)
    assert response.status_code == 200
    # The key's read and its last use, committed; then the request's own transaction.
    assert len(begun) == 2
    with transactions(api) as begun:
        assert api.get("/api/v3/item", key=key).status_code == 200
    assert len(begun) == 1


def test_placing_an_order_costs_the_same_statements_whatever_it_holds(
    api: Api, key: str, backend: str
) -> None:
    small = patient_order(1234, orderItems=items(1000))
    large = patient_order(
        1234,
        orderItems=items(1000, 1001, 1002, 1003, count=2),
        orderKits=kits(1000, 1001, 1002, 1003),
        orderNotes=[{"note": "first"}],
        externalOrderIds=["a", "b", "c"],
        shippingOption="standard",
    )
    set_last_use(api, key, utcnow())
    costs = []
    for body in (large, small, large):
        with api.count_queries() as counter, transactions(api) as begun:
            response = api.post(ORDERS, key=key, json=body)
        assert response.status_code == 201, response.text
        # PostgreSQL: no transaction block, each statement commits by itself; SQLite: one.
        assert len(begun) == (0 if backend == "postgresql" else 1)
        costs.append(len(counter.statements))
    large_cost = PLACE_STATEMENTS[backend]
    small_cost = large_cost - SMALL_ORDER_SAVES[backend]
    assert costs == [large_cost, small_cost, large_cost]


def test_placing_an_order_sends_no_begin_or_commit_on_postgresql(
    api: Api, key: str, backend: str
) -> None:
    if backend == "sqlite":
        return
    set_last_use(api, key, utcnow())
    body = patient_order(1234, orderItems=items(1000, 1001), orderKits=kits(1000))
    with server_transaction_states(api) as seen, api.count_queries() as counter:
        response = api.post(ORDERS, key=key, json=body)
    assert response.status_code == 201, response.text
    assert len(seen) == 3
    assert seen[0][0].startswith("SELECT api_keys.id")
    # The order, its rows and its audit entry; then its reservation, in the same message.
    written, reserved = seen[1][0], seen[2][0]
    assert written.startswith("WITH new_order AS (INSERT INTO orders")
    assert "INSERT INTO audit_entries" in written
    for part in ("UPDATE stock_levels", "pg_advisory_xact_lock"):
        assert part in reserved
        assert part not in written
    assert [inside for _, inside in seen] == [False, False, False]
    control = ("BEGIN", "COMMIT", "SAVEPOINT")
    assert not [s for s in counter.statements if s.lstrip().upper().startswith(control)]


@contextmanager
def server_transaction_states(api: Api) -> Iterator[list[tuple[str, bool]]]:
    """Each statement sent inside the block, with whether the server was inside a transaction
    block once it had run (PostgreSQL's own report, read from asyncpg's protocol)."""
    engine = api.client.app.state.engine.sync_engine  # type: ignore[attr-defined]
    seen: list[tuple[str, bool]] = []

    def on_statement(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        asyncpg_connection = conn.connection.dbapi_connection._connection
        seen.append((" ".join(statement.split()), asyncpg_connection.is_in_transaction()))

    event.listen(engine, "after_cursor_execute", on_statement)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", on_statement)


def test_an_order_fetch_sends_no_begin_or_commit_on_postgresql(
    api: Api, key: str, backend: str
) -> None:
    # On PostgreSQL the fetch is one statement, its reads and its audit entry, that commits by
    # itself (autocommit): no round trips for a transaction around it. On SQLite it stays one
    # transaction (BEGIN IMMEDIATE).
    order = api.post(ORDERS, key=key, json=patient_order(1234, orderItems=items(1000))).json()
    set_last_use(api, key, utcnow())
    with transactions(api) as begun:
        assert api.get(f"{ORDERS}/{order['id']}", key=key).status_code == 200
    if backend == "sqlite":
        assert len(begun) == 1
        assert begun[0].startswith("SELECT api_keys.id")
        return
    with server_transaction_states(api) as seen, api.count_queries() as counter:
        response = api.get(f"{ORDERS}/{order['id']}", key=key)
    assert response.status_code == 200, response.text
    assert response.json() == order
    # One statement: the key, the order with everything its view needs, and the audit entry.
    assert len(seen) == 1
    assert seen[0][0].startswith("WITH read_entry AS (INSERT INTO audit_entries")
    # The server reports no open transaction block after any of them.
    assert [inside for _, inside in seen] == [False] * len(seen)
    control = ("BEGIN", "COMMIT")
    assert not [s for s in counter.statements if s.lstrip().upper().startswith(control)]


def test_a_plain_order_list_page_sends_no_begin_or_commit_on_postgresql(
    api: Api, key: str, backend: str
) -> None:
    # On PostgreSQL a page without filters reads in autocommit: the key with the page's total
    # and ids, the three view reads, the audit entry; each a transaction of its own. On SQLite
    # the route's one transaction.
    order = api.post(ORDERS, key=key, json=patient_order(1234, orderItems=items(1000))).json()
    set_last_use(api, key, utcnow())
    with transactions(api) as begun:
        assert api.get(f"{ORDERS}?size=50", key=key).status_code == 200
    if backend == "sqlite":
        assert len(begun) == 1
        return
    with server_transaction_states(api) as seen, api.count_queries() as counter:
        response = api.get(f"{ORDERS}?size=50", key=key)
    assert response.status_code == 200, response.text
    assert response.json()["content"] == [order]
    assert len(seen) == 5
    assert seen[0][0].startswith("SELECT api_keys.id")
    assert seen[-1][0].startswith("INSERT INTO audit_entries")
    assert [inside for _, inside in seen] == [False] * len(seen)
    control = ("BEGIN", "COMMIT")
    assert not [s for s in counter.statements if s.lstrip().upper().startswith(control)]


def test_a_stale_last_use_is_written_by_an_order_fetch_too(api: Api, key: str) -> None:
    order = api.post(ORDERS, key=key, json=patient_order(1234, orderItems=items(1000))).json()
    stale = utcnow() - timedelta(minutes=5)
    set_last_use(api, key, stale)
    assert api.get(f"{ORDERS}/{order['id']}", key=key).status_code == 200

    async def last_use(session: AsyncSession) -> Any:
        return await session.scalar(
            select(ApiKey.last_used_at).where(ApiKey.key_hash == hash_key(key))
        )

    assert api.call(last_use) > stale
