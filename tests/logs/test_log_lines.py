"""Log lines are JSON objects; every line logged while a request runs carries its request id;
each request gets one access line naming its route template, never its path or query."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pytest

from kitdesk import context
from kitdesk.logs import JsonFormatter, install_guards
from tests.audit.support import CUSTOMER_PREFIX, DEMO_PATIENT, account_id
from tests.conftest import Api

REQUEST_ID = "trace-7f3a-0001"


@pytest.fixture
def debug(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in ("", "sqlalchemy.engine"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def app_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Records made on the app's side (not by the test's own HTTP client)."""
    client = threading.get_ident()
    return [r for r in caplog.records if r.thread != client]


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [
        json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "kitdesk.access"
    ]


def test_a_log_line_is_one_json_object_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_guards()
    caplog.set_level(logging.INFO)
    with context.command_context() as work:
        logging.getLogger("kitdesk.probe").info("moved %s", "order", extra={"fields": {"n": 3}})

    line = JsonFormatter().format(caplog.records[0])

    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed == {
        "time": parsed["time"],
        "level": "info",
        "logger": "kitdesk.probe",
        "message": "moved order",
        "requestId": work.request_id,
        "n": 3,
    }
    assert parsed["time"].endswith("+00:00")


def test_every_line_logged_while_a_request_runs_carries_its_request_id(
    api: Api, key: str, debug: pytest.LogCaptureFixture
) -> None:
    response = api.get(
        f"/api/v3/patient/{DEMO_PATIENT}", key=key, headers={"X-Request-ID": REQUEST_ID}
    )

    assert response.headers["x-request-id"] == REQUEST_ID
    records = app_records(debug)
    names = {r.name for r in records}
    assert {"kitdesk.access", "sqlalchemy.engine.Engine"} <= names
    assert {getattr(r, "request_id", None) for r in records} == {REQUEST_ID}


def test_each_request_gets_one_access_line_with_the_route_template(
    api: Api, key: str, debug: pytest.LogCaptureFixture
) -> None:
    found = api.get("/api/v3/patient?name=Jane&email=jane%40example.com", key=key)
    missing = api.get("/api/v3/patient/99999", key=key)

    first, second = access_lines(debug)
    assert first == {
        "time": first["time"],
        "level": "info",
        "logger": "kitdesk.access",
        "message": "GET /api/v3/patient 200",
        "requestId": found.headers["x-request-id"],
        "method": "GET",
        "path": "/api/v3/patient",
        "status": 200,
        "durationMs": first["durationMs"],
        "keyPrefix": CUSTOMER_PREFIX,
        "accountId": account_id(api),
    }
    assert first["durationMs"] >= 0
    assert (second["path"], second["status"]) == ("/api/v3/patient/{patientId}", 404)
    assert second["requestId"] == missing.headers["x-request-id"]
    assert "99999" not in json.dumps(second)


def test_a_request_no_route_matches_is_logged_without_its_path(
    api: Api, debug: pytest.LogCaptureFixture
) -> None:
    api.get("/api/v3/patients/jane.doe@example.com")

    [line] = access_lines(debug)

    assert (line["message"], line["path"], line["status"]) == ("GET - 404", None, 404)
    assert "jane" not in json.dumps(line)


def test_a_request_that_fails_unexpectedly_is_logged_as_a_500(
    api: Api, key: str, debug: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kitdesk.domain.patients import service

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(service, "get_patient", broken)

    response = api.get(f"/api/v3/patient/{DEMO_PATIENT}", key=key)

    [line] = access_lines(debug)
    assert (line["status"], line["path"]) == (500, "/api/v3/patient/{patientId}")
    assert line["requestId"] == response.headers["x-request-id"]
    [error] = [r for r in debug.records if r.getMessage() == "unexpected error"]
    assert error.request_id == response.headers["x-request-id"]  # type: ignore[attr-defined]
