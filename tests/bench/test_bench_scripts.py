"""The pgbench scripts made from captured requests: the same statements, sent the same way."""

from __future__ import annotations

from typing import Any

import pytest
from bench.capture import Captured
from bench.scripts import post_script

from kitdesk.db.driver import COMMIT_SAVEPOINT


def _sql(*statements: str) -> dict[str, Any]:
    return {"kind": "sql", "statements": list(statements), "executemany": False}


def _captured(*events: dict[str, Any]) -> Captured:
    return Captured("POST", "/api/v3/order", events=list(events))


WRITE = "WITH new_order AS (INSERT INTO orders (x) VALUES (1) RETURNING orders.id) SELECT 1"


def test_statements_sent_with_the_commit_are_replayed_as_one_pipeline() -> None:
    script = post_script(
        _captured(
            {"kind": "begin"},
            _sql("SELECT key"),
            _sql(WRITE),
            _sql(f"SAVEPOINT {COMMIT_SAVEPOINT}"),
            _sql("WITH locked AS (SELECT 1) SELECT 0"),
            _sql(f"RELEASE SAVEPOINT {COMMIT_SAVEPOINT}"),
            {"kind": "commit"},
        ),
        new_order_id=77,
    ).splitlines()
    assert script[0] == "BEGIN;"
    assert script[3:] == [
        "\\startpipeline",
        f"SAVEPOINT {COMMIT_SAVEPOINT};",
        "WITH locked AS (SELECT 1) SELECT 0;",
        f"RELEASE SAVEPOINT {COMMIT_SAVEPOINT};",
        "COMMIT;",
        "\\endpipeline",
    ]


def test_a_plain_commit_is_not_pipelined() -> None:
    script = post_script(
        _captured({"kind": "begin"}, _sql(WRITE), _sql("UPDATE stock"), {"kind": "commit"}),
        new_order_id=77,
    )
    assert "pipeline" not in script
    assert script.splitlines()[-1] == "COMMIT;"


@pytest.mark.parametrize(
    "events",
    [
        # A reservation that fell short cannot be replayed as it happened.
        [
            _sql(WRITE),
            _sql(f"SAVEPOINT {COMMIT_SAVEPOINT}"),
            _sql("X"),
            _sql(f"ROLLBACK TO SAVEPOINT {COMMIT_SAVEPOINT}"),
        ],
        # A pipeline that never reached its commit.
        [_sql(WRITE), _sql(f"SAVEPOINT {COMMIT_SAVEPOINT}"), _sql("X")],
    ],
)
def test_a_capture_that_cannot_be_replayed_faithfully_is_refused(
    events: list[dict[str, Any]],
) -> None:
    with pytest.raises(RuntimeError):
        post_script(_captured({"kind": "begin"}, *events), new_order_id=77)


def test_an_order_id_drawn_by_the_service_is_drawn_again_by_each_replay() -> None:
    # An account with webhook subscribers: the service drew id 77 before the write; replayed as
    # captured, every run of the script after the first would collide on it.
    drawn = (
        "WITH new_order AS (INSERT INTO orders (id, x) VALUES "
        "(coalesce(77::BIGINT, nextval('orders_id_seq')), 1) RETURNING orders.id), "
        "outbox AS (INSERT INTO webhook_events (resource_key) VALUES (E'order\\x3a77')) "
        "SELECT new_order.id FROM new_order"
    )
    script = post_script(_captured(_sql("SELECT key"), _sql(drawn), _sql("SELECT 77")), 77)
    lines = script.splitlines()
    assert "coalesce(NULL::BIGINT, nextval('orders_id_seq'))" in lines[1]
    assert "77::BIGINT" not in lines[1]
    assert lines[1].endswith("\\gset new_")
    assert lines[2] == "SELECT :new_id;"


def _together(position: int, count: int, sql: str) -> dict[str, Any]:
    return {**_sql(sql), "one_message": [position, count]}


def test_statements_sent_in_one_message_are_replayed_as_one_pipeline() -> None:
    # The order written and its stock reserved in one message, one transaction: replayed as one
    # pipeline (its Sync commits both); the id drawn by the service is drawn again by each
    # replay, which reads no id back (pgbench has no \gset inside a pipeline).
    write = (
        "WITH new_order AS (INSERT INTO orders (id, x) VALUES "
        "(coalesce(77::BIGINT, nextval('orders_id_seq')), 1) RETURNING orders.id) SELECT 1"
    )
    captured = _captured(
        _sql("SELECT key"), _together(0, 2, write), _together(1, 2, "WITH gate AS (x) SELECT 0")
    )
    lines = post_script(captured, 77).splitlines()
    assert lines == [
        "SELECT key;",
        "\\startpipeline",
        write.replace("77::BIGINT", "NULL::BIGINT") + ";",
        "WITH gate AS (x) SELECT 0;",
        "\\endpipeline",
    ]
    # A statement after such an INSERT that names the order's id could not be replayed.
    naming = _captured(_together(0, 2, write), _together(1, 2, "UPDATE x SET y = 1 WHERE id = 77"))
    with pytest.raises(RuntimeError):
        post_script(naming, 77)
