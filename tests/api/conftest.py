"""Fixtures of the API tests."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The path template of every request FastAPI's own route handler answered (the lean
    handlers of ``kitdesk.api.lean`` answer the rest)."""
    seen: list[str] = []
    original = APIRoute.handle

    async def counting(self: APIRoute, scope: Any, receive: Any, send: Any) -> None:
        seen.append(f"{scope['method']} {self.path_format}")
        await original(self, scope, receive, send)

    monkeypatch.setattr(APIRoute, "handle", counting)
    return seen
