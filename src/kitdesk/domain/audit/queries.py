"""Reading the audit trail back (the operator's API and the ``kitdesk audit`` command)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import AuditEntry
from kitdesk.domain.audit.schemas import AuditEntryRead
from kitdesk.domain.common import Page, PageRequest, make_page


@dataclass(frozen=True)
class AuditFilters:
    """Filters of the trail; None means 'any'. Times include the start and exclude the end."""

    account_id: int | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None


def to_read(entry: AuditEntry) -> AuditEntryRead:
    """The API view of an entry: ``resourceIds`` lists every record it names."""
    listed = [int(i) for i in (entry.resource_ids or "").split(",") if i]
    return AuditEntryRead(
        id=entry.id,
        occurred_at=entry.occurred_at,
        channel=entry.channel,
        request_id=entry.request_id,
        account_id=entry.account_id,
        key_prefix=entry.key_prefix,
        action=entry.action,
        resource_type=entry.resource_type,
        resource_id=entry.resource_id,
        resource_ids=[entry.resource_id] if entry.resource_id is not None else listed,
        changed_fields=entry.changed_fields,
        outcome=entry.outcome,
        reason=entry.reason,
    )


async def list_entries(
    session: AsyncSession, *, filters: AuditFilters, page: PageRequest
) -> Page[AuditEntryRead]:
    """One page of the trail, oldest first (newest first with ``sort_descending``)."""
    query = _filtered(select(AuditEntry), filters)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = AuditEntry.id.desc() if page.sort_descending else AuditEntry.id.asc()
    rows = await session.scalars(query.order_by(order).offset(page.offset).limit(page.size))
    return make_page([to_read(e) for e in rows], request=page, total=total)


def _filtered(query: Select[AuditEntry], f: AuditFilters) -> Select[AuditEntry]:
    if f.account_id is not None:
        query = query.where(AuditEntry.account_id == f.account_id)
    if f.action is not None:
        query = query.where(AuditEntry.action == f.action)
    if f.resource_type is not None:
        query = query.where(AuditEntry.resource_type == f.resource_type)
    if f.resource_id is not None:
        # A record is named alone (resource_id) or among a list's results (",3,5,8,").
        query = query.where(
            or_(
                AuditEntry.resource_id == f.resource_id,
                AuditEntry.resource_ids.contains(f",{f.resource_id},"),
            )
        )
    if f.start is not None:
        query = query.where(AuditEntry.occurred_at >= f.start)
    if f.end is not None:
        query = query.where(AuditEntry.occurred_at < f.end)
    return query
