"""Every error, the framework's own 404 and 405 and an unexpected 500 included, is problem+json."""

from __future__ import annotations

from typing import Any

import pytest

from kitdesk.domain.catalog import service as catalog
from tests.api.hostile_support import PATIENTS, SITES, assert_nothing_written, assert_refused
from tests.conftest import Api


def test_an_unknown_endpoint_is_a_404_problem(api: Api, key: str) -> None:
    r = api.get("/api/v3/nothing-here", key=key)

    assert_refused(r, 404, "not_found", "no such endpoint", hostile="nothing-here")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", PATIENTS, "GET, POST"),
        ("OPTIONS", f"{PATIENTS}/1234", "GET, PATCH, PUT"),
        ("DELETE", f"{SITES}/1234", "GET, PATCH, PUT"),
        ("PUT", "/api/v3/order/1/cancel", "POST"),
    ],
)
def test_a_method_an_endpoint_does_not_serve_is_a_405_problem_with_allow(
    api: Api, key: str, method: str, path: str, allow: str
) -> None:
    r = api.request(method, path, key=key)

    assert_refused(r, 405, "method_not_allowed", f"method {method} is not allowed here")
    assert r.headers["allow"] == allow


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", f"{PATIENTS}/email", "POST"),
        ("GET", f"{PATIENTS}/email", "POST"),
        ("GET", "/api/v3/device/associate-patient", "PATCH"),
        ("DELETE", "/api/v3/webhook/logs", "GET"),
    ],
)
def test_a_literal_path_is_not_taken_for_an_id_by_a_method_it_does_not_serve(
    api: Api, key: str, method: str, path: str, allow: str
) -> None:
    # /patient/email would otherwise reach /patient/{patientId} and fail as a malformed id.
    r = api.request(method, path, key=key, json={"email": "alex.demo@example.com"})

    assert_refused(r, 405, "method_not_allowed", f"method {method} is not allowed here")
    assert r.headers["allow"] == allow
    assert_nothing_written(api, key)


def test_an_unexpected_failure_is_a_500_problem_without_internals(
    api: Api, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("SELECT secret FROM api_keys WHERE prefix = 'kd_test0'")

    monkeypatch.setattr(catalog, "list_items", broken)

    r = api.get("/api/v3/item?size=7", key=key)

    message = "internal error; quote the request id when reporting it"
    body = assert_refused(r, 500, "internal_error", message)
    assert body["requestId"] == r.headers["x-request-id"]
    for internal in ("SELECT", "api_keys", "RuntimeError", "Traceback", ".py"):
        assert internal not in r.text
    assert set(body) == {
        "type",
        "title",
        "status",
        "detail",
        "instance",
        "code",
        "message",
        "errors",
        "requestId",
    }


def test_a_problem_reports_a_hostile_path_percent_encoded(api: Api, key: str) -> None:
    r = api.get("/api/v3/%3Cscript%3Ealert(%22x%22)%3C/script%3E", key=key)

    body = assert_refused(r, 404, "not_found", "no such endpoint", hostile="<script>")
    assert body["instance"] == "/api/v3/%3Cscript%3Ealert(%22x%22)%3C/script%3E"
