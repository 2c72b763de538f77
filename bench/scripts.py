"""pgbench scripts from captured requests: the same statements, in the same transactions.

The created order's id is taken from the INSERT's RETURNING (``\\gset``) and used where the
captured statements had the id the capture run got; the fetch draws a random order id.
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.capture import Capture, Captured
from bench.seed import DataSet
from kitdesk.db.driver import COMMIT_SAVEPOINT

NEW_ORDER_PREFIX = "new_"  # \gset stores RETURNING orders.id as :new_id
FETCH_VARIABLE = "oid"
_CONTROL = {"begin": "BEGIN;", "commit": "COMMIT;", "rollback": "ROLLBACK;"}


def replace_number(sql: str, number: int, variable: str) -> str:
    """Every literal ``number`` outside quoted strings and identifiers becomes ``:variable``."""
    pattern = re.compile(
        r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|(?<![\w.$:])(" + str(number) + r")(?![\w.])"
    )
    return pattern.sub(lambda m: f":{variable}" if m.group(1) else m.group(0), sql)


def _statements(request: Captured) -> list[str]:
    """The request's statements and transaction control, one SQL command each.

    Statements the service sent together with the commit, in one message (from the savepoint
    of ``kitdesk.db.driver.commit_with`` to the commit), are replayed as one pipeline, so
    pgbench too sends them without waiting between them.
    """
    out: list[str] = []
    pipelined = False
    for event in request.events:
        together = event.get("one_message")
        if together is not None:
            # Statements the service sent in one message, one transaction of their own
            # (``kitdesk.db.driver.run_in_one_message``): one pipeline, whose Sync commits them.
            position, count = together
            if position == 0:
                out.append("\\startpipeline")
            out.extend(sql.strip().rstrip(";") + ";" for sql in event["statements"])
            if position == count - 1:
                out.append("\\endpipeline")
            continue
        if event["kind"] in _CONTROL:
            out.append(_CONTROL[event["kind"]])
            if pipelined and event["kind"] == "commit":
                out.append("\\endpipeline")
                pipelined = False
        elif event["kind"] == "sql":
            for sql in event["statements"]:
                if sql.startswith(f"ROLLBACK TO SAVEPOINT {COMMIT_SAVEPOINT}"):
                    raise RuntimeError("the captured request's reservation fell short")
                if sql.startswith(f"SAVEPOINT {COMMIT_SAVEPOINT}"):
                    out.append("\\startpipeline")
                    pipelined = True
                out.append(sql.strip().rstrip(";") + ";")
    if pipelined:
        raise RuntimeError("a pipeline the captured request began was never committed")
    return out


def plain_script(request: Captured) -> str:
    return "\n".join(_statements(request)) + "\n"


def post_script(request: Captured, new_order_id: int) -> str:
    """The order placement: later statements use the id the order INSERT returns."""
    out: list[str] = []
    inserted = False
    returned = False  # whether the script reads the new id (\gset)
    pipelined = False
    for sql in _statements(request):
        if sql in ("\\startpipeline", "\\endpipeline"):
            pipelined = sql == "\\startpipeline"
            out.append(sql)
        elif inserted:
            replaced = replace_number(sql, new_order_id, f"{NEW_ORDER_PREFIX}id")
            if replaced != sql and not returned:
                raise RuntimeError("a statement after a pipelined order INSERT names its id")
            out.append(replaced)
        elif re.search(r"\bINSERT INTO orders\b", sql):
            # The order's INSERT, alone or as the CTE of the statement writing all its rows.
            # An id the service drew before the write is drawn by the script's INSERT instead,
            # each replay its own; the events' payloads keep the captured id.
            sql = sql.replace(_drawn_id(new_order_id), _drawn_id(None))
            inserted = True
            if pipelined:
                # No \gset inside a pipeline: nothing after the INSERT may need the id.
                out.append(sql)
                continue
            # PostgreSQL returns the new id (RETURNING); SQLite's driver reads it from the
            # cursor instead, so there the script asks for it.
            returning = "" if re.search(r"\bRETURNING\b", sql) else " RETURNING id"
            out.append(sql.removesuffix(";") + f"{returning} \\gset {NEW_ORDER_PREFIX}")
            returned = True
        else:
            out.append(sql)
    if not inserted:
        raise RuntimeError("the captured POST has no INSERT INTO orders")
    return "\n".join(out) + "\n"


def _drawn_id(order_id: int | None) -> str:
    # How the order's INSERT names its id (``new_rows.ORDER_IDS``) once rendered.
    given = "NULL" if order_id is None else str(order_id)
    return f"coalesce({given}::BIGINT, nextval('orders_id_seq'))"


def fetch_script(request: Captured, order_id: int, data: DataSet) -> str:
    """The fetch of a random seeded order."""
    low, high = data.order_ids
    lines = [f"\\set {FETCH_VARIABLE} random({low}, {high})"]
    lines += [replace_number(sql, order_id, FETCH_VARIABLE) for sql in _statements(request)]
    if not any(f":{FETCH_VARIABLE}" in line for line in lines[1:]):
        raise RuntimeError(f"order {order_id} does not appear in the captured fetch")
    return "\n".join(lines) + "\n"


def write_scripts(capture: Capture, data: DataSet, folder: Path) -> dict[str, list[Path]]:
    """Script files per wrk mode name (``post``, ``fetch``, ``list``, ``deep``)."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "post": [post_script(capture.post, capture.new_order_id)],
        "fetch": [fetch_script(capture.fetch, capture.fetch_order_id, data)],
        "list": [plain_script(p) for p in capture.pages],
        "deep": [plain_script(capture.deep)],
    }
    paths: dict[str, list[Path]] = {}
    for kind, scripts in texts.items():
        paths[kind] = []
        for n, text in enumerate(scripts, start=1):
            path = folder / f"{kind}-{n:02d}.sql"
            path.write_text(text, encoding="utf-8")
            paths[kind].append(path)
    return paths
