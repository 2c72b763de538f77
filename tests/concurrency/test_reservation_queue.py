"""Reservations queue on an advisory lock of their warehouse before they lock stock rows
(``kitdesk.domain.inventory.service.gate_params``): waiters are served first come, first served,
where waiters on a row lock race for it each time its holder commits."""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import StockLevel
from kitdesk.domain.inventory import service as inventory
from tests.conftest import Api

WAREHOUSE = 1
NEEDS = {1000: 1, 1001: 2, 1003: 1}


async def _reserved(session: AsyncSession) -> dict[int, int]:
    rows = await session.execute(
        select(StockLevel.item_id, StockLevel.reserved).where(
            StockLevel.fulfillment_site_id == WAREHOUSE, StockLevel.item_id.in_(NEEDS)
        )
    )
    return {item_id: reserved for item_id, reserved in rows}


def test_each_warehouse_has_a_gate_key_of_its_own_within_postgresqls_integer() -> None:
    assert inventory.gate_params(7) == {"gate": 7}
    assert inventory.gate_params(8) != inventory.gate_params(7)
    assert 0 <= inventory.gate_params(2**40 + 5)["gate"] < 2**31


def test_a_reservation_holds_its_warehouses_gate_until_its_transaction_ends(
    api: Api,
    key: str,
    backend: str,  # key: the demo data, with its warehouse stock
) -> None:
    async def reserve_and_look(session: AsyncSession) -> tuple[int, list[tuple[int, int]]]:
        before = await _reserved(session)
        site = await inventory.reserve(session, needs=NEEDS, candidates=[WAREHOUSE])
        after = await _reserved(session)
        assert {i: after[i] - before[i] for i in NEEDS} == NEEDS
        if backend == "sqlite":
            return site, []
        rows = await session.execute(
            text(
                "SELECT classid::bigint, objid::bigint FROM pg_locks WHERE locktype = 'advisory'"
                " AND pid = pg_backend_pid() AND granted ORDER BY objid"
            )
        )
        locks = [(int(c), int(o)) for c, o in rows]
        await session.rollback()
        return site, locks

    site, locks = api.call(reserve_and_look)
    assert site == WAREHOUSE
    if backend == "sqlite":  # one writer at a time: SQLite queues writers itself
        return
    assert locks == [(inventory.GATE_NAMESPACE, inventory.gate_params(WAREHOUSE)["gate"])]


def test_a_reservation_waits_for_the_holder_of_its_warehouses_gate(
    api: Api,
    key: str,
    backend: str,  # key: the demo data, with its warehouse stock
) -> None:
    gate = inventory.gate_params(WAREHOUSE)["gate"]

    async def queue(session: AsyncSession) -> list[str]:
        outcomes: list[str] = []
        if backend == "sqlite":  # SQLite takes its one write lock at BEGIN: no gates there
            await inventory.reserve(session, needs=NEEDS, candidates=[WAREHOUSE])
            await session.rollback()
            return ["reserved"]
        engine = session.bind
        async with engine.connect() as holder:  # type: ignore[union-attr]
            await holder.execute(
                text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                {"ns": inventory.GATE_NAMESPACE, "key": gate},
            )
            # The gate is held by another transaction: the reservation waits for it (here
            # until its lock timeout), though no stock row is locked by anyone.
            await session.execute(text("SET LOCAL lock_timeout = '300ms'"))
            try:
                await inventory.reserve(session, needs=NEEDS, candidates=[WAREHOUSE])
                outcomes.append("reserved")
            except DBAPIError as error:  # lock_not_available: it was waiting
                outcomes.append(
                    "waited" if getattr(error.orig, "sqlstate", None) == "55P03" else str(error)
                )
            await session.rollback()
            await holder.rollback()  # the gate opens
        await session.execute(text("SET LOCAL lock_timeout = '300ms'"))
        await inventory.reserve(session, needs=NEEDS, candidates=[WAREHOUSE])
        outcomes.append("reserved")
        await session.rollback()
        return outcomes

    expected = ["reserved"] if backend == "sqlite" else ["waited", "reserved"]
    assert api.call(queue) == expected
