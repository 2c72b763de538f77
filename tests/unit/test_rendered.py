"""Rendered responses are written byte for byte as pydantic writes the same values."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticSerializationError, to_json
from sqlalchemy import Float

from kitdesk.api.rendered import RenderedJSON, render
from kitdesk.db.models import Order

UTC = dt.UTC

moments = st.one_of(
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(),
    st.datetimes(
        timezones=st.builds(
            dt.timezone,
            st.timedeltas(min_value=-dt.timedelta(hours=23), max_value=dt.timedelta(hours=23)).map(
                lambda d: dt.timedelta(minutes=d // dt.timedelta(minutes=1))
            ),
        )
    ),
    st.dates(),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.integers(),  # beyond 64 bits too
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    moments,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_any_json_value_is_written_as_pydantic_writes_it(value: Any) -> None:
    assert render(value) == to_json(value)


class Colour(Enum):
    RED = "red"


def test_types_outside_json_are_written_through_pydantic() -> None:
    for value in (
        {"amount": Decimal("12.50"), "colour": Colour.RED, "tags": ("a", "b"), "set": {3}},
        {1: "not a string key"},
        2**70,
        _nested(250),
    ):
        assert render(value) == to_json(value)
    # What pydantic refuses, render refuses too.
    with pytest.raises(PydanticSerializationError):
        to_json(_nested(300))
    with pytest.raises(PydanticSerializationError):
        render(_nested(300))
    with pytest.raises(PydanticSerializationError):
        render({"x": object()})


def test_non_finite_floats_are_written_as_null_and_no_column_holds_a_float() -> None:
    # The one difference from pydantic, which writes NaN and Infinity (not JSON). No view can
    # hold such a value: no column of the schema is a floating-point one.
    assert render([math.nan, math.inf, -math.inf]) == b"[null,null,null]"
    floats = [
        f"{table.name}.{column.name}"
        for table in Order.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, Float)
    ]
    assert len(Order.metadata.tables) > 10
    assert floats == []


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def test_a_rendered_response_carries_the_same_body() -> None:
    view = {"id": 7, "createdAt": dt.datetime(2026, 11, 28, 14, 15, 21, 5, tzinfo=UTC)}
    response = RenderedJSON(view, status_code=201)
    assert response.body == to_json(view) == b'{"id":7,"createdAt":"2026-11-28T14:15:21.000005Z"}'
    assert response.status_code == 201
    assert response.media_type == "application/json"
