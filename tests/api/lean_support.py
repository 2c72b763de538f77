"""Helpers of the lean handlers' tests (``kitdesk.api.lean``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.api import lean
from tests.conftest import Api

BAD_KEY = "kd_live_not_a_key_at_all_000000000000"


def without_lean(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request of the test from here on goes to FastAPI's own route handler."""
    monkeypatch.setattr(lean, "HANDLERS", {})


def count_rows(api: Api, model: Any) -> int:
    async def count(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    return api.call(count)


def answer(response: Any) -> tuple[int, str | None, Any]:
    """A response without what differs between two otherwise equal requests (the request id)."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        body.pop("requestId", None)
    return response.status_code, response.headers.get("content-type"), body
