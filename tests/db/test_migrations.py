"""Migrations: upgrade from an empty database on every backend, and models match migrations."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from kitdesk.db.base import Base
from kitdesk.db.engine import create_engine
from kitdesk.db.migrate import alembic_config, upgrade
from kitdesk.settings import Settings
from tests.conftest import PG_URL_ENV


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    base = make_url(os.environ[PG_URL_ENV])
    name = f"{base.database}_migrations"

    async def admin_sql(sql: str) -> None:
        admin = create_engine(Settings(database_url=os.environ[PG_URL_ENV]))
        try:
            async with admin.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.exec_driver_sql(sql)
        finally:
            await admin.dispose()

    asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _tables_and_diff(url: str) -> tuple[set[str], list[Any]]:
    async def run() -> tuple[set[str], list[Any]]:
        engine = create_engine(Settings(database_url=url))
        try:
            await upgrade(engine)
            async with engine.connect() as conn:

                def inspect_it(sync_conn: Any) -> tuple[set[str], list[Any]]:
                    tables = set(inspect(sync_conn).get_table_names())
                    ctx = MigrationContext.configure(
                        sync_conn, opts={"compare_type": True, "target_metadata": Base.metadata}
                    )
                    return tables, compare_metadata(ctx, Base.metadata)

                return await conn.run_sync(inspect_it)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_upgrade_from_empty_creates_every_table(empty_database_url: str) -> None:
    tables, _ = _tables_and_diff(empty_database_url)
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_models_match_migrations(empty_database_url: str) -> None:
    _, diff = _tables_and_diff(empty_database_url)
    assert diff == []


def test_migrations_downgrade_to_empty_and_upgrade_again(empty_database_url: str) -> None:
    from alembic import command

    async def run() -> set[str]:
        engine = create_engine(Settings(database_url=empty_database_url))
        try:
            await upgrade(engine)
            async with engine.begin() as conn:

                def down(sync_conn: Any) -> None:
                    cfg = alembic_config()
                    cfg.attributes["connection"] = sync_conn
                    command.downgrade(cfg, "base")

                await conn.run_sync(down)
            async with engine.connect() as conn:
                left = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
            await upgrade(engine)
            return left
        finally:
            await engine.dispose()

    left = asyncio.run(run())
    assert left <= {"alembic_version"}
