"""Shared by the hostile-input tests: valid bodies to spoil, and the nothing-written check."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Api, assert_problem

PATIENTS = "/api/v3/patient"
SITES = "/api/v3/site"
ORDERS = "/api/v3/order"
JSON = {"content-type": "application/json"}
ADDRESS = {
    "lineOne": "1 Hostile Way",
    "city": "Springfield",
    "state": "IL",
    "zipCode": "62701",
    "country": "US",
}
PATIENT = {"firstName": "Eve", "lastName": "Hostile", "address": ADDRESS}
ORDER = {"site": {"id": 1234}, "orderItems": [{"item": {"id": 1003}, "count": 1}]}
# The demo customer's data (the ``key`` fixture): one patient, one site, no order.
DEMO_TOTALS = {PATIENTS: 1, SITES: 1, ORDERS: 0}


def assert_nothing_written(api: Api, key: str) -> None:
    """The demo customer still has exactly its demo patient and site, and no order."""
    totals = {path: api.get(path, key=key).json()["total"] for path in DEMO_TOTALS}
    assert totals == DEMO_TOTALS


def assert_refused(
    response: Any, status: int, code: str, message: str, *, hostile: str | None = None
) -> dict[str, Any]:
    """A whole problem+json refusal whose messages do not repeat the hostile part of the request
    (``instance`` is the request's path, by design: see ``problems.problem_response``)."""
    body = assert_problem(response, status, code, message)
    assert "Traceback" not in response.text
    if hostile is not None:
        messages = json.dumps([body["message"], body["detail"], body["errors"]])
        assert hostile not in messages
    return body


def invalid(field: str, why: str) -> str:
    """The message of a 400 for one bad field."""
    return f"invalid request: {field}: {why}"
