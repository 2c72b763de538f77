"""Property-based fuzzing of the API from its own OpenAPI document, with Schemathesis.

Schemathesis loads ``/openapi.json`` from the app in-process (``schemathesis.openapi.from_asgi``)
and runs its phases against the ASGI app on the test's database: the examples phase, the
coverage phase (one negative case per documented constraint, duplicated query parameters and
undeclared methods included), a derandomized, seeded fuzzing phase of positive and negative
cases with a fixed number of examples per operation, and the stateful phase over inferred links.
Every response goes through all of Schemathesis's checks: no server error, documented status
codes, content types, headers and response schemas, negative data rejected, positive data
accepted, missing headers and auth noticed, undeclared methods answered 405 with ``Allow``.
Only ``max_response_time`` stays off: it is a timing limit, not a contract.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.engine.recorder import ScenarioRecorder
from schemathesis.engine.run import PhaseName

from tests.conftest import TEST_KEYS, Api

SEED = 20261127
MAX_EXAMPLES = 8
OPS = "^/api/v3/ops/"
NOT_OPS = "^(?!/api/v3/ops/)"
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]


def _positive_data_acceptance(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Where a request the schema allows may still be refused, and why."""
    overrides = []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            statuses = list(ACCEPTED)
            if "requestBody" in operation:
                # A schema states a body's shape, not the records it names: as Impilo, Kitdesk
                # answers 400 to a well-formed body naming an unknown or another customer's
                # site, patient, item or kit, a patient and a site together, an id other than
                # the path's, or more units than the warehouses hold.
                statuses.append("400")
            if method == "post":
                # The fuzzer may send one Idempotency-Key with two different requests: the
                # documented answer is 422 idempotency_key_reused.
                statuses.append("422")
            if statuses != ACCEPTED:
                check = {"positive_data_acceptance": {"expected-statuses": statuses}}
                overrides.append(
                    {"include-path": path, "include-method": method.upper(), "checks": check}
                )
    return overrides


def _config(doc: dict[str, Any], key: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "cache": {"enabled": False},
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
            },
            "phases": {
                # Negative cases only: the fuzzing phase already covers valid requests, and
                # boundary-valid cases for every field would double the run time.
                "coverage": {
                    "generate-duplicate-query-parameters": True,
                    "generation": {"mode": "negative"},
                },
            },
            "auth": {"openapi": {"APIKeyHeader": {"api_key": key}}},
            "checks": {"enabled": True},
            "operations": _positive_data_acceptance(doc),
        }
    )


def _failures(recorder: ScenarioRecorder) -> list[str]:
    found = []
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.failure_info is None:
                continue
            failure = check.failure_info.failure
            interaction = recorder.interactions.get(case_id)
            response = interaction.response if interaction else None
            answer = response.content[:300] if response is not None else b""
            found.append(
                f"{recorder.label} [{check.name}] {failure.title}: {failure.message}\n"
                f"    {check.failure_info.code_sample}\n    -> {answer!r}"
            )
    return found


def fuzz(api: Api, key: str, *, operator: bool) -> tuple[set[str], list[str]]:
    """Run Schemathesis; the operations it tested and every failure it found."""
    doc = api.get("/openapi.json").json()
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", api.client.app, config=_config(doc, key)
    )
    # Excluding, not including: the per-operation overrides of the config are include
    # filters too, and an include() would only add to them.
    schema = schema.exclude(path_regex=NOT_OPS if operator else OPS)
    tested: set[str] = set()
    failures: list[str] = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            if event.phase in (PhaseName.COVERAGE, PhaseName.FUZZING) and event.recorder.cases:
                tested.add(event.recorder.label)
            failures += _failures(event.recorder)
        elif isinstance(event, events.NonFatalError | events.FatalError):
            failures.append(f"{type(event).__name__}: {event!r}")
        elif isinstance(event, events.EngineFinished):
            assert event.stop_reason == "completed", event.stop_reason
    return tested, failures


def _operations(api: Api, *, operator: bool) -> set[str]:
    doc = api.get("/openapi.json").json()
    return {
        f"{method.upper()} {path}"
        for path, operations in doc["paths"].items()
        for method in operations
        if path.startswith("/api/v3/ops/") == operator
    }


def test_customer_api_passes_every_schemathesis_check(api: Api, key: str) -> None:
    # The operator endpoints are fuzzed below with the operator key: with this customer key
    # they would only ever answer 403.
    tested, failures = fuzz(api, key, operator=False)

    assert failures == []
    assert tested == _operations(api, operator=False)


def test_operator_api_passes_every_schemathesis_check(api: Api, key: str) -> None:
    # ``key`` loads the demo data (accounts, catalog, warehouse stock) for the operator to work.
    tested, failures = fuzz(api, TEST_KEYS.operator, operator=True)

    assert failures == []
    assert tested == _operations(api, operator=True)
