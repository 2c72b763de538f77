"""Running one service call from the command line: one transaction, errors as exit codes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.engine import create_engine, create_session_factory, session_scope
from kitdesk.errors import Conflict, DomainError, Invalid, InvalidState, NotFound
from kitdesk.settings import Settings

T = TypeVar("T")

EXIT_CODES: dict[type[DomainError], int] = {
    Invalid: 2,
    NotFound: 3,
    Conflict: 4,
    InvalidState: 4,
}


def run_in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction against the configured database."""

    async def main() -> T:
        engine = create_engine(Settings())
        try:
            async with session_scope(create_session_factory(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        for err in exc.errors:
            typer.echo(f"  {err.field}: {err.message}", err=True)
        code = next((c for cls, c in EXIT_CODES.items() if isinstance(exc, cls)), 1)
        raise typer.Exit(code) from None
