"""The embedded SQLite database syncs every commit to disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from kitdesk.db.engine import create_engine
from kitdesk.settings import Settings

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


def test_every_sqlite_connection_uses_wal_with_full_sync(tmp_path: Path) -> None:
    async def pragmas() -> tuple[str, int]:
        engine = create_engine(Settings(database_url=f"sqlite:///{tmp_path / 'k.db'}"))
        try:
            async with engine.connect() as conn:
                mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
                sync = (await conn.execute(text("PRAGMA synchronous"))).scalar_one()
                return mode, sync
        finally:
            await engine.dispose()

    assert asyncio.run(pragmas()) == ("wal", FULL)
