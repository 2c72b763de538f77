"""A real `kitdesk serve` process at debug level, with SQL statements logged: every line it writes
is a JSON object, no line holds PHI or an API key, and each request is logged once, by template."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from kitdesk.db.engine import create_engine
from kitdesk.settings import Settings
from tests.logs.support import DROP_REFUSING_TRIGGER, REFUSING_TRIGGER, Run, Scenario, leaks
from tests.servers import Server, running_servers

DEBUG = {"KITDESK_LOG_LEVEL": "debug", "KITDESK_DB_ECHO": "true"}


async def _execute(url: str, statements: list[str]) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
def server_output(demo_database_url: str, backend: str, tmp_path: Path) -> Iterator[Any]:
    """Run the scenario against a debug-level server; yields (its run, its output lines)."""
    asyncio.run(_execute(demo_database_url, REFUSING_TRIGGER[backend]))
    try:
        with running_servers(demo_database_url, tmp_path, extra_env=DEBUG) as [server]:
            run = _drive(server)
        yield run, server.output().splitlines()
    finally:
        asyncio.run(_execute(demo_database_url, DROP_REFUSING_TRIGGER[backend]))


def _drive(server: Server) -> Run:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:

        def send(method: str, path: str, key: str | None, **kwargs: Any) -> httpx.Response:
            headers = {"Impilo-API-Key": key} if key else {}
            return client.request(method, path, headers=headers, **kwargs)

        return Scenario(send).everything()


def test_a_debug_server_logs_json_lines_without_phi_or_keys(server_output: Any) -> None:
    _, lines = server_output

    parsed = [json.loads(line) for line in lines if line.strip()]

    assert all(isinstance(line, dict) for line in parsed)
    assert any(p["logger"] == "sqlalchemy.engine.Engine" for p in parsed)  # SQL was logged
    assert any(p["message"] == "unexpected error" and "exception" in p for p in parsed)
    assert leaks(lines) == []


def test_a_debug_server_logs_each_request_once_by_route_template(server_output: Any) -> None:
    run, lines = server_output
    parsed = [json.loads(line) for line in lines if line.strip()]

    access = [p for p in parsed if p["logger"] == "kitdesk.access" and p["path"] != "/livez"]

    assert [a["requestId"] for a in access] == run.request_ids
    assert [(a["method"], a["status"]) for a in access] == [(m, s) for m, _, s in run.statuses]
    assert all(a["path"].startswith("/api/v3/") and "?" not in a["path"] for a in access)
    assert not any(p["logger"] == "uvicorn.access" for p in parsed)
    # Every SQL statement was sent for one of the requests, and says which.
    sql = [p for p in parsed if p["logger"] == "sqlalchemy.engine.Engine"]
    assert {p.get("requestId") for p in sql} <= set(run.request_ids)
