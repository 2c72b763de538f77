"""No PHI and no API key reaches the logs, with every logger at DEBUG (SQLAlchemy's included),
through the patient, order and device APIs, validation errors and an unexpected 500."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from kitdesk.logs import JsonFormatter, install_guards
from tests.conftest import Api
from tests.logs.support import (
    DOOMED_EMAIL,
    DOOMED_FIRST_NAME,
    DOOMED_LAST_NAME,
    DROP_REFUSING_TRIGGER,
    EMAIL,
    PHI,
    REFUSING_TRIGGER,
    Scenario,
    leaks,
)

LOGGERS = (
    "",
    "kitdesk",
    "sqlalchemy",
    "sqlalchemy.engine",
    "sqlalchemy.engine.Engine",
    "sqlalchemy.pool",
    "sqlalchemy.orm",
    "aiosqlite",
    "asyncpg",
    "uvicorn",
    "fastapi",
    "starlette",
    "asyncio",
)


@pytest.fixture
def everything(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record of every logger, at DEBUG."""
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.fixture
def refusing_trigger(api: Api, backend: str) -> Iterator[None]:
    """The database refuses the doomed patient with an error that quotes its data."""

    async def run(session: Any, statements: list[str]) -> None:
        for statement in statements:
            await session.execute(text(statement))

    api.call(lambda s: run(s, REFUSING_TRIGGER[backend]))
    try:
        yield
    finally:
        api.call(lambda s: run(s, DROP_REFUSING_TRIGGER[backend]))


def kitdesk_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The records the app made: the test's own HTTP client logs from the test's thread."""
    client = threading.get_ident()
    return [
        r
        for r in caplog.records
        if not (r.thread == client and r.name.startswith(("httpx", "httpcore")))
    ]


def renderings(record: logging.LogRecord) -> list[str]:
    """Everything a handler could write for the record, and everything the record holds."""
    return [
        record.getMessage(),
        repr(vars(record)),
        logging.Formatter().format(record),
        JsonFormatter().format(record),
    ]


def send_with(api: Api) -> Any:
    def send(method: str, path: str, key: str | None, **kwargs: Any) -> Any:
        return api.request(method, path, key=key, **kwargs)

    return send


def test_patient_data_and_keys_never_reach_the_logs(
    api: Api, key: str, everything: pytest.LogCaptureFixture, refusing_trigger: None
) -> None:
    run = Scenario(send_with(api)).everything()
    records = kitdesk_records(everything)

    # The capture saw what it had to: SQL statements, every request, the 500 with its stack.
    messages = [r.getMessage() for r in records]
    assert any(m.startswith("INSERT INTO patients") for m in messages)
    assert sum(r.name == "kitdesk.access" for r in records) == len(run.statuses)
    assert any(
        r.exc_info and m == "unexpected error" for r, m in zip(records, messages, strict=True)
    )
    assert leaks(text for r in records for text in renderings(r)) == []


def test_the_unexpected_500_is_logged_with_its_type_and_stack_but_not_its_message(
    api: Api, key: str, everything: pytest.LogCaptureFixture, refusing_trigger: None
) -> None:
    doomed = Scenario(send_with(api))
    doomed.failures()

    [record] = [r for r in everything.records if r.getMessage() == "unexpected error"]
    logged = JsonFormatter().format(record)
    assert "(message withheld from logs)" in logged
    assert "Traceback" in logged
    assert "sqlalchemy" in logged
    assert record.request_id == doomed.run.request_ids[-1]  # type: ignore[attr-defined]
    assert leaks(renderings(record)) == []


def test_the_database_error_behind_that_500_does_quote_the_data(
    api: Api, key: str, refusing_trigger: None
) -> None:
    # Without the guard, the exception's message would have put these values in the log.
    insert = text(
        "INSERT INTO patients (account_id, first_name, last_name, email, archived, enrolled, "
        "created_at, updated_at) VALUES (1, :first, :last, :email, false, true, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )
    values = {"first": DOOMED_FIRST_NAME, "last": DOOMED_LAST_NAME, "email": DOOMED_EMAIL}

    with pytest.raises(DBAPIError) as refused:
        api.call(lambda s: s.execute(insert, values))

    assert DOOMED_FIRST_NAME in str(refused.value.orig)


def test_database_errors_never_show_bound_parameters(api: Api, key: str) -> None:
    # Last name is required: the statement fails, and its parameters must not be in the error.
    insert = text(
        "INSERT INTO patients (account_id, first_name, last_name, archived, enrolled, "
        "created_at, updated_at) VALUES (1, :first, NULL, false, true, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
    )

    with pytest.raises(DBAPIError) as refused:
        api.call(lambda s: s.execute(insert, {"first": DOOMED_FIRST_NAME}))

    assert "SQL parameters hidden" in str(refused.value)
    assert DOOMED_FIRST_NAME not in str(refused.value)


def test_the_search_finds_a_value_that_is_logged(everything: pytest.LogCaptureFixture) -> None:
    logging.getLogger("kitdesk.probe").info("patient %s", EMAIL.upper())
    logging.getLogger("kitdesk.probe").info("query", extra={"fields": {"q": f"name={PHI[0]}"}})

    found = leaks(text for r in everything.records for text in renderings(r))

    assert found == sorted([EMAIL, PHI[0]])


def test_an_exception_message_never_reaches_a_log_line(
    everything: pytest.LogCaptureFixture,
) -> None:
    install_guards()
    try:
        try:
            raise KeyError(EMAIL)
        except KeyError as inner:
            raise ValueError(f"no patient {PHI[0]}") from inner
    except ValueError:
        logging.getLogger("kitdesk.probe").exception("lookup failed")

    [record] = everything.records
    assert leaks(renderings(record)) == []
    assert "builtins" not in (formatted := logging.Formatter().format(record))
    assert "ValueError (message withheld from logs)" in formatted
    assert "KeyError (message withheld from logs)" in formatted
