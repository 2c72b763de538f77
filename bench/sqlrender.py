"""SQL statements with their parameters written in as literals, so pgbench can replay them.

The service's driver sends ``$1``-style (asyncpg) or ``?``-style (SQLite) placeholders with a
parameter tuple; pgbench wants self-contained text. Literals avoid ``:name`` sequences, which
pgbench would read as its own variables.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

# A quoted string or identifier (copied as it is), else a placeholder.
_TOKENS = {
    "numeric_dollar": re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\$(\d+)"),
    "qmark": re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|(\?)"),
}


def quote(text: str) -> str:
    """A string literal; colons are escaped (``E'\\x3a'``) so pgbench never sees a variable."""
    if ":" not in text and "\\" not in text:
        return "'" + text.replace("'", "''") + "'"
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\x3a")
    return "E'" + escaped + "'"


def literal(value: Any) -> str:
    """``value`` as an SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else quote(repr(value))
    if isinstance(value, datetime | date | time):
        return quote(value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat())
    if isinstance(value, timedelta):
        return quote(f"{value.total_seconds()} seconds")
    if isinstance(value, bytes | bytearray | memoryview):
        return "'\\x" + bytes(value).hex() + "'"
    if isinstance(value, uuid.UUID):
        return quote(str(value))
    if isinstance(value, list | tuple) and not any(isinstance(v, dict) for v in value):
        return "ARRAY[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict | list):
        return quote(json.dumps(value))
    return quote(str(value))


def render(statement: str, parameters: Sequence[Any] | None, paramstyle: str) -> str:
    """``statement`` with each placeholder replaced by its parameter's literal."""
    params = list(parameters or ())
    if not params:
        return statement
    pattern = _TOKENS.get(paramstyle)
    if pattern is None:
        raise ValueError(f"cannot render parameters in the {paramstyle!r} style")
    position = iter(range(len(params)))

    def replace(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)
        index = int(match.group(1)) - 1 if paramstyle == "numeric_dollar" else next(position)
        return literal(params[index])

    return pattern.sub(replace, statement)


def render_all(statement: str, parameters: Any, paramstyle: str, *, executemany: bool) -> list[str]:
    """One rendered statement per parameter set (an executemany runs the statement per set)."""
    if executemany:
        return [render(statement, p, paramstyle) for p in parameters]
    return [render(statement, parameters, paramstyle)]
