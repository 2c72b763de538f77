"""Webhook delivery logs and redelivery.

Included before the webhook routes, so ``/webhook/logs`` is not taken for a webhook id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from kitdesk.api.deps import CallerDep, PageDep, SessionDep
from kitdesk.api.problems import error_responses
from kitdesk.api.routes import PathId
from kitdesk.domain.common import MAX_ID, Page, Timestamp
from kitdesk.domain.webhooks import logs
from kitdesk.domain.webhooks.schemas import DeliveryStatus, WebhookLogRead
from kitdesk.domain.webhooks.types import SUBSCRIBABLE_TYPES

router = APIRouter(prefix="/api/v3/webhook/logs", tags=["webhooks"])

Moment = Annotated[Timestamp | None, Query(description="ISO-8601; UTC when it has no offset.")]
Retries = Annotated[int | None, Query(ge=0, le=1000)]


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.get("", response_model=Page[WebhookLogRead], responses=error_responses(400, 401))
async def list_webhook_logs(
    session: SessionDep,
    caller: CallerDep,
    paging: PageDep,
    webhook_type: Annotated[
        str | None,
        Query(alias="webhookType", json_schema_extra={"enum": sorted(SUBSCRIBABLE_TYPES)}),
    ] = None,
    webhook_id: Annotated[int | None, Query(alias="webhookId", ge=1, le=MAX_ID)] = None,
    status: DeliveryStatus | None = None,
    retry_attempts_min: Annotated[Retries, Query(alias="retryAttemptsMin")] = None,
    retry_attempts_max: Annotated[Retries, Query(alias="retryAttemptsMax")] = None,
    last_response_status: Annotated[
        int | None, Query(alias="lastResponseStatus", ge=100, le=599)
    ] = None,
    start_timestamp: Annotated[Moment, Query(alias="startTimestamp")] = None,
    end_timestamp: Annotated[Moment, Query(alias="endTimestamp")] = None,
    start_last_retry: Annotated[Moment, Query(alias="startLastRetryTimestamp")] = None,
    end_last_retry: Annotated[Moment, Query(alias="endLastRetryTimestamp")] = None,
) -> Page[WebhookLogRead]:
    """The account's deliveries with their attempts. Time ranges include the start and
    exclude the end; ``startTimestamp``/``endTimestamp`` apply to when the delivery was queued,
    the ``...LastRetryTimestamp`` pair to its latest attempt."""
    filters = logs.LogFilters(
        webhook_type=webhook_type,
        webhook_id=webhook_id,
        status=status,
        retry_attempts_min=retry_attempts_min,
        retry_attempts_max=retry_attempts_max,
        last_response_status=last_response_status,
        created_from=_as_utc(start_timestamp),
        created_before=_as_utc(end_timestamp),
        last_retry_from=_as_utc(start_last_retry),
        last_retry_before=_as_utc(end_last_retry),
    )
    return await logs.list_logs(session, account_id=caller.account_id, filters=filters, page=paging)


@router.post(
    "/{logId}/redeliver",
    status_code=202,
    response_model=WebhookLogRead,
    responses=error_responses(400, 401, 404, 409),
)
async def redeliver(logId: PathId, session: SessionDep, caller: CallerDep) -> WebhookLogRead:
    """Queue the logged event again, to the same webhook, due now (a new log entry)."""
    return await logs.redeliver(session, account_id=caller.account_id, log_id=logId)
