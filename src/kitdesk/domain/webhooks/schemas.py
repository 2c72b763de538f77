"""Webhook request and response models (Impilo's Webhook, WebhookSecret and WebhookLog)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from kitdesk.domain.common import CamelModel, Id, InputModel
from kitdesk.domain.webhooks.types import SUBSCRIBABLE_TYPES
from kitdesk.domain.webhooks.urls import MAX_URL_LENGTH

DeliveryStatus = Literal["pending", "succeeded", "failed"]

WebhookType = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        strict=True,
        description="The event type to receive.",
        json_schema_extra={"enum": sorted(SUBSCRIBABLE_TYPES)},
    ),
]
WebhookUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        strict=True,
        description="http(s) URL on a public address; Kitdesk POSTs each event to it.",
        json_schema_extra={"format": "uri", "pattern": "^https?://[^\\s/?#]+"},
    ),
]


def _secret_is_printable(value: str) -> str:
    if not all(" " <= c <= "~" for c in value) or value != value.strip():
        raise ValueError("must be printable ASCII without leading or trailing spaces")
    return value


class WebhookCreate(InputModel):
    """A subscription of one URL to one event type."""

    id: Id | None = Field(default=None, description="Ignored: Kitdesk assigns ids.")
    type: WebhookType
    url: WebhookUrl


class WebhookPatch(InputModel):
    """A new URL for a subscription (and, optionally, a new type)."""

    id: Id | None = Field(default=None, description="Optional; must match the id in the path.")
    type: WebhookType | None = None
    url: WebhookUrl


class WebhookRead(CamelModel):
    """A webhook subscription."""

    id: int
    type: str
    url: str


class WebhookSecretCreate(InputModel):
    """The account's webhook secret: sent back in ``Impilo-Webhook-Secret`` and signing bodies."""

    secret: Annotated[
        str,
        Field(
            min_length=16,
            max_length=256,
            strict=True,
            json_schema_extra={"pattern": "^[!-~]([ -~]*[!-~])?$"},
        ),
        AfterValidator(_secret_is_printable),
    ]


class WebhookSecretRead(CamelModel):
    """The secret as stored."""

    secret: str


class WebhookAttemptRead(CamelModel):
    """One HTTP attempt of a delivery."""

    attempt_timestamp: datetime
    response_status: int | None = Field(description="The receiver's HTTP status, if any came.")
    error: str | None = Field(
        description="Why no usable response came: timeout, network_error, address_refused, error."
    )
    outcome: Literal["succeeded", "retry", "failed", "stale"] = Field(
        description="succeeded; retry (another attempt is scheduled); failed (no more attempts); "
        "stale (the result came after the worker's lease ran out and changed nothing)."
    )
    duration_ms: int


class WebhookLogRead(CamelModel):
    """One event's delivery to one webhook, with every attempt made so far."""

    id: int
    webhook_id: int
    webhook_type: str
    webhook_url: str
    payload: str = Field(description="The exact JSON body sent: {id, type, payload}.")
    create_timestamp: datetime
    last_response_status: int | None
    retry_attempts: int = Field(description="Attempts made after the first one.")
    last_retry_timestamp: datetime | None = Field(description="When the last attempt was made.")
    status: DeliveryStatus = Field(
        description="pending (more attempts to come), succeeded, or failed (given up)."
    )
    next_attempt_timestamp: datetime | None = None
    last_error: str | None = Field(default=None, description="What went wrong last, if anything.")
    attempts: list[WebhookAttemptRead]
