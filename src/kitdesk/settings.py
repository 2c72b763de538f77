"""Typed settings, read from the environment (prefix ``KITDESK_``) and passed in explicitly."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./kitdesk.db"


class Settings(BaseSettings):
    """Everything Kitdesk can be configured with."""

    model_config = SettingsConfigDict(env_prefix="KITDESK_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy-style URL: sqlite:///path or postgresql://user@host/db",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    demo_api_key: str | None = Field(
        default=None, description="When set, the demo customer's API key is this value."
    )
    demo_operator_key: str | None = Field(
        default=None, description="When set, the demo operator's API key is this value."
    )
    db_pool_size: int = 10
    db_echo: bool = False
    log_level: str = "info"
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1,
        description="Largest request body accepted, in bytes; a larger one is refused with 413 "
        "before it is read whole.",
    )

    # Webhooks (see docs/webhooks.md).
    webhook_allow_private_urls: bool = Field(
        default=False,
        description="Accept and deliver to webhook URLs on loopback, private, link-local or other "
        "non-public addresses. For tests and closed networks only.",
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Longest one delivery attempt may take, in total."
    )
    webhook_retry_schedule_seconds: list[int] = Field(
        default=[15 * 60, 30 * 60, 60 * 60],
        description="Delay before each retry after a failed attempt; when used up, the "
        "delivery is given up. JSON list in the environment, e.g. [900,1800,3600].",
    )
    webhook_worker_batch_size: int = Field(
        default=20, ge=1, le=500, description="Deliveries one worker claims and sends at once."
    )
    webhook_worker_poll_seconds: float = Field(
        default=2.0, gt=0, le=3600, description="How long an idle worker waits between polls."
    )
    webhook_lease_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long a claimed delivery stays reserved for the worker that claimed it; "
        "must exceed webhook_timeout_seconds so no attempt is sent twice at once.",
    )
    webhook_worker_in_process: bool = Field(
        default=False,
        description="Run the webhook worker inside the API server (for the embedded SQLite "
        "deployment; production runs `kitdesk worker` processes instead).",
    )

    api_key_last_used_seconds: int = Field(
        default=60,
        ge=1,
        le=24 * 3600,
        description="A key's last use (shown by `kitdesk keys list`) is refreshed at most this "
        "often, in a short transaction of its own; other requests only read the key.",
    )

    # Integrity (see docs/guarantees.md).
    idempotency_retention_seconds: int = Field(
        default=24 * 3600,
        ge=24 * 3600,
        le=30 * 24 * 3600,
        description="How long a completed Idempotency-Key is replayed; older keys count as new "
        "and purge_expired() deletes them. At least 24 hours.",
    )
    idempotency_abandon_seconds: int = Field(
        default=300,
        ge=1,
        le=24 * 3600,
        description="A key still in flight after this long belongs to a request whose process "
        "died; the next request with the key takes it over.",
    )
    rate_limit_requests: int | None = Field(
        default=None,
        ge=1,
        description="Requests one API key may make per window; unset (the default) turns rate "
        "limiting off.",
    )
    rate_limit_window_seconds: int = Field(
        default=60,
        ge=1,
        le=366 * 24 * 3600,
        description="Length of a rate-limit window (fixed windows aligned to the Unix epoch).",
    )

    @field_validator("webhook_retry_schedule_seconds")
    @classmethod
    def _schedule_is_sane(cls, value: list[int]) -> list[int]:
        if len(value) > 50 or any(not 0 <= s <= 7 * 24 * 3600 for s in value):
            raise ValueError("at most 50 delays, each between 0 and 604800 seconds")
        return value

    @model_validator(mode="after")
    def _lease_outlasts_an_attempt(self) -> Settings:
        if self.webhook_lease_seconds <= self.webhook_timeout_seconds:
            raise ValueError("webhook_lease_seconds must exceed webhook_timeout_seconds")
        return self


def async_database_url(url: str) -> str:
    """Map a plain database URL to the asyncio driver Kitdesk uses for it."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url
