"""The ``Idempotency-Key`` header in the OpenAPI document, on every API POST."""

from __future__ import annotations

from typing import Any

from kitdesk.api.problems import error_responses

PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Makes a retry safe: 1 to 255 printable ASCII characters (a UUID is a good choice), "
        "scoped to your account and kept at least 24 hours. The same key with the same request "
        "replays the first 2xx response (header Idempotent-Replayed: true); with a different "
        "request it answers 422 idempotency_key_reused; while the first request still runs, "
        "409 idempotency_key_in_flight. Failed requests are not kept and may be retried."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
}


def document(schema: dict[str, Any]) -> None:
    """Add the header (and its 409 and 422) to every POST under /api/v3/."""
    for path, operations in schema.get("paths", {}).items():
        operation = operations.get("post")
        if not path.startswith("/api/v3/") or operation is None:
            continue
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == PARAMETER["name"] for p in parameters):
            parameters.append(dict(PARAMETER))
        responses = operation.setdefault("responses", {})
        for status, response in error_responses(409, 422).items():
            responses.setdefault(str(status), response)
