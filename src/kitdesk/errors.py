"""Domain errors with stable codes.

Services raise these; only the adapters (``api/problems.py`` and the CLI) decide how they look to a
user. Nothing here knows about HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    """One bad input field, named by its JSON path (``orderItems[0].count``)."""

    field: str
    message: str


@dataclass
class DomainError(Exception):
    """Base class: a stable machine-readable ``code`` and a human ``message``."""

    code: str
    message: str
    errors: list[FieldError] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class Invalid(DomainError):
    """The input breaks a rule: shape, reference or business rule (HTTP 400)."""


class NotFound(DomainError):
    """The resource does not exist for this caller, or belongs to someone else (HTTP 404)."""


class Conflict(DomainError):
    """The change collides with existing data (duplicate, HTTP 409)."""


class InvalidState(DomainError):
    """The resource is not in a state that allows this move (HTTP 409)."""


class Unauthorized(DomainError):
    """Missing, unknown, expired or deactivated credentials (HTTP 401)."""


class Forbidden(DomainError):
    """Valid credentials without the right to this operation (HTTP 403)."""


def not_found(kind: str, ident: object) -> NotFound:
    """The standard 404 for one resource kind."""
    return NotFound(code="not_found", message=f"{kind} {ident} not found")


def invalid_fields(
    message: str, errors: list[FieldError], code: str = "invalid_request"
) -> Invalid:
    """A 400 naming every bad field."""
    return Invalid(code=code, message=message, errors=errors)
