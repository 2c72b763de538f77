"""The API view of audit entries."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from kitdesk.domain.common import CamelModel


class AuditEntryRead(CamelModel):
    """One audited operation or refused attempt. Records are named by id, fields by name."""

    id: int
    occurred_at: datetime
    channel: Literal["api", "cli", "system"] = Field(
        description="api (a request), cli (a kitdesk command) or system (other internal work)."
    )
    request_id: str | None = Field(description="The request's X-Request-ID, or the command's id.")
    account_id: int | None = Field(description="The acting account, when known.")
    key_prefix: str | None = Field(description="The visible prefix of the key used, when known.")
    action: str = Field(description="What was done, e.g. patient.read, patient.update.")
    resource_type: str
    resource_id: int | None = Field(description="The record, when the operation named one.")
    resource_ids: list[int] = Field(
        description="Every record the operation named: the one record, or a list's results."
    )
    changed_fields: list[str] | None = Field(
        description="For a change: the names (never the values) of the fields it changed."
    )
    outcome: Literal["success", "denied"]
    reason: str | None = Field(description="For a refused attempt: the error code answered.")
