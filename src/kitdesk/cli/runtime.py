"""Service code run from the command line: one transaction, errors as one line and an exit code."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.context import command_context
from kitdesk.db.engine import create_engine, create_session_factory, session_scope
from kitdesk.errors import Conflict, DomainError, Invalid, InvalidState, NotFound
from kitdesk.settings import Settings

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

EXIT_CODES: dict[type[DomainError], int] = {
    Invalid: 2,
    NotFound: 3,
    Conflict: 4,
    InvalidState: 4,
}
# Anything else that stops a command: the database is unreachable, not migrated, refuses a value.
EXIT_FAILURE = 1


def fail(message: str, code: int) -> NoReturn:
    """Print ``error: message`` as one line on stderr and exit with ``code``."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)


def _domain_message(exc: DomainError) -> str:
    details = "; ".join(e.message for e in exc.errors if e.message != exc.message)
    return f"{exc.message} ({details})" if details else exc.message


def _database_message(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return "database error: " + (lines[0] if lines else type(cause).__name__)


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``main`` on a new event loop, turning every expected failure into a one-line error.

    The work runs in a command context: its audit entries are marked ``cli`` with this run's id.
    """
    try:
        with command_context():
            return asyncio.run(main())
    except DomainError as exc:
        code = next((c for cls, c in EXIT_CODES.items() if isinstance(exc, cls)), EXIT_FAILURE)
        fail(_domain_message(exc), code)
    except (SQLAlchemyError, OSError) as exc:
        fail(_database_message(exc), EXIT_FAILURE)


def run_in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction against the configured database."""

    async def main() -> T:
        engine = create_engine(Settings())
        try:
            async with session_scope(create_session_factory(engine)) as session:
                return await work(session)
        finally:
            await engine.dispose()

    return run(main)


def parse(model: type[M], data: dict[str, Any], *, names: dict[str, str] | None = None) -> M:
    """Validate command-line input with ``model``; a bad value is a one-line error (exit 2).

    ``names`` maps the model's field names (camelCase) to the options the user typed.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            where = (names or {}).get(field, field)
            problems.append(f"{where}: {err['msg']}" if where else err["msg"])
        fail("invalid input: " + "; ".join(problems), 2)
