"""Engine and session factory.

Kitdesk talks to its database through SQLAlchemy's asyncio layer: asyncpg on PostgreSQL,
aiosqlite on SQLite. One request or command is one transaction (see ``session_scope``).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from kitdesk.errors import DomainError
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


# Nineteen digits in a row: perhaps an integer beyond 64 bits (-9223372036854775809 is one),
# which orjson would read as a float.
_LONG_NUMBER = re.compile("[0-9]{19}")


def json_loads(text: str) -> Any:
    """A JSON value read from PostgreSQL (``json`` and ``jsonb`` columns, ``json_agg``).

    orjson parses it in a fraction of the time ``json.loads`` takes. Where the two could differ,
    ``json.loads`` reads it, so every value comes back exactly as the standard library reads
    it: a text with nineteen digits in a row (orjson reads an integer beyond 64 bits as a float;
    the digits may as well be inside a string, which costs only the faster parse), and any text
    orjson refuses (a lone surrogate escape, an exponent out of a float's range).
    """
    if _LONG_NUMBER.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


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
        json_deserializer=json_loads,
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


class KeptConnections:
    """Connections in autocommit, kept checked out from one request to the next.

    The busiest requests on PostgreSQL run on these: an order fetch and a list page (reads
    whose one write is their audit entry) and placing an order (a read, then one statement
    that writes the order and reserves its stock), every statement a transaction of its own.

    Taking a connection from SQLAlchemy's pool and giving it back (the checkout and checkin
    events, the isolation level set to autocommit and back, the reset on return, each step
    crossing into a greenlet) cost the API process about as much CPU as an order fetch's one
    statement. A request in autocommit leaves nothing on its connection that the next could
    see: no transaction, no session state. So a connection given back cleanly is kept here, up
    to ``keep`` of them, and handed to the next request as it is. Given back cleanly means: the
    block ended normally or with one of Kitdesk's own refusals (``DomainError``: a refused
    key, an unknown order, a broken rule), which are raised between statements, never during
    one; the connection is neither closed nor invalidated, and no transaction is open on it.
    Anything else (a failed statement, a cancelled request) closes the connection instead, back
    to the pool, which resets it as usual.

    Kept connections count against the pool's size: with ``keep`` at the pool's size, the
    pool's overflow is what serves the rest. What is kept belongs to one process and one event
    loop; ``close`` gives everything back (the app's lifespan calls it before disposing of the
    engine).
    """

    def __init__(self, engine: AsyncEngine, keep: int) -> None:
        self.engine = engine
        self.keep = keep
        self._idle: list[AsyncConnection] = []

    def connect(self) -> _KeptConnection:
        """``async with kept.connect() as connection``: a connection in autocommit."""
        return _KeptConnection(self)

    @property
    def idle(self) -> int:
        """How many connections are kept now."""
        return len(self._idle)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()


class _KeptConnection:
    __slots__ = ("_connection", "_kept")

    def __init__(self, kept: KeptConnections) -> None:
        self._kept = kept
        self._connection: AsyncConnection | None = None

    async def __aenter__(self) -> AsyncConnection:
        idle = self._kept._idle
        connection = idle.pop() if idle else await self._kept.engine.connect()
        self._connection = connection
        return connection

    async def __aexit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        connection = self._connection
        assert connection is not None
        self._connection = None
        kept = self._kept
        if (
            (kind is None or issubclass(kind, DomainError))
            and len(kept._idle) < kept.keep
            and not connection.closed
            and not connection.invalidated
            and not connection.in_transaction()
        ):
            kept._idle.append(connection)
            return
        await connection.close()


def create_kept_connections(engine: AsyncEngine, settings: Settings) -> KeptConnections | None:
    """The kept autocommit connections of ``engine`` on PostgreSQL; None on SQLite."""
    read_engine = create_read_engine(engine)
    if read_engine is None:
        return None
    return KeptConnections(read_engine, keep=settings.db_pool_size)


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
