"""Recording audit entries.

Services call ``record`` as they act; the entries wait on the session and are written by one
INSERT when the transaction commits (a ``before_commit`` hook on every session), so they commit
or roll back with the change they describe, and a request costs one statement however many
entries it makes. If that INSERT fails, the commit fails: nothing is written and the caller sees
the error. Who acted comes from ``kitdesk.context`` (the request or command); an entry made
outside any request or command is marked ``system``.

Entries name records by id and fields by name. They never hold a field's value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

from sqlalchemy import Insert, Table, event, insert, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from kitdesk import context
from kitdesk.db import driver
from kitdesk.db.base import utcnow
from kitdesk.db.models import AuditEntry

PENDING = "kitdesk.audit.pending"
# Built once: the commit of every audited request runs it.
_INSERT = insert(cast(Table, AuditEntry.__table__))


def record(
    session: AsyncSession,
    *,
    action: str,
    resource_type: str,
    resource_id: int | None = None,
    resource_ids: Iterable[int] | None = None,
    changed: Iterable[str] | None = None,
) -> None:
    """Note one audited operation; it is written when the session commits.

    ``resource_ids`` is for lists (the ids returned). ``changed`` names the fields an update
    changed. One transaction makes one entry per record: a change answered with the changed
    record is not also a read, and a second change of the same record (an operator's move that
    cancels) adds its field names to the first change's entry.
    """
    pending = _pending(session)
    same = next(
        (
            row
            for row in pending
            if resource_id is not None
            and row["resource_id"] == resource_id
            and row["resource_type"] == resource_type
        ),
        None,
    )
    if same is None:
        pending.append(
            _row(
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                resource_ids=resource_ids,
                changed=changed,
            )
        )
    elif not _is_read(action):
        if _is_read(same["action"]):
            same["action"] = action
        if changed is not None:
            same["changed_fields"] = sorted(set(same["changed_fields"] or ()) | set(changed))


def entry(
    *,
    action: str,
    resource_type: str,
    resource_id: int | None = None,
    resource_ids: Iterable[int] | None = None,
) -> dict[str, Any]:
    """An audit entry's row, for a caller that writes it itself in its own statement (a new
    order's entry goes in with the order, the order's new id as its ``resource_id``)."""
    return _row(
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        resource_ids=resource_ids,
    )


def write_entry_statement() -> Insert:
    """The INSERT ``write_pending`` uses, for callers writing an ``entry`` row themselves."""
    return _INSERT


def _is_read(action: str) -> bool:
    return action.endswith(".read")


def record_denied(
    session: AsyncSession,
    *,
    action: str,
    resource_type: str,
    resource_id: int | None,
    reason: str,
) -> None:
    """Note a refused attempt (bad key, wrong kind of key, unknown or foreign record).

    Its own transaction writes it, since the refused request's rolls back. The current context
    names the caller as far as it is known (a rejected key's owner, if the key was recognised).
    """
    row = _row(action=action, resource_type=resource_type, resource_id=resource_id)
    row["outcome"] = "denied"
    row["reason"] = reason
    _pending(session).append(row)


def _pending(session: AsyncSession) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = session.info.setdefault(PENDING, [])
    return rows


def _row(
    *,
    action: str,
    resource_type: str,
    resource_id: int | None,
    resource_ids: Iterable[int] | None = None,
    changed: Iterable[str] | None = None,
) -> dict[str, Any]:
    work = context.current()
    ids = None if resource_ids is None else "," + "".join(f"{i}," for i in resource_ids)
    return {
        "occurred_at": utcnow(),
        "channel": work.channel if work else "system",
        "request_id": work.request_id if work else None,
        "account_id": work.account_id if work else None,
        "key_prefix": work.key_prefix if work else None,
        "action": action,
        "resource_type": resource_type,
        "resource_id": resource_id,
        "resource_ids": ids,
        "changed_fields": None if changed is None else sorted(set(changed)),
        "outcome": "success",
        "reason": None,
    }


async def write_pending(session: AsyncSession) -> None:
    """Write the entries recorded so far in the session's transaction (an API request does this
    just before its commit; the commit hook below writes whatever is left)."""
    rows = session.info.pop(PENDING, None)
    if rows:
        await driver.execute_many(session, _INSERT, rows)


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    # Savepoint releases fire this hook too; only the real commit writes.
    if session.in_nested_transaction():
        return
    rows = session.info.pop(PENDING, None)
    if rows:
        session.connection().execute(_INSERT, rows)


def changed_fields(obj: object, names: Mapping[str, str]) -> list[str]:
    """The API names of ``obj``'s attributes whose value changed since it was loaded.

    ``names`` maps attribute names to API field names. Call it before the change is flushed:
    setting a field to the value it already had is not a change.
    """
    state = inspect(obj)
    return sorted({name for attr, name in names.items() if state.attrs[attr].history.has_changes()})
