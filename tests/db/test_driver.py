"""Statements sent by the driver itself (``kitdesk.db.driver``) behave as through SQLAlchemy.

On PostgreSQL they bypass SQLAlchemy's execution; on SQLite they go through it. Either way the
rows, the transaction, the errors and the engine's statement events must be the same.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import (
    Integer,
    bindparam,
    case,
    cast,
    delete,
    event,
    exc,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db import driver
from kitdesk.db.engine import create_engine, create_session_factory
from kitdesk.db.models import Account, AuditEntry, StockLevel
from kitdesk.settings import Settings
from tests.conftest import PG_URL_ENV, backends

T = TypeVar("T")

_INSERT_AUDIT = insert(AuditEntry.__table__)  # type: ignore[arg-type]
_READ_AUDIT = select(
    AuditEntry.id,
    AuditEntry.occurred_at,
    AuditEntry.changed_fields,
    AuditEntry.resource_ids,
    AuditEntry.action,
).order_by(AuditEntry.id)
_ACCOUNT_BY_NAME = select(Account.id, Account.kind).where(Account.name == bindparam("name"))
_EXPANDING = select(Account.id).where(Account.id.in_(bindparam("ids", expanding=True)))


def _audit_row(n: int, when: datetime, fields: list[str] | None) -> dict[str, Any]:
    return {
        "occurred_at": when,
        "channel": "system",
        "request_id": None,
        "account_id": None,
        "key_prefix": None,
        "action": f"test.{n}",
        "resource_type": "test",
        "resource_id": n,
        "resource_ids": None if n % 2 else ",1,2,",
        "changed_fields": fields,
        "outcome": "success",
        "reason": None,
    }


def _run(database_url: str, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = create_engine(Settings(database_url=database_url))
        try:
            async with create_session_factory(engine)() as session:
                return await fn(session)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_rows_written_and_read_by_the_driver_equal_sqlalchemys(database_url: str) -> None:
    # Bind processing (a non-UTC aware time stored as UTC, a JSON list) and result processing
    # (UTC-aware times) are those of the column types.
    when = datetime(2026, 3, 1, 12, 30, tzinfo=UTC) + timedelta(microseconds=123)
    eastern = when.astimezone(ZoneInfo("America/New_York"))

    async def work(session: AsyncSession) -> tuple[list[Any], list[Any]]:
        rows = [_audit_row(1, eastern, ["a", "b"]), _audit_row(2, when, None)]
        await driver.execute_many(session, _INSERT_AUDIT, rows)
        await session.execute(_INSERT_AUDIT, [_audit_row(3, when, ["c"])])
        by_driver = await driver.fetch(session, _READ_AUDIT, {})
        by_sqlalchemy = [tuple(r) for r in await session.execute(_READ_AUDIT)]
        return by_driver, by_sqlalchemy

    by_driver, by_sqlalchemy = _run(database_url, work)
    assert by_driver == by_sqlalchemy
    assert [r[1] for r in by_driver] == [when, when, when]
    assert all(r[1].tzinfo is not None and r[1].utcoffset() == timedelta(0) for r in by_driver)
    assert [r[2] for r in by_driver] == [["a", "b"], None, ["c"]]


def test_driver_statements_run_in_the_sessions_transaction(database_url: str) -> None:
    async def work(session: AsyncSession) -> tuple[int, int]:
        # The driver's statement is the transaction's first: it must begin it.
        await driver.execute_many(session, _INSERT_AUDIT, [_audit_row(1, datetime.now(UTC), None)])
        inside = (await driver.fetch(session, select(func.count(AuditEntry.id)), {}))[0][0]
        await session.rollback()
        after = await session.scalar(select(func.count(AuditEntry.id)))
        return inside, after or 0

    assert _run(database_url, work) == (1, 0)


def test_the_driver_follows_the_sessions_transactions(database_url: str) -> None:
    count = select(func.count(AuditEntry.id))

    async def work(session: AsyncSession) -> tuple[int, int]:
        now = datetime.now(UTC)
        await driver.execute_many(session, _INSERT_AUDIT, [_audit_row(1, now, None)])
        await session.commit()
        # The next statement begins the session's next transaction, which a rollback undoes.
        await driver.execute_many(session, _INSERT_AUDIT, [_audit_row(2, now, None)])
        inside = (await driver.fetch(session, count, {}))[0][0]
        await session.rollback()
        after = (await driver.fetch(session, count, {}))[0][0]
        return inside, after

    assert _run(database_url, work) == (2, 1)


def test_the_driver_refuses_a_transaction_a_failed_flush_ended(database_url: str) -> None:
    async def work(session: AsyncSession) -> None:
        now = datetime.now(UTC)
        await driver.execute_many(session, _INSERT_AUDIT, [_audit_row(1, now, None)])
        taken = await session.scalar(select(AuditEntry.id))
        session.add(AuditEntry(id=taken, **_audit_row(2, now, None)))
        with pytest.raises(exc.IntegrityError):
            await session.flush()
        # As the session itself would: no statement until the caller rolls back.
        with pytest.raises(exc.PendingRollbackError):
            await driver.fetch(session, _ACCOUNT_BY_NAME, {"name": "nobody"})
        await session.rollback()
        assert await driver.fetch(session, _ACCOUNT_BY_NAME, {"name": "nobody"}) == []

    _run(database_url, work)


def test_a_driver_error_is_the_sqlalchemy_error_and_the_session_recovers(
    database_url: str,
) -> None:
    async def work(session: AsyncSession) -> list[Any]:
        row = _audit_row(1, datetime.now(UTC), None)
        await driver.execute_many(session, _INSERT_AUDIT, [row])
        await session.commit()
        duplicate = {**row, "id": (await session.scalar(select(AuditEntry.id)))}
        statement = insert(AuditEntry.__table__)  # type: ignore[arg-type]
        with pytest.raises(exc.IntegrityError) as raised:
            await driver.execute_many(session, statement, [duplicate])
        # Values never appear in the error (they may be PHI).
        assert "test.1" not in str(raised.value)
        await session.rollback()
        return await driver.fetch(session, _ACCOUNT_BY_NAME, {"name": "nobody"})

    assert _run(database_url, work) == []


def test_the_engines_statement_events_see_driver_statements(database_url: str) -> None:
    seen: list[tuple[str, Any, bool]] = []

    async def work(session: AsyncSession) -> None:
        engine = session.bind

        def listen(
            conn: Any, cursor: Any, statement: str, params: Any, ctx: Any, many: bool
        ) -> None:
            seen.append((statement, params, many))

        event.listen(engine.sync_engine, "before_cursor_execute", listen)  # type: ignore[union-attr]
        await driver.fetch(session, _ACCOUNT_BY_NAME, {"name": "demo"})
        rows = [_audit_row(n, datetime.now(UTC), None) for n in (1, 2)]
        await driver.execute_many(session, _INSERT_AUDIT, rows)

    _run(database_url, work)
    seen = [(s, p, many) for s, p, many in seen if "accounts" in s or "audit_entries" in s]
    assert [("accounts" in s, many) for s, _, many in seen] == [(True, False), (False, True)]
    assert "demo" in str(seen[0][1])
    assert len(seen[1][1]) == 2


def test_an_echoing_engine_logs_driver_statements_without_their_values(
    backend: str, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # KITDESK_DB_ECHO sets the engine logger to INFO (kitdesk.logs); connections made then echo.
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    secret = "Zebediah-4471"

    async def work(session: AsyncSession) -> None:
        await driver.fetch(session, _ACCOUNT_BY_NAME, {"name": secret})
        rows = [_audit_row(n, datetime.now(UTC), None) | {"reason": secret} for n in (1, 2)]
        await driver.execute_many(session, _INSERT_AUDIT, rows)
        if backend == "postgresql":
            done = await driver.commit_with(
                session,
                [(_RENAME_AUDIT, {"old": "test.1", "new": secret})],
                declined=_refused,
            )
            assert done
        else:
            await session.commit()

    _run(database_url, work)
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("sqlalchemy.engine")]
    text_logged = "\n".join(logged)
    assert any("FROM accounts" in m for m in logged), logged
    assert any(m.startswith("INSERT INTO audit_entries") for m in logged), logged
    if backend == "postgresql":
        assert any(m.startswith("UPDATE audit_entries") for m in logged), logged
        assert "COMMIT" in logged
    assert secret not in text_logged


def test_expanding_parameters_are_refused_on_postgresql(backend: str, database_url: str) -> None:
    async def work(session: AsyncSession) -> list[Any]:
        return await driver.fetch(session, _EXPANDING, {"ids": [1, 2]})

    if backend == "postgresql":
        with pytest.raises(TypeError):
            _run(database_url, work)
    else:
        assert _run(database_url, work) == []


if "postgresql" in backends():  # a server connection to lose exists there only

    def test_a_lost_connection_is_invalidated_and_the_next_session_gets_a_new_one() -> None:
        ping = select(bindparam("x", type_=Integer))

        async def go() -> tuple[bool, list[Any]]:
            engine = create_engine(Settings(database_url=os.environ[PG_URL_ENV]))
            factory = create_session_factory(engine)
            try:
                async with factory() as session:
                    pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                    async with engine.connect() as other:
                        await other.execute(text(f"SELECT pg_terminate_backend({pid})"))
                    with pytest.raises(exc.DBAPIError) as raised:
                        await driver.fetch(session, ping, {"x": 1})
                    lost = raised.value.connection_invalidated
                async with factory() as session:
                    return lost, await driver.fetch(session, ping, {"x": 2})
            finally:
                await engine.dispose()

        assert asyncio.run(go()) == (True, [(2,)])


def test_values_carried_by_the_statement_and_python_defaults(
    backend: str, database_url: str
) -> None:
    # A literal the statement binds itself (here case(..., else_=...)) needs no parameter; a
    # column whose value SQLAlchemy would compute at execution (onupdate=utcnow) is refused on
    # PostgreSQL rather than silently left out.
    carried = select(case((bindparam("x", type_=Integer) > 1, "big"), else_="small"))
    defaulted = update(StockLevel.__table__).values(reserved=bindparam("r"))  # type: ignore[arg-type]

    async def work(session: AsyncSession) -> list[Any]:
        rows = await driver.fetch(session, carried, {"x": 1})
        rows += await driver.fetch(session, carried, {"x": 2})
        if backend == "postgresql":
            with pytest.raises(TypeError):
                await driver.execute_many(session, defaulted, [{"r": 1}])
        return rows

    assert _run(database_url, work) == [("small",), ("big",)]


_COUNT_AUDIT = select(func.count(AuditEntry.id))
_RENAME_AUDIT = (
    update(AuditEntry.__table__)  # type: ignore[arg-type]
    .where(AuditEntry.action == bindparam("old"))
    .values(action=bindparam("new"))
)
_FAILING = select(cast(literal("refused by the test") + bindparam("why"), Integer))


def _postgresql_or_refused(backend: str, database_url: str) -> bool:
    """True on PostgreSQL. On SQLite (where placement never uses it) commit_with must refuse to
    run, which this checks instead."""
    if backend == "postgresql":
        return True

    async def refused(session: AsyncSession) -> None:
        with pytest.raises(TypeError):
            await driver.commit_with(session, [(_COUNT_AUDIT, {})], declined=_refused)

    _run(database_url, refused)
    return False


async def _committed_count(session: AsyncSession) -> int:
    engine = session.bind
    async with AsyncSession(engine) as other:  # type: ignore[arg-type]
        return int(await other.scalar(_COUNT_AUDIT) or 0)


def _refused(error: Exception) -> bool:
    return "refused by the test" in str(error)


def test_commit_with_runs_its_statements_and_commits_in_one_message(
    backend: str, database_url: str
) -> None:
    if not _postgresql_or_refused(backend, database_url):
        return
    seen: list[str] = []

    async def work(session: AsyncSession) -> tuple[bool, int, int, int, list[Any]]:
        def listen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            seen.append(statement.split()[0].upper())

        event.listen(session.bind.sync_engine, "before_cursor_execute", listen)  # type: ignore[union-attr]
        before = await _committed_count(session)
        await driver.execute_many(session, _INSERT_AUDIT, [_audit_row(1, datetime.now(UTC), None)])
        seen.clear()
        done = await driver.commit_with(
            session,
            [(_RENAME_AUDIT, {"old": "test.1", "new": "test.renamed"})],
            declined=_refused,
        )
        # Committed by the server before the session's own commit, which sends nothing.
        committed = await _committed_count(session) - before
        await session.commit()
        # The connection's next transaction is a transaction of its own, not a savepoint
        # left nested in the committed one: its rollback undoes it and nothing else.
        await driver.execute_many(session, _INSERT_AUDIT, [_audit_row(2, datetime.now(UTC), None)])
        inside = (await driver.fetch(session, _COUNT_AUDIT, {}))[0][0] - before
        await session.rollback()
        after = await _committed_count(session) - before
        actions = await driver.fetch(
            session, select(AuditEntry.action).where(AuditEntry.action.like("test.%")), {}
        )
        await session.execute(delete(AuditEntry.__table__).where(AuditEntry.action.like("test.%")))  # type: ignore[arg-type]
        await session.commit()
        return done, committed, inside, after, actions

    assert _run(database_url, work) == (True, 1, 2, 1, [("test.renamed",)])
    assert seen[:3] == ["SAVEPOINT", "UPDATE", "RELEASE"]


def test_commit_with_a_declined_failure_leaves_the_transaction_as_it_was(
    backend: str, database_url: str
) -> None:
    if not _postgresql_or_refused(backend, database_url):
        return

    async def work(session: AsyncSession) -> tuple[bool, int, int]:
        before = await _committed_count(session)
        await driver.execute_many(session, _INSERT_AUDIT, [_audit_row(1, datetime.now(UTC), None)])
        done = await driver.commit_with(
            session,
            [(_FAILING, {"why": "x"}), (_RENAME_AUDIT, {"old": "test.1", "new": "test.no"})],
            declined=_refused,
        )
        # Nothing committed, the insert still in the open transaction, which goes on.
        still = (await driver.fetch(session, _COUNT_AUDIT, {}))[0][0] - before
        assert await _committed_count(session) == before
        await session.commit()
        after = await _committed_count(session) - before
        await session.execute(delete(AuditEntry.__table__).where(AuditEntry.action.like("test.%")))  # type: ignore[arg-type]
        await session.commit()
        return done, still, after

    assert _run(database_url, work) == (False, 1, 1)


def test_commit_with_any_other_failure_is_raised_and_nothing_is_committed(
    backend: str, database_url: str
) -> None:
    if not _postgresql_or_refused(backend, database_url):
        return

    async def work(session: AsyncSession) -> int:
        before = await _committed_count(session)
        await driver.execute_many(session, _INSERT_AUDIT, [_audit_row(1, datetime.now(UTC), None)])
        with pytest.raises(exc.DBAPIError):
            await driver.commit_with(
                session, [(_FAILING, {"why": "y"})], declined=lambda error: False
            )
        await session.rollback()
        return await _committed_count(session) - before

    assert _run(database_url, work) == 0


def test_statements_sent_as_literals_write_only_what_they_can_write_exactly() -> None:
    assert [driver._literal(v) for v in (1, None, True, "it's")] == ["1", "NULL", "TRUE", "'it''s'"]
    when = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert driver._literal(when) == "'2026-01-02T03:04:05.000006+00:00'"
    # A backslash goes in an escape string, which reads the same whatever the server's
    # standard_conforming_strings; lists become arrays, an empty one takes its parameter's type.
    assert driver._literal("a\\b'c") == "E'a\\\\b''c'"
    assert driver._literal([1, None, "x"]) == "ARRAY[1, NULL, 'x']"
    assert driver._literal([]) == "'{}'"
    for value in (1.5, b"x", "nul\x00", ["nul\x00"], [[1]], datetime(2026, 1, 1)):
        with pytest.raises(driver.NoLiteral):
            driver._literal(value)


def test_commit_with_prepares_each_statement_once_per_connection(
    backend: str, database_url: str
) -> None:
    if not _postgresql_or_refused(backend, database_url):
        return

    async def work(session: AsyncSession) -> list[int]:
        counts = []
        for n in range(3):
            await driver.execute_many(
                session, _INSERT_AUDIT, [_audit_row(n, datetime.now(UTC), None)]
            )
            renamed = {"old": f"test.{n}", "new": f"test.done.{n}"}
            assert await driver.commit_with(session, [(_RENAME_AUDIT, renamed)], declined=_refused)
            await session.commit()
            prepared = text(
                "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'kitdesk%'"
            )
            counts.append(int((await session.execute(prepared)).scalar_one()))
            await session.commit()
        return counts

    # The engine's pool hands the session the same connection each time here.
    assert _run(database_url, work) == [1, 1, 1]


def _autocommit(database_url: str, fn: Callable[[Any], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = create_engine(Settings(database_url=database_url))
        try:
            async with engine.connect() as connection:
                return await fn(await connection.execution_options(isolation_level="AUTOCOMMIT"))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _server_in_transaction(connection: Any) -> bool:
    # What PostgreSQL last reported: whether a transaction block is open on the connection.
    return bool(
        connection.sync_connection.connection.dbapi_connection._connection.is_in_transaction()
    )


async def _count(connection: Any) -> int:
    return int((await driver.fetch(connection, _COUNT_AUDIT, {}))[0][0])


async def _test_actions(connection: Any) -> list[Any]:
    found = select(AuditEntry.action).where(AuditEntry.action.like("test.%"))
    return await driver.fetch(connection, found.order_by(AuditEntry.action), {})


async def _forget_test_rows(connection: Any) -> None:
    await connection.execute(
        delete(AuditEntry.__table__).where(AuditEntry.action.like("test.%"))  # type: ignore[arg-type]
    )


def test_statements_in_one_message_commit_together_as_one_transaction(
    backend: str, database_url: str
) -> None:
    if backend != "postgresql":
        return
    seen: list[tuple[str, Any]] = []
    odd = 'test.it\'s \\ a back\\slash, "quoted", ünïcødé, {brace}, new\nline'

    async def work(connection: Any) -> tuple[Any, int, list[Any], bool]:
        def listen(
            conn: Any, cursor: Any, statement: str, params: Any, context: Any, *_: Any
        ) -> None:
            seen.append((statement.split()[0].upper(), context))

        before = await _count(connection)
        event.listen(connection.sync_engine, "before_cursor_execute", listen)
        row = {**_audit_row(1, datetime.now(UTC), ["a'b", "c\\d"]), "action": "test.1"}
        refused = await driver.run_in_one_message(
            connection,
            [(_INSERT_AUDIT, row), (_RENAME_AUDIT, {"old": "test.1", "new": odd})],
            declined=_refused,
        )
        event.remove(connection.sync_engine, "before_cursor_execute", listen)
        added = await _count(connection) - before
        actions = await _test_actions(connection)
        fields = await driver.fetch(
            connection, select(AuditEntry.changed_fields).where(AuditEntry.action == odd), {}
        )
        await _forget_test_rows(connection)
        return refused, added, [*actions, *fields], _server_in_transaction(connection)

    refused, added, found, inside = _autocommit(database_url, work)
    # Committed by the server as one: the insert, then the rename of what it inserted; the
    # values read back exactly; no transaction left open.
    assert (refused, added, inside) == (None, 1, False)
    assert found == [(odd,), (["a'b", "c\\d"],)]
    assert seen == [
        ("INSERT", driver.OneMessage(0, 2)),
        ("UPDATE", driver.OneMessage(1, 2)),
    ]


def test_a_failure_in_one_message_leaves_nothing_of_it(backend: str, database_url: str) -> None:
    if backend != "postgresql":
        return

    async def work(connection: Any) -> tuple[str, int, bool]:
        before = await _count(connection)
        insert_one = (_INSERT_AUDIT, _audit_row(1, datetime.now(UTC), None))
        # A failure the caller expects: returned, the insert before it undone.
        refused = await driver.run_in_one_message(
            connection, [insert_one, (_FAILING, {"why": "x"})], declined=_refused
        )
        assert refused is not None
        # Any other failure: raised, the insert undone too.
        with pytest.raises(exc.DBAPIError):
            await driver.run_in_one_message(
                connection, [insert_one, (_FAILING, {"why": "y"})], declined=lambda e: False
            )
        # A value no literal carries: refused before anything is sent.
        bad = (_INSERT_AUDIT, {**_audit_row(2, datetime.now(UTC), None), "reason": "nul\x00"})
        with pytest.raises(driver.NoLiteral):
            await driver.run_in_one_message(connection, [insert_one, bad], declined=_refused)
        after = await _count(connection) - before
        # The connection goes on in autocommit, its next statement a transaction of its own.
        await driver.run_in_one_message(connection, [insert_one], declined=_refused)
        kept = await _count(connection) - before
        await _forget_test_rows(connection)
        assert kept == 1
        return str(refused), after, _server_in_transaction(connection)

    message, after, inside = _autocommit(database_url, work)
    assert "refused by the test" in message
    assert (after, inside) == (0, False)


def test_one_message_needs_a_connection_in_autocommit(backend: str, database_url: str) -> None:
    if backend != "postgresql":

        async def on_sqlite(connection: Any) -> None:
            with pytest.raises(TypeError):
                await driver.run_in_one_message(connection, [(_COUNT_AUDIT, {})], declined=_refused)

        _autocommit(database_url, on_sqlite)
        return

    async def in_a_transaction(session: AsyncSession) -> None:
        await driver.fetch(session, _COUNT_AUDIT, {})
        connection = await session.connection()
        with pytest.raises(TypeError):
            await driver.run_in_one_message(connection, [(_COUNT_AUDIT, {})], declined=_refused)

    _run(database_url, in_a_transaction)
