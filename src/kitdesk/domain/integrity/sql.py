"""``INSERT ... ON CONFLICT`` for whichever database the session talks to."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

UpsertInsert = postgresql.Insert | sqlite.Insert


def upsert_insert(session: AsyncSession, table: Any) -> UpsertInsert:
    """An INSERT that can take ``on_conflict_do_nothing`` / ``on_conflict_do_update``.

    Both PostgreSQL and SQLite (3.24+) decide the conflict inside the database, against a unique
    constraint, so two server processes inserting the same row cannot both succeed.
    """
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def rows_affected(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed."""
    return int(cast(CursorResult[Any], result).rowcount)
