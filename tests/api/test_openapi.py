"""The OpenAPI document describes every endpoint, in camelCase, with its error responses."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import Api

SNAKE = re.compile(r"^[a-z]+(_[a-z0-9]+)+$")


def _properties(schema: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for name, sub in schema.get("properties", {}).items():
        names.append(name)
        if isinstance(sub, dict):
            names.extend(_properties(sub))
    return names


def test_openapi_lists_every_customer_endpoint(api: Api) -> None:
    r = api.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    expected = {
        "/api/v3/order": {"get", "post"},
        "/api/v3/order/{orderId}": {"get"},
        "/api/v3/order-status": {"get"},
        "/api/v3/patient": {"get", "post"},
        "/api/v3/patient/{patientId}": {"get", "put", "patch"},
        "/api/v3/patient/identifier/{identifier}": {"get"},
        "/api/v3/patient/email": {"post"},
        "/api/v3/site": {"get", "post"},
        "/api/v3/site/{siteId}": {"get", "put", "patch"},
        "/api/v3/item": {"get"},
        "/api/v3/item/{itemId}": {"get"},
        "/api/v3/kit": {"get"},
        "/api/v3/kit/{kitId}": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))


def test_openapi_schemas_are_camel_case(api: Api) -> None:
    schemas = api.get("/openapi.json").json()["components"]["schemas"]
    snake = [
        (name, prop)
        for name, schema in schemas.items()
        for prop in _properties(schema)
        if SNAKE.match(prop)
    ]
    assert snake == []


def test_every_api_operation_documents_its_errors_as_problem_json(api: Api) -> None:
    doc = api.get("/openapi.json").json()
    assert "Problem" in doc["components"]["schemas"]
    for path, ops in doc["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, op in ops.items():
            errors = {k: v for k, v in op["responses"].items() if k.startswith(("4", "5"))}
            assert "400" in errors or "401" in errors, (method, path)
            # FastAPI's validation 422 is replaced by 400: a 422 only documents the reuse of an
            # Idempotency-Key with a different request.
            if "422" in op["responses"]:
                headers = [p["name"] for p in op.get("parameters", []) if p["in"] == "header"]
                assert "Idempotency-Key" in headers, (method, path)
            for status, response in errors.items():
                assert "application/problem+json" in response["content"], (method, path, status)


def test_openapi_declares_the_api_key_header(api: Api) -> None:
    doc = api.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert any(
        s.get("name") == "Impilo-API-Key" and s.get("in") == "header" for s in schemes.values()
    )
