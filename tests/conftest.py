"""Test harness: every database test runs on SQLite, and on PostgreSQL when
``KITDESK_TEST_DATABASE_URL`` is set.

Each backend is migrated once per session (by Alembic, never ``create_all``); each test then
starts from empty tables.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, make_url, text
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.api.app import create_app
from kitdesk.db.base import Base
from kitdesk.db.engine import create_engine, create_session_factory, session_scope
from kitdesk.db.migrate import upgrade
from kitdesk.domain import demo
from kitdesk.settings import Settings

T = TypeVar("T")
PG_URL_ENV = "KITDESK_TEST_DATABASE_URL"
# Demo stock per serialized item in tests: four of the guide's orders take 120.
TEST_DEVICES_PER_ITEM = 200


def backends() -> list[str]:
    """The databases this run tests against."""
    return ["sqlite", "postgresql"] if os.environ.get(PG_URL_ENV) else ["sqlite"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", backends(), scope="session")


async def _reset_postgres(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _migrate(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


TEST_KEYS = demo.DemoKeys(
    customer="kd_test0demo0customer0key000000000000000000001",
    other_customer="kd_test0other0customer0key00000000000000000002",
    operator="kd_test0operator0key0000000000000000000000003",
)


async def _load_demo(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        async with session_scope(create_session_factory(engine)) as session:
            await demo.load(
                session,
                devices_per_item=TEST_DEVICES_PER_ITEM,
                customer_key=TEST_KEYS.customer,
                other_customer_key=TEST_KEYS.other_customer,
                operator_key=TEST_KEYS.operator,
            )
    finally:
        await engine.dispose()


# Copies of the demo data's tables, kept in the test database beside Kitdesk's own schema.
SNAPSHOT_SCHEMA = "kitdesk_test_snapshot"


@dataclass(frozen=True)
class Templates:
    """Per backend: how to get an empty or a demo-loaded database quickly for each test.

    SQLite: two migrated files to copy. PostgreSQL: one database, reset by deleting every row
    (far faster than TRUNCATE on small tables) and, for demo tests, copying the demo rows back
    from a snapshot schema, all in one message that PostgreSQL runs as one transaction.
    """

    backend: str
    empty: str
    demo: str
    snapshot: tuple[str, ...] = ()  # PostgreSQL: the tables the demo data fills
    # PostgreSQL, as a superuser: the reset skips foreign-key triggers (the snapshot is whole),
    # which makes it about three times faster.
    replica: bool = False
    # SQLite: the folder of the ``api`` fixture's database file, the same path for every test so
    # that the fixture's app can be reused (PostgreSQL reuses its one database anyway).
    api_folder: Path | None = None


def _dsn(url: str) -> str:
    """The database URL as asyncpg takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _take_snapshot(url: str) -> tuple[tuple[str, ...], bool]:
    """Copy the demo's tables into the snapshot schema; returns their names, and whether the
    test role may skip triggers (a superuser)."""
    connection = await asyncpg.connect(_dsn(url))
    try:
        superuser = bool(
            await connection.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        )
        filled = []
        for table in Base.metadata.sorted_tables:
            if await connection.fetchval(f"SELECT EXISTS (SELECT FROM {table.name})"):
                filled.append(table.name)
        await connection.execute(
            "; ".join(
                [
                    f"DROP SCHEMA IF EXISTS {SNAPSHOT_SCHEMA} CASCADE",
                    f"CREATE SCHEMA {SNAPSHOT_SCHEMA}",
                    *(f"CREATE TABLE {SNAPSHOT_SCHEMA}.{name} AS TABLE {name}" for name in filled),
                ]
            )
        )
        return tuple(filled), superuser
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def templates(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Templates:
    """Migrated databases per backend, built once per test session."""
    if backend == "postgresql":
        url = os.environ[PG_URL_ENV]
        asyncio.run(_reset_postgres(url))
        asyncio.run(_load_demo(url))
        snapshot, replica = asyncio.run(_take_snapshot(url))
        return Templates(backend=backend, empty=url, demo=url, snapshot=snapshot, replica=replica)
    folder = tmp_path_factory.mktemp("template")
    empty, loaded = folder / "empty.db", folder / "demo.db"
    asyncio.run(_migrate(f"sqlite:///{empty}"))
    shutil.copyfile(empty, loaded)
    asyncio.run(_load_demo(f"sqlite:///{loaded}"))
    api_folder = tmp_path_factory.mktemp("api")
    return Templates(backend=backend, empty=str(empty), demo=str(loaded), api_folder=api_folder)


# Every table whose key is a plain ``id`` has its sequence set past its highest id after a reset.
_SERIAL_TABLES = [
    t.name for t in Base.metadata.sorted_tables if list(t.primary_key.columns.keys()) == ["id"]
]
_SET_SEQUENCES = "SELECT " + ", ".join(
    f"setval(pg_get_serial_sequence('{name}', 'id'), "
    f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
    for name in _SERIAL_TABLES
)


async def _restore_postgres(url: str, tables: tuple[str, ...], *, replica: bool) -> None:
    """Empty every table, then copy ``tables`` back from the snapshot: one message, one
    transaction (the simple query protocol runs the batch in one round trip)."""
    statements = ["SET LOCAL session_replication_role = replica"] if replica else []
    statements += [f"DELETE FROM {t.name}" for t in reversed(Base.metadata.sorted_tables)]
    statements += [f"INSERT INTO {name} SELECT * FROM {SNAPSHOT_SCHEMA}.{name}" for name in tables]
    statements.append(_SET_SEQUENCES)
    connection = await asyncpg.connect(_dsn(url))
    try:
        await connection.execute("; ".join(statements))
    finally:
        await connection.close()


def _fresh_database(templates: Templates, folder: Path | None, *, with_demo: bool) -> str:
    if templates.backend == "sqlite":
        assert folder is not None
        path = folder / "kitdesk.db"
        # A file used by an earlier test: its write-ahead log must not outlive it.
        for leftover in (
            path,
            path.with_name(f"{path.name}-wal"),
            path.with_name(f"{path.name}-shm"),
        ):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(templates.demo if with_demo else templates.empty, path)
        return f"sqlite:///{path}"
    tables = templates.snapshot if with_demo else ()
    asyncio.run(_restore_postgres(templates.empty, tables, replica=templates.replica))
    return templates.empty


@pytest.fixture
def database_url(templates: Templates, tmp_path: Path) -> str:
    """A migrated, empty database for one test."""
    return _fresh_database(templates, tmp_path, with_demo=False)


DEMO_FIXTURES = ("demo_keys", "key", "other_key")


@dataclass
class QueryCounter:
    """Counts SQL statements sent while it is active."""

    statements: list[str] = field(default_factory=list)
    active: bool = False

    @property
    def count(self) -> int:
        return len(self.statements)


@dataclass
class Api:
    """A test client with the app's session factory and a statement counter."""

    client: TestClient
    counter: QueryCounter

    def call(self, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``fn`` in one committed transaction on the app's event loop."""

        async def run() -> T:
            async with session_scope(self.client.app.state.session_factory) as session:  # type: ignore[attr-defined]
                return await fn(session)

        assert self.client.portal is not None
        return self.client.portal.call(run)

    def request(self, method: str, path: str, *, key: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}) or {})
        if key is not None:
            headers["Impilo-API-Key"] = key
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, *, key: str | None = None, **kw: Any) -> Any:
        return self.request("GET", path, key=key, **kw)

    def post(self, path: str, *, key: str | None = None, **kw: Any) -> Any:
        return self.request("POST", path, key=key, **kw)

    def put(self, path: str, *, key: str | None = None, **kw: Any) -> Any:
        return self.request("PUT", path, key=key, **kw)

    def patch(self, path: str, *, key: str | None = None, **kw: Any) -> Any:
        return self.request("PATCH", path, key=key, **kw)

    def delete(self, path: str, *, key: str | None = None, **kw: Any) -> Any:
        return self.request("DELETE", path, key=key, **kw)

    @contextmanager
    def count_queries(self) -> Iterator[QueryCounter]:
        """Count the statements sent inside the block."""
        # A fresh counter per block, so two counts taken in one test never alias each other.
        self.counter = QueryCounter(active=True)
        try:
            yield self.counter
        finally:
            self.counter.active = False


# The ``api`` fixture's apps, one per distinct settings (the database URL and whatever the
# environment sets), reused from test to test. FastAPI builds each route's dependency tree and
# response fields on an app's first requests, each app copies the OpenAPI document, and each
# engine compiles every statement once: most of a short test's CPU, paid once per app instead of
# once per test. Each test still runs the app's lifespan (its own connection pool and webhook
# worker) on a freshly reset database. An app whose settings, engine listeners or dependency
# overrides a test changed is not used again.
@dataclass
class _ReusedApp:
    app: FastAPI
    settings_key: str
    listeners: tuple[int, ...]  # how many listeners the engine had, per event, when built
    current: list[Api] = field(default_factory=list)  # the running test's Api


_APPS: dict[str, _ReusedApp] = {}
# What an app keeps in ``app.state`` from one test to the next: its settings, its engine and
# session factory, and what it derives from the OpenAPI document. Anything else (pending
# idempotency releases) belongs to one lifespan and is dropped when the test ends.
_LASTING_STATE = frozenset(
    {
        "settings",
        "engine",
        "session_factory",
        "kept_connections",
        "documented_paths",
        "literal_paths",
    }
)
_ENGINE_EVENTS = ("before_cursor_execute", "after_cursor_execute", "begin", "commit", "rollback")


def _listeners(app: FastAPI) -> tuple[int, ...]:
    dispatch = app.state.engine.sync_engine.dispatch
    return tuple(len(getattr(dispatch, name)) for name in _ENGINE_EVENTS)


def _reused_app(database_url: str) -> _ReusedApp:
    settings = Settings(database_url=database_url)
    key = settings.model_dump_json()
    reused = _APPS.get(key)
    if reused is None:
        app = create_app(settings)
        current: list[Api] = []

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            counter = current[0].counter if current else None
            if (
                counter is not None
                and counter.active
                and not statement.lstrip()
                .upper()
                .startswith(("SAVEPOINT", "RELEASE", "BEGIN", "PRAGMA"))
            ):
                counter.statements.append(statement)

        event.listen(app.state.engine.sync_engine, "before_cursor_execute", count)
        reused = _APPS[key] = _ReusedApp(app, key, _listeners(app), current)
    return reused


def _after_test(reused: _ReusedApp) -> None:
    reused.current.clear()
    app = reused.app
    for name in set(vars(app.state)["_state"]) - _LASTING_STATE:
        delattr(app.state, name)
    changed = app.state.settings.model_dump_json() != reused.settings_key
    if changed or _listeners(app) != reused.listeners or app.dependency_overrides:
        del _APPS[reused.settings_key]


@pytest.fixture
def api(request: pytest.FixtureRequest, templates: Templates) -> Iterator[Api]:
    """The Kitdesk app on a fresh database, driven in-process.

    The database holds the demo data when the test also asks for ``demo_keys``, ``key`` or
    ``other_key``, and is empty otherwise.
    """
    with_demo = any(name in request.fixturenames for name in DEMO_FIXTURES)
    database_url = _fresh_database(templates, templates.api_folder, with_demo=with_demo)
    reused = _reused_app(database_url)
    try:
        with TestClient(reused.app, raise_server_exceptions=False) as client:
            reused.current.append(Api(client=client, counter=QueryCounter()))
            yield reused.current[0]
    finally:
        _after_test(reused)


@pytest.fixture
def demo_keys(api: Api) -> demo.DemoKeys:
    """The keys of both demo customers and the operator (the api's database holds the demo)."""
    return TEST_KEYS


@pytest.fixture
def key(demo_keys: demo.DemoKeys) -> str:
    """The demo customer's key (site 1234, patient 1234, items and kits 1000-1005)."""
    return demo_keys.customer


@pytest.fixture
def other_key(demo_keys: demo.DemoKeys) -> str:
    """The second customer's key (site 5678, patient 5678)."""
    return demo_keys.other_customer


def assert_problem(
    response: Any, status: int, code: str, message: str | None = None
) -> dict[str, Any]:
    """Assert a whole problem+json error and return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"] == f"urn:kitdesk:problem:{code}"
    assert body["instance"]
    if message is not None:
        assert body["message"] == message
        assert body["detail"] == message
    return body


@pytest.fixture
def demo_database_url(templates: Templates, tmp_path: Path) -> str:
    """A migrated database holding the demo data (keys: ``TEST_KEYS``), for server processes."""
    return _fresh_database(templates, tmp_path, with_demo=True)
