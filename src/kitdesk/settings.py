"""Typed settings, read from the environment (prefix ``KITDESK_``) and passed in explicitly."""

from __future__ import annotations

from pydantic import Field
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
    db_pool_size: int = 10
    db_echo: bool = False
    log_level: str = "info"


def async_database_url(url: str) -> str:
    """Map a plain database URL to the asyncio driver Kitdesk uses for it."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url
