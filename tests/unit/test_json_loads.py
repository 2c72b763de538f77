"""``kitdesk.db.engine.json_loads``, which reads JSON from PostgreSQL, reads every text exactly as
``json.loads`` does: same values, same types, same errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kitdesk.db.engine import json_loads

TRICKY = [
    "null",
    "[]",
    "{}",
    "0",
    "-0",
    "-0.0",
    "9223372036854775807",  # the largest 64-bit signed integer
    "-9223372036854775808",  # the smallest
    "-9223372036854775809",  # one less: nineteen digits, beyond 64 bits
    "18446744073709551615",  # the largest unsigned: twenty digits
    "18446744073709551616",  # one more: orjson would read a float
    "-123456789012345678901234567890",
    "[1, 123456789012345678901234567890, 2]",
    '{"big": 99999999999999999999999}',
    '"12345678901234567890123"',  # a long run of digits in a string
    "1.5e400",  # beyond a float: json.loads reads inf
    "-1.5e400",
    "1e-400",
    "NaN",  # not JSON, but the standard library reads it
    "[Infinity, -Infinity]",
    "0.1",
    "1.7976931348623157e308",
    "5e-324",
    '"\\ud800"',  # a lone surrogate escape
    '"\\udc00x"',
    '"\\ud83d\\ude00"',  # a pair: one character
    '{"a": 1, "a": 2}',  # the last duplicate wins
    '"caf\\u00e9 \\u2603 \\u0001"',
    " \n\t[ 1 , 2 ] \r\n",
    '[[[[[[[[[["deep"]]]]]]]]]]',
]


def same(a: Any, b: Any) -> bool:
    # Equal and of the same types all the way down (1 and 1.0, -0.0 and 0.0 differ).
    return repr(a) == repr(b)


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_texts_read_as_the_standard_library_reads_them(text: str) -> None:
    assert same(json_loads(text), json.loads(text))


@pytest.mark.parametrize("text", ["", "[1,", "{'a': 1}", "nan", "[1] x", '"\\x"'])
def test_what_the_standard_library_refuses_is_refused(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    with pytest.raises(ValueError):  # json.JSONDecodeError is a ValueError
        json_loads(text)


VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(), inner, max_size=6),
    max_leaves=30,
)


@settings(max_examples=600, deadline=None)
@given(value=VALUES, ascii_only=st.booleans())
def test_any_json_text_reads_as_the_standard_library_reads_it(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    assert same(json_loads(text), json.loads(text))
