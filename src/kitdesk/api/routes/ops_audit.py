"""The audit trail, for the operator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from kitdesk.api.deps import OperatorDep, PageDep, SessionDep
from kitdesk.api.problems import error_responses
from kitdesk.domain.audit import queries
from kitdesk.domain.audit.schemas import AuditEntryRead
from kitdesk.domain.common import MAX_ID, Page, Timestamp

router = APIRouter(prefix="/api/v3/ops", tags=["operator"])

Moment = Annotated[Timestamp | None, Query(description="ISO-8601; UTC when it has no offset.")]


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.get("/audit", response_model=Page[AuditEntryRead], responses=error_responses(400, 401, 403))
async def list_audit_entries(
    session: SessionDep,
    _: OperatorDep,
    paging: PageDep,
    account_id: Annotated[int | None, Query(alias="accountId", ge=1, le=MAX_ID)] = None,
    action: Annotated[str | None, Query(max_length=64, description="e.g. patient.read")] = None,
    resource_type: Annotated[str | None, Query(alias="resourceType", max_length=32)] = None,
    resource_id: Annotated[
        int | None,
        Query(alias="resourceId", ge=1, le=MAX_ID, description="Entries naming this record."),
    ] = None,
    start_timestamp: Annotated[Moment, Query(alias="startTimestamp")] = None,
    end_timestamp: Annotated[Moment, Query(alias="endTimestamp")] = None,
) -> Page[AuditEntryRead]:
    """The audit trail of every account, oldest first, with filters. An entry names records by
    id and changed fields by name, never their values; ``resourceId`` also finds the lists that
    returned the record. The time range includes the start and excludes the end."""
    filters = queries.AuditFilters(
        account_id=account_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        start=_as_utc(start_timestamp),
        end=_as_utc(end_timestamp),
    )
    return await queries.list_entries(session, filters=filters, page=paging)
