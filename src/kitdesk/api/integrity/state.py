"""What the integrity middleware hands to the request's dependencies (see ``api/deps.py``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.types import Scope

from kitdesk.domain.accounts.service import Caller

CALLER = "kitdesk_caller"
SESSION = "kitdesk_idempotent_session"


def known_caller(request: Request) -> Caller | None:
    """The caller the middleware already authenticated for this request, if any."""
    caller = request.scope.get("state", {}).get(CALLER)
    return caller if isinstance(caller, Caller) else None


def shared_session(request: Request) -> AsyncSession | None:
    """The session of an idempotent request: the middleware commits it with the stored response."""
    session = request.scope.get("state", {}).get(SESSION)
    return session if isinstance(session, AsyncSession) else None


def remember(scope: Scope, name: str, value: object) -> None:
    """Put ``value`` in the request's state under ``name``."""
    scope.setdefault("state", {})[name] = value


def forget(scope: Scope, name: str) -> None:
    """Remove ``name`` from the request's state."""
    scope.setdefault("state", {}).pop(name, None)
