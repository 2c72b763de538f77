"""Connections in autocommit, kept checked out from one request to the next
(``kitdesk.db.engine.KeptConnections``).

A connection is kept only when it was given back cleanly (normally, or with one of Kitdesk's own
refusals), outside any transaction; everything else goes back to the pool. Nothing kept
outlives the app's lifespan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kitdesk.api.app import create_app
from kitdesk.db import driver
from kitdesk.db.engine import KeptConnections, create_engine, create_kept_connections
from kitdesk.errors import NotFound
from kitdesk.settings import Settings
from tests.api.lean_support import BAD_KEY
from tests.conftest import Api

T = TypeVar("T")
# Read as the lean kept read: by the driver, which starts no SQLAlchemy transaction.
PID = select(func.pg_backend_pid())


def _with_kept(
    database_url: str, work: Callable[[KeptConnections, AsyncEngine], Awaitable[T]], keep: int = 3
) -> T | None:
    """``work`` run with kept connections of a fresh engine; None on SQLite, which has none."""

    async def go() -> T | None:
        settings = Settings(database_url=database_url, db_pool_size=keep)
        engine = create_engine(settings)
        kept = create_kept_connections(engine, settings)
        try:
            if kept is None:
                return None
            try:
                return await work(kept, engine)
            finally:
                await kept.close()
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _checked_out(engine: AsyncEngine) -> int:
    return engine.pool.checkedout()  # type: ignore[attr-defined,no-any-return]


async def _pid(connection: AsyncConnection) -> int:
    return int((await driver.fetch(connection, PID, {}))[0][0])


def test_sqlite_keeps_no_connections(database_url: str, backend: str) -> None:
    kept = create_kept_connections(create_engine(Settings(database_url=database_url)), Settings())
    assert (kept is None) == (backend == "sqlite")


def test_a_read_given_back_cleanly_leaves_its_connection_for_the_next(database_url: str) -> None:
    async def work(kept: KeptConnections, engine: AsyncEngine) -> None:
        async with kept.connect() as first:
            first_pid = await _pid(first)
            # Autocommit: the statement left no transaction behind.
            assert not first.in_transaction()
        assert kept.idle == 1
        assert _checked_out(engine) == 1  # kept, not returned to the pool
        async with kept.connect() as second:
            assert second is first
            assert await _pid(second) == first_pid
            assert kept.idle == 0
        await kept.close()
        assert kept.idle == 0
        assert _checked_out(engine) == 0

    _with_kept(database_url, work)


def test_a_read_that_raised_gives_its_connection_back_to_the_pool(database_url: str) -> None:
    async def work(kept: KeptConnections, engine: AsyncEngine) -> None:
        async def refused() -> None:
            async with kept.connect() as connection:
                await _pid(connection)
                raise LookupError("refused")

        with pytest.raises(LookupError):
            await refused()
        assert kept.idle == 0
        assert _checked_out(engine) == 0

        # One of Kitdesk's own refusals, raised between statements: the connection is clean.
        async def not_found() -> None:
            async with kept.connect() as connection:
                await _pid(connection)
                raise NotFound(code="not_found", message="no such order")

        with pytest.raises(NotFound):
            await not_found()
        assert kept.idle == 1
        await kept.close()
        assert _checked_out(engine) == 0

        # A failed statement too.
        async def failing() -> None:
            async with kept.connect() as connection:
                await driver.fetch(connection, select(1 / func.abs(0)), {})

        with pytest.raises(DBAPIError):
            await failing()
        assert kept.idle == 0
        assert _checked_out(engine) == 0

    _with_kept(database_url, work)


def test_a_connection_left_in_a_transaction_or_invalidated_is_not_kept(database_url: str) -> None:
    async def work(kept: KeptConnections, engine: AsyncEngine) -> None:
        async with kept.connect() as connection:
            await connection.begin()
            await _pid(connection)
        assert kept.idle == 0
        assert _checked_out(engine) == 0
        async with kept.connect() as connection:
            await _pid(connection)
            await connection.invalidate()
        assert kept.idle == 0
        assert _checked_out(engine) == 0
        async with kept.connect() as connection:
            await _pid(connection)
        assert kept.idle == 1

    _with_kept(database_url, work)


def test_no_more_than_keep_connections_are_kept(database_url: str) -> None:
    async def work(kept: KeptConnections, engine: AsyncEngine) -> set[int]:
        pids: set[int] = set()
        entered = asyncio.Event()
        holding = 0

        async def read() -> None:
            nonlocal holding
            async with kept.connect() as connection:
                pids.add(await _pid(connection))
                holding += 1
                if holding == 5:
                    entered.set()
                await entered.wait()  # all five are out at once

        await asyncio.gather(*(read() for _ in range(5)))
        assert kept.idle == 3
        assert _checked_out(engine) == 3
        return pids

    pids = _with_kept(database_url, work, keep=3)
    assert pids is None or len(pids) == 5


def test_a_kept_connection_whose_server_end_died_fails_one_read_and_is_replaced(
    database_url: str,
) -> None:
    async def work(kept: KeptConnections, engine: AsyncEngine) -> None:
        async with kept.connect() as connection:
            dead = await _pid(connection)
        async with engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dead})

        async def on_the_dead_one() -> None:
            async with kept.connect() as connection:
                await _pid(connection)

        with pytest.raises(DBAPIError):
            await on_the_dead_one()
        assert kept.idle == 0
        async with kept.connect() as connection:
            assert await _pid(connection) != dead
        assert kept.idle == 1

    _with_kept(database_url, work)


def test_list_pages_reuse_one_kept_connection_even_after_a_refusal(
    api: Api, key: str, backend: str
) -> None:
    kept = api.client.app.state.kept_connections  # type: ignore[attr-defined]
    if backend == "sqlite":
        assert kept is None
        return
    engine = api.client.app.state.engine  # type: ignore[attr-defined]
    for _ in range(3):
        assert api.get("/api/v3/order?page=1&size=5", key=key).status_code == 200
        assert kept.idle == 1
    assert api.get("/api/v3/order/1", key=key).status_code == 404
    assert kept.idle == 1
    # A refused key is refused between statements: the connection stays clean and kept.
    assert api.get("/api/v3/order?page=1&size=5", key=BAD_KEY).status_code == 401
    assert kept.idle == 1
    assert engine.pool.checkedout() == 1
    assert api.get("/api/v3/order?page=1&size=5", key=key).status_code == 200
    assert kept.idle == 1


def test_the_apps_lifespan_closes_what_it_kept(database_url: str, backend: str) -> None:
    if backend == "sqlite":
        return
    app = create_app(Settings(database_url=database_url))
    with TestClient(app) as client:
        assert client.get("/api/v3/order", headers={"Impilo-API-Key": BAD_KEY}).status_code == 401
        kept = app.state.kept_connections
        assert kept.idle == 1
        # The kept connection's server process, looked for once the lifespan is over.

        async def keep_one() -> int:
            async with kept.connect() as connection:
                return await _pid(connection)

        assert client.portal is not None
        pid = client.portal.call(keep_one)
        assert kept.idle == 1

    async def still_there() -> int:
        # A closed connection's server process ends a moment after the client leaves.
        engine = create_engine(Settings(database_url=database_url))
        try:
            async with engine.connect() as connection:
                for _ in range(100):
                    found = await connection.scalar(
                        text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                        {"pid": pid},
                    )
                    if not found:
                        return 0
                    await asyncio.sleep(0.05)
                return int(found)
        finally:
            await engine.dispose()

    assert kept.idle == 0
    assert asyncio.run(still_there()) == 0
