"""The trail is written with the change or not at all: a failed audit write fails the request
and commits nothing. Entries are never changed or removed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from kitdesk.db.models import Patient
from tests.api.patients_support import patient_body
from tests.audit.support import DEMO_PATIENT, PATIENTS, last_entry_id
from tests.conftest import Api, assert_problem

SRC = Path(__file__).resolve().parents[2] / "src" / "kitdesk"
GRANT = """DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {role} NOLOGIN;
    END IF;
    GRANT USAGE ON SCHEMA public TO {role};
    GRANT SELECT, UPDATE, DELETE ON audit_entries TO {role};
END $$"""
REVOKE = (
    "REVOKE ALL ON audit_entries FROM {role}",
    "REVOKE ALL ON SCHEMA public FROM {role}",
    "DROP ROLE {role}",
)
UNIQUE_NAME = "Wendeline"


@contextmanager
def audit_table_gone(api: Api) -> Iterator[None]:
    """Every audit write fails while the block runs (the table is renamed away)."""
    api.call(lambda s: s.execute(text("ALTER TABLE audit_entries RENAME TO audit_entries_away")))
    try:
        yield
    finally:
        api.call(
            lambda s: s.execute(text("ALTER TABLE audit_entries_away RENAME TO audit_entries"))
        )


def assert_internal_error(response: Any) -> None:
    body = assert_problem(response, 500, "internal_error")
    assert body["requestId"] == response.headers["x-request-id"]
    assert UNIQUE_NAME not in response.text


def patients_named(api: Api, first_name: str) -> int:
    query = select(func.count()).select_from(Patient).where(Patient.first_name == first_name)
    return int(api.call(lambda s: s.scalar(query)) or 0)


def test_a_create_whose_audit_entry_fails_is_a_500_and_creates_nothing(api: Api, key: str) -> None:
    with audit_table_gone(api):
        response = api.post(PATIENTS, key=key, json=patient_body(firstName=UNIQUE_NAME))

    assert_internal_error(response)
    assert patients_named(api, UNIQUE_NAME) == 0


def test_an_update_whose_audit_entry_fails_is_a_500_and_changes_nothing(api: Api, key: str) -> None:
    with audit_table_gone(api):
        response = api.patch(f"{PATIENTS}/{DEMO_PATIENT}", key=key, json={"firstName": UNIQUE_NAME})

    assert_internal_error(response)
    assert patients_named(api, UNIQUE_NAME) == 0


def test_a_read_whose_audit_entry_fails_returns_no_patient_data(api: Api, key: str) -> None:
    api.patch(f"{PATIENTS}/{DEMO_PATIENT}", key=key, json={"firstName": UNIQUE_NAME})

    with audit_table_gone(api):
        fetched = api.get(f"{PATIENTS}/{DEMO_PATIENT}", key=key)
        listed = api.get(f"{PATIENTS}?name={UNIQUE_NAME}", key=key)

    assert_internal_error(fetched)
    assert_internal_error(listed)


def test_an_order_fetch_whose_audit_entry_fails_returns_no_patient_data(api: Api, key: str) -> None:
    # The order fetch's busiest path (PostgreSQL: its statements in autocommit) too.
    api.patch(f"{PATIENTS}/{DEMO_PATIENT}", key=key, json={"firstName": UNIQUE_NAME})
    body = {"patient": {"id": DEMO_PATIENT}, "orderItems": [{"item": {"id": 1000}, "count": 1}]}
    order = api.post("/api/v3/order", key=key, json=body)
    assert order.status_code == 201, order.text
    assert UNIQUE_NAME in order.text

    with audit_table_gone(api):
        fetched = api.get(f"/api/v3/order/{order.json()['id']}", key=key)

    assert_internal_error(fetched)


def test_an_order_list_whose_audit_entry_fails_returns_no_patient_data(api: Api, key: str) -> None:
    # The order list's busiest path (PostgreSQL: a page without filters, in autocommit) too.
    api.patch(f"{PATIENTS}/{DEMO_PATIENT}", key=key, json={"firstName": UNIQUE_NAME})
    body = {"patient": {"id": DEMO_PATIENT}, "orderItems": [{"item": {"id": 1000}, "count": 1}]}
    assert api.post("/api/v3/order", key=key, json=body).status_code == 201

    with audit_table_gone(api):
        listed = api.get("/api/v3/order?size=50", key=key)

    assert_internal_error(listed)


def test_a_refusal_whose_audit_entry_fails_is_a_500(api: Api, other_key: str) -> None:
    with audit_table_gone(api):
        response = api.get(f"{PATIENTS}/{DEMO_PATIENT}", key=other_key)

    assert_internal_error(response)


def _probe_role(api: Api) -> str:
    """A role of this test database's own, that is not a superuser (as Kitdesk's must not be)."""
    settings = api.client.app.state.settings  # type: ignore[attr-defined]
    database = make_url(settings.database_url).database or ""
    return "kitdesk_audit_probe_" + re.sub(r"\W", "_", database)


def _as_role(role: str, statement: Any, entry: int) -> Any:
    async def run(session: Any) -> None:
        await session.execute(text(f"SET LOCAL ROLE {role}"))
        await session.execute(statement, {"id": entry})

    return run


def test_postgresql_refuses_other_roles_than_superusers_to_change_or_remove_entries(
    api: Api, key: str, backend: str
) -> None:
    api.get(f"{PATIENTS}/{DEMO_PATIENT}", key=key)
    entry = last_entry_id(api)
    change = text("UPDATE audit_entries SET action = 'patient.nothing' WHERE id = :id")
    remove = text("DELETE FROM audit_entries WHERE id = :id")
    if backend == "sqlite":  # no trigger on SQLite: append-only rests on the code (next test)
        api.call(lambda s: s.execute(remove, {"id": entry}))
        assert last_entry_id(api) == entry - 1
        return
    role = _probe_role(api)
    api.call(lambda s: s.execute(text(GRANT.format(role=role))))
    try:
        for statement in (change, remove):
            with pytest.raises(DBAPIError, match="audit_entries is append-only"):
                api.call(_as_role(role, statement, entry))
        assert last_entry_id(api) == entry
        api.call(lambda s: s.execute(remove, {"id": entry}))  # the superuser is let through
        assert last_entry_id(api) == entry - 1
    finally:
        for cleanup in REVOKE:
            api.call(lambda s, sql=cleanup: s.execute(text(sql.format(role=role))))


def test_no_code_changes_or_removes_audit_entries() -> None:
    writes = re.compile(
        r"(update|delete)\(\s*AuditEntry|(UPDATE|DELETE\s+FROM)\s+audit_entries", re.IGNORECASE
    )
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "migrations" not in path.parts and writes.search(path.read_text(encoding="utf-8"))
    ]

    assert offenders == []
