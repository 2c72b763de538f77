"""Constant statements of the busiest requests, sent by asyncpg itself on PostgreSQL.

A statement run through SQLAlchemy costs the API process about three times the CPU that asyncpg
alone needs for it (measured on the API key lookup: about 230 µs through the session, 165 µs
through the connection, 65 µs through asyncpg): the compiled-cache lookup, the execution context,
the result objects and a greenlet switch, paid again for every statement. For a few constant Core
statements of the hottest requests (the API key lookup, the order view reads, a new order's
INSERTs) this module compiles each statement once for PostgreSQL and sends it with asyncpg on the
session's own connection, inside the session's transaction.

What SQLAlchemy would do around the driver is kept: the column types' bind and result processing
(the same processors), the transaction begun first when the connection has none yet, a driver error
raised as the SQLAlchemy exception the rest of Kitdesk handles, a lost connection invalidated so
that the pool replaces it, the engine's statement events, and the statement logged (its values
withheld) when the engine echoes. On any other database the statement simply goes through
SQLAlchemy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ARRAY, exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import ClauseElement, Insert
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any]
Row = Sequence[Any]


@dataclass(frozen=True)
class _Compiled:
    statement: ClauseElement  # kept alive: the cache is keyed by its id
    sql: str
    names: tuple[str, ...]  # parameter names, in $1, $2... order
    binds: tuple[Processor | None, ...]
    # The columns whose values need processing, (index, processor); often a few of dozens.
    results: tuple[tuple[int, Processor], ...]
    fixed: Mapping[str, Any]  # values the statement itself carries (``case(..., else_=0)``)

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values = []
        for name, process in zip(self.names, self.binds, strict=True):
            value = params[name] if name in params else self.fixed[name]
            values.append(value if process is None else process(value))
        return values

    def rows(self, records: Sequence[Any]) -> list[Row]:
        if not self.results:
            return cast(list[Row], records)
        rows: list[Row] = []
        for record in records:
            values = list(record)
            for i, process in self.results:
                values[i] = process(values[i])
            rows.append(tuple(values))
        return rows


_compiled: dict[tuple[int, tuple[str, ...]], _Compiled] = {}


def _compile(statement: ClauseElement, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
    # An INSERT without explicit values names the columns its parameters give, as SQLAlchemy
    # compiles it at execution; other statements compile the same whatever the parameters.
    keys = tuple(params) if isinstance(statement, Insert) else ()
    found = _compiled.get((id(statement), keys))
    if found is not None and found.statement is statement:
        return found
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=list(keys)))
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise TypeError("statements with expanding parameters go through SQLAlchemy")
    if compiled.insert_prefetch or compiled.update_prefetch:
        # A column default computed in Python at execution (``onupdate=utcnow``): the statement
        # must give that column's value itself.
        raise TypeError("statements relying on Python-side column defaults go through SQLAlchemy")
    names = tuple(compiled.positiontup or ())
    results = tuple(
        column[3]._cached_result_processor(dialect, None) for column in compiled._result_columns
    )
    made = _Compiled(
        statement=statement,
        sql=compiled.string,
        names=names,
        binds=tuple(_bind_processor(compiled, name, dialect) for name in names),
        results=tuple((i, p) for i, p in enumerate(results) if p is not None),
        fixed={
            name: compiled.binds[name].effective_value
            for name in names
            if not compiled.binds[name].required
        },
    )
    _compiled[(id(statement), keys)] = made
    return made


def _bind_processor(compiled: SQLCompiler, name: str, dialect: Dialect) -> Processor | None:
    bind_type = compiled.binds[name].type
    if isinstance(bind_type, ARRAY) and bind_type.dimensions in (None, 1):
        item = bind_type.item_type.dialect_impl(dialect).bind_processor(dialect)
        if item is None:
            # SQLAlchemy would only copy the list element by element; asyncpg takes it as is.
            return None
    return cast(Processor | None, compiled._bind_processors.get(name))


async def _driver(connection: AsyncConnection) -> Any:
    """The session's asyncpg connection, its transaction begun."""
    sync: Connection = connection.sync_connection  # type: ignore[assignment]
    adapted = sync.connection.dbapi_connection
    if adapted._transaction is None:  # type: ignore[union-attr]
        # BEGIN as SQLAlchemy's own first statement would send it.
        await adapted._start_transaction()  # type: ignore[union-attr]
    return adapted


async def _run(
    connection: AsyncConnection,
    compiled: _Compiled,
    arguments: Any,
    call: Callable[[Any], Any],
    *,
    many: bool = False,
) -> Any:
    adapted = await _driver(connection)
    sync = connection.sync_connection
    assert sync is not None
    # The engine's statement events fire as for any statement: whatever counts or records the
    # SQL an engine sends (tests, the benchmark's capture) sees these too. Only when somebody
    # listens: an engine with an isolation level of its own (the read engine) always "has
    # events" (it sets the level on every checkout), and calling two empty listener lists cost
    # a fetch more CPU than deciding not to.
    dispatch = sync.dispatch
    observed = (sync._has_events or sync.engine._has_events) and bool(
        dispatch.before_cursor_execute or dispatch.after_cursor_execute
    )
    if observed:
        dispatch.before_cursor_execute(sync, None, compiled.sql, arguments, None, many)
    if sync._echo:
        _echo(sync, compiled.sql)
    try:
        async with adapted._execute_mutex:
            # The adapter's cache of prepared statements, the one SQLAlchemy's own use fills.
            stale_before = sync.dialect._invalidate_schema_cache_asof  # type: ignore[attr-defined]
            prepared, _ = await adapted._prepare(compiled.sql, stale_before)
            result = await call(prepared)
    except Exception as error:  # a driver error, raised as SQLAlchemy would raise it
        _raise_translated(connection, adapted, compiled, error)
    if observed:
        dispatch.after_cursor_execute(sync, None, compiled.sql, arguments, None, many)
    return result


def _echo(sync: Connection, sql: str) -> None:
    # What SQLAlchemy logs for a statement when the engine echoes (``KITDESK_DB_ECHO``): the
    # statement, then its parameters withheld, as the engine's ``hide_parameters`` has them.
    sync._log_info(sql)
    sync._log_info("[kitdesk.db.driver] [SQL parameters hidden due to hide_parameters=True]")


def _raise_translated(
    connection: AsyncConnection, adapted: Any, compiled: _Compiled, error: Exception
) -> None:
    try:
        adapted._handle_exception(error)  # the DB-API error asyncpg's adapter maps it to
    except Exception as dbapi_error:
        dialect = connection.dialect
        lost = isinstance(dbapi_error, dialect.loaded_dbapi.Error) and dialect.is_disconnect(
            dbapi_error, adapted, None
        )
        if lost:
            connection.sync_connection.invalidate(dbapi_error)  # type: ignore[union-attr]
        raise exc.DBAPIError.instance(
            compiled.sql,
            None,
            dbapi_error,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            dialect=dialect,
            connection_invalidated=lost,
        ) from error
    raise error  # pragma: no cover - _handle_exception always raises


_CONNECTION = "kitdesk.driver.connection"


async def _connection(session: AsyncSession) -> AsyncConnection:
    """The session's connection, remembered for the rest of its current transaction.

    ``AsyncSession.connection()`` crosses into a greenlet on every call; a transaction keeps
    one connection from begin to end, so asking once per transaction is enough.
    """
    sync_session = session.sync_session
    remembered = sync_session.info.get(_CONNECTION)
    transaction = sync_session.get_transaction()
    if (
        remembered is not None
        and transaction is not None
        and remembered[0] is transaction
        and transaction.is_active
    ):
        connection: AsyncConnection = remembered[1]
        return connection
    connection = await session.connection()
    # The transaction object is held with it: while remembered it cannot be replaced by a new
    # one at the same address.
    sync_session.info[_CONNECTION] = (sync_session.get_transaction(), connection)
    return connection


# What the statements here run on: a session (inside its transaction), or a connection of its
# own (a read in autocommit, ``kitdesk.db.engine.KeptConnections``).
Executor = AsyncSession | AsyncConnection


async def _executor_connection(executor: Executor) -> AsyncConnection:
    if isinstance(executor, AsyncConnection):
        return executor
    return await _connection(executor)


def is_postgresql(session: AsyncSession) -> bool:
    """Whether the session's database is PostgreSQL (where statements here go by asyncpg)."""
    bind = session.bind
    if bind is None:
        raise TypeError("the driver needs a session bound to one engine")
    return bool(bind.dialect.name == "postgresql")


async def fetch(
    executor: Executor, statement: ClauseElement, params: Mapping[str, Any]
) -> list[Row]:
    """Every row ``statement`` returns for ``params``, as tuples in its column order."""
    connection = await _executor_connection(executor)
    if connection.dialect.name != "postgresql":
        return [tuple(r) for r in await connection.execute(statement, params)]  # type: ignore[call-overload]
    compiled = _compile(statement, connection.dialect, params)
    arguments = compiled.arguments(params)
    records = await _run(
        connection, compiled, tuple(arguments), lambda prepared: prepared.fetch(*arguments)
    )
    return compiled.rows(records)


async def execute_many(
    executor: Executor, statement: ClauseElement, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Run a statement that returns nothing once per parameter set, in one round trip."""
    if not rows:
        return
    connection = await _executor_connection(executor)
    if connection.dialect.name != "postgresql":
        await connection.execute(statement, list(rows))  # type: ignore[call-overload]
        return
    compiled = _compile(statement, connection.dialect, rows[0])
    if len(rows) == 1:  # a plain execution costs less than a one-row pipeline
        only = compiled.arguments(rows[0])
        await _run(connection, compiled, tuple(only), lambda prepared: prepared.fetch(*only))
        return
    arguments = [compiled.arguments(row) for row in rows]
    await _run(
        connection,
        compiled,
        [tuple(a) for a in arguments],
        lambda prepared: prepared.executemany(arguments),
        many=True,
    )


# The savepoint that ``commit_with`` takes before its first statement.
COMMIT_SAVEPOINT = "kitdesk_commit"


async def commit_with(
    session: AsyncSession,
    statements: Sequence[tuple[ClauseElement, Mapping[str, Any]]],
    *,
    declined: Callable[[Exception], bool],
) -> bool:
    """PostgreSQL: run ``statements`` and commit the session's transaction, in one round trip.

    The statements and the COMMIT travel in one message (PostgreSQL's simple query protocol), so
    no time on the client's side falls between them: row locks the first statement takes are
    held for the database's own work only, not for the worker's way back to its commit. Each
    statement is prepared on the connection once (``PREPARE``, kept for the connection's life)
    and run by ``EXECUTE`` with its values written as literals, so PostgreSQL keeps its plan as
    it does for asyncpg's own prepared statements (planning the reservation costs about three
    times as much as running it).

    A savepoint is taken before the first statement: when it fails with an error that
    ``declined`` recognises (a statement built to fail on a condition), the server has skipped
    the rest of the message, the transaction is rolled back to that savepoint, as it was before,
    and False is returned. Any other error is raised as SQLAlchemy raises it, the transaction
    then failed. On success the transaction is over; the session sends nothing more for it at
    its commit (which must follow, with nothing in between).
    """
    connection = await _connection(session)
    if connection.dialect.name != "postgresql":
        raise TypeError("commit_with needs PostgreSQL")
    adapted = await _driver(connection)
    sync = connection.sync_connection
    assert sync is not None
    compiled = [(_compile(s, connection.dialect, p), p) for s, p in statements]
    savepoint = f"SAVEPOINT {COMMIT_SAVEPOINT}"
    events: list[tuple[str, tuple[Any, ...]]] = [(savepoint, ())]
    parts = [savepoint]
    try:
        for n, (statement, params) in enumerate(compiled):
            arguments = tuple(statement.arguments(params))
            name = await _prepared_on(sync, adapted, statement)
            parts.append(f"EXECUTE {name}({', '.join(map(_literal, arguments))})")
            events.append((statement.sql, arguments))
            if n == 0:
                events.append((f"RELEASE SAVEPOINT {COMMIT_SAVEPOINT}", ()))
                parts.append(events[-1][0])
    except Exception as error:  # preparing failed
        _raise_translated(connection, adapted, compiled[0][0], error)
    observed = sync._has_events or sync.engine._has_events
    if observed:  # each statement as itself; the COMMIT is the session's commit event
        for sql, args in events:
            sync.dispatch.before_cursor_execute(sync, None, sql, args, None, False)
    if sync._echo:
        for sql, _ in events:
            _echo(sync, sql)
        sync._log_info("COMMIT")
    try:
        async with adapted._execute_mutex:
            await adapted._connection.execute(";\n".join([*parts, "COMMIT"]))
    except Exception as error:
        if not declined(error):
            _raise_translated(connection, adapted, compiled[0][0], error)
        undo = f"ROLLBACK TO SAVEPOINT {COMMIT_SAVEPOINT}"
        if observed:
            sync.dispatch.before_cursor_execute(sync, None, undo, (), None, False)
        if sync._echo:
            _echo(sync, undo)
        try:
            async with adapted._execute_mutex:
                await adapted._connection.execute(undo)
        except Exception as undo_error:
            _raise_translated(connection, adapted, compiled[0][0], undo_error)
        return False
    # The server committed: asyncpg's connection and SQLAlchemy's adapter forget the
    # transaction, so the session's commit sends nothing and the connection's next transaction
    # begins with BEGIN (asyncpg would otherwise nest it as a savepoint of this one).
    adapted._connection._top_xact = None
    adapted._transaction = None
    return True


_PREPARED = "kitdesk.driver.prepared"


async def _prepared_on(sync: Connection, adapted: Any, statement: _Compiled) -> str:
    """The name ``statement`` is prepared under on this connection, preparing it if needed.

    The names prepared are remembered in the DBAPI connection's ``info``, which lives exactly
    as long as the server session (SQLAlchemy clears it when it replaces the connection); a
    name missing there is looked up on the server first, so a second PREPARE (an error, which
    would end the transaction) is never sent.
    """
    name = "kitdesk_" + hashlib.sha256(statement.sql.encode()).hexdigest()[:24]
    known: set[str] = sync.connection.info.setdefault(_PREPARED, set())
    if name not in known:
        async with adapted._execute_mutex:
            if not await adapted._connection.fetchval(
                "SELECT count(*) FROM pg_prepared_statements WHERE name = $1", name
            ):
                await adapted._connection.execute(f"PREPARE {name} AS {statement.sql}")
        known.add(name)
    return name


class NoLiteral(TypeError):
    """A value ``_literal`` cannot write: the statement must go with parameters instead."""


def _literal(value: Any) -> str:
    """``value`` as an SQL literal for ``EXECUTE``, whose parameter types the prepared statement
    fixes: NULL, booleans, integers, aware datetimes, texts and one-dimensional lists of those.
    A text with a backslash is written as an escape string (``E'...'``), which reads the same
    whatever ``standard_conforming_strings`` says; a NUL character, which no PostgreSQL text
    holds, raises NoLiteral, as does any other type."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return f"'{value.isoformat()}'"
    if isinstance(value, str) and "\x00" not in value:
        quoted = value.replace("'", "''")
        if "\\" in value:
            return "E'" + quoted.replace("\\", "\\\\") + "'"
        return "'" + quoted + "'"
    if isinstance(value, list | tuple):
        if any(isinstance(item, list | tuple) for item in value):
            raise NoLiteral("no literal for a list of lists")
        # An empty array's element type is the parameter's: '{}' takes it.
        return f"ARRAY[{', '.join(map(_literal, value))}]" if value else "'{}'"
    raise NoLiteral(f"no literal for a value of type {type(value).__name__}")


@dataclass(frozen=True)
class OneMessage:
    """The ``context`` the statement events of ``run_in_one_message`` carry: this statement is
    ``position`` (from 0) of ``count`` sent together in one transaction (the benchmark's capture
    replays them so)."""

    position: int
    count: int


async def run_in_one_message(
    connection: AsyncConnection,
    statements: Sequence[tuple[ClauseElement, Mapping[str, Any]]],
    *,
    declined: Callable[[Exception], bool],
) -> Exception | None:
    """PostgreSQL: run ``statements`` in one transaction of their own, in one round trip, on a
    connection in autocommit (no transaction open).

    They travel in one message of PostgreSQL's simple query protocol, which the server runs as
    one implicit transaction: each statement completes (its foreign-key checks included) before
    the next begins, and they commit together or not at all, with no BEGIN or COMMIT sent. Each
    statement is prepared on the connection once and run by ``EXECUTE`` with its values written
    as literals, as ``commit_with`` does; their results are not read.

    Returns None when they committed. When one fails with an error that ``declined``
    recognises, nothing of the message remains and that error is returned; any other error is
    raised as SQLAlchemy raises it. Values that cannot be written as literals (``_literal``)
    raise NoLiteral before anything is sent.
    """
    if connection.dialect.name != "postgresql":
        raise TypeError("run_in_one_message needs PostgreSQL")
    sync = connection.sync_connection
    assert sync is not None
    adapted = sync.connection.dbapi_connection
    # In autocommit, and the server outside any transaction block.
    if not adapted.autocommit or adapted._connection.is_in_transaction():  # type: ignore[union-attr]
        raise TypeError("run_in_one_message needs a connection in autocommit")
    compiled = [(_compile(s, connection.dialect, p), p) for s, p in statements]
    arguments = [tuple(statement.arguments(params)) for statement, params in compiled]
    values = [", ".join(map(_literal, args)) for args in arguments]
    try:
        names = [await _prepared_on(sync, adapted, statement) for statement, _ in compiled]
    except Exception as error:  # preparing failed
        _raise_translated(connection, adapted, compiled[0][0], error)
    observed = sync._has_events or sync.engine._has_events
    count = len(compiled)
    if observed:
        for n, ((statement, _), args) in enumerate(zip(compiled, arguments, strict=True)):
            sync.dispatch.before_cursor_execute(
                sync, None, statement.sql, args, OneMessage(n, count), False
            )
    if sync._echo:
        for statement, _ in compiled:
            _echo(sync, statement.sql)
    message = ";\n".join(
        f"EXECUTE {name}({given})" if given else f"EXECUTE {name}"
        for name, given in zip(names, values, strict=True)
    )
    try:
        async with adapted._execute_mutex:  # type: ignore[union-attr]
            await adapted._connection.execute(message)  # type: ignore[union-attr]
    except Exception as error:
        if declined(error):
            return error
        _raise_translated(connection, adapted, compiled[0][0], error)
    if observed:
        for n, ((statement, _), args) in enumerate(zip(compiled, arguments, strict=True)):
            sync.dispatch.after_cursor_execute(
                sync, None, statement.sql, args, OneMessage(n, count), False
            )
    return None
