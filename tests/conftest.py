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

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.api.app import create_app
from kitdesk.db.base import Base
from kitdesk.db.engine import create_engine, session_scope
from kitdesk.db.migrate import upgrade
from kitdesk.domain import demo
from kitdesk.settings import Settings

T = TypeVar("T")
PG_URL_ENV = "KITDESK_TEST_DATABASE_URL"


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


@pytest.fixture(scope="session")
def migrated_template(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database per backend: an SQLite file to copy, or the PostgreSQL URL."""
    if backend == "postgresql":
        url = os.environ[PG_URL_ENV]
        asyncio.run(_reset_postgres(url))
        return url
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_migrate(f"sqlite:///{path}"))
    return str(path)


TABLES = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))


@pytest.fixture
def database_url(backend: str, migrated_template: str, tmp_path: Path) -> str:
    """A migrated, empty database for one test."""
    if backend == "sqlite":
        path = tmp_path / "kitdesk.db"
        shutil.copyfile(migrated_template, path)
        return f"sqlite:///{path}"

    async def truncate() -> None:
        engine = create_engine(Settings(database_url=migrated_template))
        try:
            async with engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
        finally:
            await engine.dispose()

    asyncio.run(truncate())
    return migrated_template


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
        self.counter.statements.clear()
        self.counter.active = True
        try:
            yield self.counter
        finally:
            self.counter.active = False


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    """The Kitdesk app on a fresh database, driven in-process."""
    app = create_app(Settings(database_url=database_url))
    counter = QueryCounter()
    with TestClient(app, raise_server_exceptions=False) as client:
        engine = app.state.engine

        def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if counter.active and not statement.lstrip().upper().startswith(
                ("SAVEPOINT", "RELEASE", "BEGIN", "PRAGMA")
            ):
                counter.statements.append(statement)

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        yield Api(client=client, counter=counter)


@pytest.fixture
def demo_keys(api: Api) -> demo.DemoKeys:
    """Load the demo data; returns the keys of both demo customers and the operator."""
    return api.call(lambda s: demo.load(s))


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
