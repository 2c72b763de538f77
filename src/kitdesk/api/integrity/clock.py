"""The time the integrity middleware goes by; one function, so tests can move it."""

from __future__ import annotations

from datetime import datetime

from kitdesk.db.base import utcnow


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return utcnow()
