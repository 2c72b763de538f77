"""Engine and session factory.

Kitdesk talks to its database through SQLAlchemy's asyncio layer: asyncpg on PostgreSQL,
aiosqlite on SQLite. One request or command is one transaction (see ``session_scope``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from kitdesk.settings import Settings, async_database_url


def is_sqlite(url: str) -> bool:
    """True for an SQLite URL, whatever driver it names."""
    return url.startswith("sqlite")


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers run beside the one writer;
    # busy_timeout makes a second writer wait instead of failing at once. synchronous=FULL syncs
    # the WAL at every commit, so an order acknowledged with a 201 survives a power loss, not
    # only a crash of the process (NORMAL would risk the last commits).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # Take SQLite's write lock when the transaction starts, so two writers queue up on
    # busy_timeout rather than deadlock on a read-to-write lock upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(settings: Settings) -> AsyncEngine:
    """Build the engine for ``settings.database_url``.

    Bound parameters (patients' data among them) never appear in logs or error messages
    (``hide_parameters``). SQL statements are logged through the ``sqlalchemy.engine`` logger
    when ``settings.db_echo`` is on (``kitdesk.logs`` sets its level), never through
    SQLAlchemy's own echo handler, which would print plain text beside the JSON lines.
    """
    url = async_database_url(settings.database_url)
    if is_sqlite(url):
        engine = create_async_engine(url, hide_parameters=True)
        sync_engine = engine.sync_engine
        event.listen(sync_engine, "connect", _sqlite_on_connect)

        @event.listens_for(sync_engine, "connect")
        def _no_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, emit BEGIN.
            dbapi_connection.isolation_level = None

        event.listen(sync_engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_async_engine(
        url,
        hide_parameters=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=False,
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def create_read_engine(engine: AsyncEngine) -> AsyncEngine | None:
    """On PostgreSQL, the engine (same pool) for a read whose only write is one statement (its
    audit entry); None on SQLite.

    Its connections are in autocommit: every statement is a transaction of its own, so no
    BEGIN and no COMMIT travel to the server (two of a fetch's seven round trips). Nothing is
    lost by it: under READ COMMITTED each statement of a transaction reads its own snapshot
    anyway, and the one write (the audit entry's INSERT) is atomic by itself. A write that must
    stay with others in one transaction has no place on it. SQLite keeps its transaction (its
    reads take the write lock at BEGIN, see ``create_engine``).
    """
    if is_sqlite(engine.url.render_as_string()):
        return None
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commit when the block succeeds, roll back on any error."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
