"""Order list: the page envelope, page and size bounds, sorting."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.api.orders_support import (
    ORDERS,
    create,
    listed_ids,
    patient_order,
    set_order_columns,
    site_order,
)
from tests.conftest import Api, assert_problem


def place(api: Api, key: str, n: int) -> list[int]:
    """Place ``n`` small orders, alternating patient and site; returns their ids in order."""
    bodies = [patient_order() if i % 2 == 0 else site_order() for i in range(n)]
    return [create(api, key, body)["id"] for body in bodies]


def page_of(api: Api, key: str, query: str) -> dict[str, Any]:
    response = api.get(f"{ORDERS}?{query}", key=key)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def envelope(body: dict[str, Any]) -> tuple[list[int], int, int, int, bool, bool]:
    ids = [order["id"] for order in body["content"]]
    return ids, body["page"], body["size"], body["total"], body["first"], body["last"]


def test_empty_list_is_one_first_and_last_page(api: Api, key: str) -> None:
    body = page_of(api, key, "")
    assert body == {"content": [], "page": 1, "size": 15, "total": 0, "first": True, "last": True}


def test_list_defaults_to_page_one_of_fifteen_oldest_first(api: Api, key: str) -> None:
    ids = place(api, key, 17)
    assert envelope(page_of(api, key, "")) == (ids[:15], 1, 15, 17, True, False)


def test_second_page_holds_the_rest_and_is_last(api: Api, key: str) -> None:
    ids = place(api, key, 17)
    assert envelope(page_of(api, key, "page=2")) == (ids[15:], 2, 15, 17, False, True)


def test_page_past_the_end_is_empty_and_last(api: Api, key: str) -> None:
    place(api, key, 3)
    assert envelope(page_of(api, key, "page=3&size=2")) == ([], 3, 2, 3, False, True)


def test_custom_size_pages_through_every_order_once(api: Api, key: str) -> None:
    ids = place(api, key, 7)
    pages = [envelope(page_of(api, key, f"page={p}&size=3")) for p in (1, 2, 3)]
    assert pages == [
        (ids[0:3], 1, 3, 7, True, False),
        (ids[3:6], 2, 3, 7, False, False),
        (ids[6:7], 3, 3, 7, False, True),
    ]


def test_page_exactly_filled_is_last(api: Api, key: str) -> None:
    ids = place(api, key, 4)
    assert envelope(page_of(api, key, "page=2&size=2")) == (ids[2:], 2, 2, 4, False, True)


def test_maximum_size_of_250_is_accepted(api: Api, key: str) -> None:
    ids = place(api, key, 2)
    assert envelope(page_of(api, key, "size=250")) == (ids, 1, 250, 2, True, True)


NOT_AN_INT = "Input should be a valid integer, unable to parse string as an integer"
BELOW_ONE = "Input should be greater than or equal to 1"
NOT_A_BOOL = "Input should be a valid boolean, unable to interpret input"


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ("size=251", "size", "Input should be less than or equal to 250"),
        ("size=0", "size", BELOW_ONE),
        ("size=-1", "size", BELOW_ONE),
        ("page=0", "page", BELOW_ONE),
        ("page=-2", "page", BELOW_ONE),
        ("page=two", "page", NOT_AN_INT),
        ("size=1.5", "size", NOT_AN_INT),
        ("sort=name", "sort", "Input should be 'id' or 'createdAt'"),
        ("sortDescending=maybe", "sortDescending", NOT_A_BOOL),
    ],
)
def test_out_of_range_paging_or_sorting_is_rejected(
    api: Api, key: str, query: str, field: str, reason: str
) -> None:
    response = api.get(f"{ORDERS}?{query}", key=key)
    problem = assert_problem(
        response, 400, "invalid_request", f"invalid request: {field}: {reason}"
    )
    assert problem["errors"] == [{"field": field, "message": reason}]


def test_sort_descending_by_id_lists_newest_first(api: Api, key: str) -> None:
    ids = place(api, key, 4)
    assert listed_ids(api, key, "sortDescending=true") == ids[::-1]
    assert listed_ids(api, key, "sort=id&sortDescending=true&size=3&page=2") == [ids[0]]


def test_sort_by_created_at_follows_creation_time_not_id(api: Api, key: str) -> None:
    ids = place(api, key, 3)
    moments = [datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC)]
    set_order_columns(api, ids[0], created_at=moments[0])
    set_order_columns(api, ids[1], created_at=moments[1])
    set_order_columns(api, ids[2], created_at=datetime(2024, 2, 1, tzinfo=UTC))
    assert listed_ids(api, key, "sort=createdAt") == [ids[1], ids[2], ids[0]]
    assert listed_ids(api, key, "sort=createdAt&sortDescending=true") == [ids[0], ids[2], ids[1]]


def test_orders_created_at_the_same_moment_are_ordered_by_id(api: Api, key: str) -> None:
    ids = place(api, key, 3)
    for order_id in ids:
        set_order_columns(api, order_id, created_at=datetime(2024, 5, 5, tzinfo=UTC))
    assert listed_ids(api, key, "sort=createdAt") == ids
    assert listed_ids(api, key, "sort=createdAt&sortDescending=true") == ids[::-1]


def test_listed_orders_carry_the_same_body_as_a_fetch(api: Api, key: str) -> None:
    created = create(api, key, site_order(orderNotes=[{"note": "dock 4"}]))
    listed = page_of(api, key, "")["content"]
    fetched = api.get(f"{ORDERS}/{created['id']}", key=key).json()
    assert listed == [fetched] == [created]
