"""A database that is busy or unreachable answers 503 with Retry-After, not an anonymous 500."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from kitdesk.api import problems
from tests.conftest import Api, assert_problem


def test_a_locked_database_is_a_503_with_retry_after(
    api: Api, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kitdesk.domain.patients import service

    async def locked(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    monkeypatch.setattr(service, "get_patient", locked)
    r = api.get("/api/v3/patient/1234", key=key)
    assert_problem(r, 503, "database_unavailable")
    assert r.headers["retry-after"] == "1"


def test_other_database_errors_stay_internal_errors() -> None:
    syntax = OperationalError("SELECT", {}, Exception("near 'FROM': syntax error"))
    assert problems._database_unavailable(syntax) is False
    assert problems._database_unavailable(ValueError("database is locked")) is False
