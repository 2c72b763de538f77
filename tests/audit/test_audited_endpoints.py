"""The table of audited endpoints stays in step with the API: every operation whose answer
carries a patient's data is in it, and everything in it is a real operation."""

from __future__ import annotations

from typing import Any

from kitdesk.api.app import create_app
from kitdesk.api.audited import AUDITED
from kitdesk.settings import Settings

# Schemas that hold a patient's name, birth date, contact details or address.
PATIENT_DATA = {"PatientRead", "DevicePatient"}


def _openapi() -> dict[str, Any]:
    schema: dict[str, Any] = create_app(Settings(database_url="sqlite:///unused.db")).openapi()
    return schema


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if "$ref" in node else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _closure(names: set[str], components: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_refs(components.get(name, {})))
    return seen


def _operations_answering_with_patient_data(schema: dict[str, Any]) -> set[tuple[str, str]]:
    components = schema["components"]["schemas"]
    found = set()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            answers = {c: r for c, r in operation.get("responses", {}).items() if c[0] == "2"}
            if _closure(_refs(answers), components) & PATIENT_DATA:
                found.add((method.upper(), path))
    return found


def test_every_operation_answering_with_patient_data_is_audited() -> None:
    with_patient_data = _operations_answering_with_patient_data(_openapi())

    assert ("GET", "/api/v3/patient/{patientId}") in with_patient_data
    assert sorted(with_patient_data - set(AUDITED)) == []


def test_every_audited_endpoint_is_an_operation_of_the_api() -> None:
    operations = {
        (method.upper(), path)
        for path, by_method in _openapi()["paths"].items()
        for method in by_method
    }

    assert sorted(set(AUDITED) - operations) == []
