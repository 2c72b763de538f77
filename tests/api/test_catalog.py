"""The customer catalog: GET /api/v3/item and /api/v3/item/{itemId}."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, assert_problem

ACME = {"id": 1, "name": "Acme Medical"}
GLUCOTECH = {"id": 2, "name": "Glucotech"}


def item(
    ident: int,
    name: str,
    model: str | None,
    manufacturer: dict[str, Any] | None,
    identifier_type: str | None,
    orderable: bool = True,
) -> dict[str, Any]:
    """An item exactly as the API returns it."""
    return {
        "id": ident,
        "name": name,
        "model": model,
        "sku": f"KD-{ident}",
        "manufacturer": manufacturer,
        "orderable": orderable,
        "deviceIdentifierType": identifier_type,
        "itemClass": None,
        "itemClassType": None,
        "size": None,
        "readingType": None,
        "dimensions": None,
        "itemCertifications": [],
    }


ITEMS = {
    1000: item(1000, "Blood pressure monitor", "BP-200", ACME, "imei"),
    1001: item(1001, "Weight scale", "WS-50", ACME, "serial"),
    1002: item(1002, "Glucometer", "GM-7", GLUCOTECH, "serial"),
    1003: item(1003, "Glucose test strips (50)", "TS-50", GLUCOTECH, None),
    1004: item(1004, "Pulse oximeter (awaiting approval)", "PO-1", ACME, "serial", False),
    1005: item(1005, "AAA batteries (4)", None, None, None),
}


def page(content: list[Any], *, page: int, size: int, total: int) -> dict[str, Any]:
    """The page envelope."""
    return {
        "content": content,
        "page": page,
        "size": size,
        "total": total,
        "first": page == 1,
        "last": page * size >= total,
    }


def assert_json(response: Any, expected: Any) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == expected


def test_item_list_holds_only_the_items_granted_to_the_caller(api: Api, other_key: str) -> None:
    r = api.get("/api/v3/item", key=other_key)
    assert_json(r, page([ITEMS[1000], ITEMS[1003]], page=1, size=15, total=2))


def test_item_list_shows_every_granted_item_including_non_orderable_ones(
    api: Api, key: str
) -> None:
    r = api.get("/api/v3/item", key=key)
    assert_json(r, page(list(ITEMS.values()), page=1, size=15, total=6))


def test_item_list_pages_by_size_and_page(api: Api, key: str) -> None:
    first = api.get("/api/v3/item", key=key, params={"size": 4})
    assert_json(first, page([ITEMS[i] for i in (1000, 1001, 1002, 1003)], page=1, size=4, total=6))
    second = api.get("/api/v3/item", key=key, params={"size": 4, "page": 2})
    assert_json(second, page([ITEMS[1004], ITEMS[1005]], page=2, size=4, total=6))
    beyond = api.get("/api/v3/item", key=key, params={"size": 4, "page": 3})
    assert_json(beyond, page([], page=3, size=4, total=6))


def test_item_list_sorts_descending_on_request(api: Api, key: str) -> None:
    r = api.get("/api/v3/item", key=key, params={"size": 2, "sortDescending": "true"})
    assert_json(r, page([ITEMS[1005], ITEMS[1004]], page=1, size=2, total=6))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"size": 0}, "invalid request: size: Input should be greater than or equal to 1"),
        ({"size": 251}, "invalid request: size: Input should be less than or equal to 250"),
        ({"page": 0}, "invalid request: page: Input should be greater than or equal to 1"),
        (
            {"page": "x"},
            "invalid request: page: Input should be a valid integer, "
            "unable to parse string as an integer",
        ),
    ],
)
def test_item_list_rejects_out_of_range_paging(
    api: Api, key: str, params: dict[str, Any], message: str
) -> None:
    r = api.get("/api/v3/item", key=key, params=params)
    body = assert_problem(r, 400, "invalid_request", message)
    assert body["errors"] == [{"field": next(iter(params)), "message": message.split(": ")[-1]}]


def test_item_in_the_callers_catalog_is_fetched_whole(api: Api, key: str) -> None:
    assert_json(api.get("/api/v3/item/1002", key=key), ITEMS[1002])
    assert_json(api.get("/api/v3/item/1005", key=key), ITEMS[1005])


def test_item_outside_the_callers_catalog_is_404_like_an_unknown_one(
    api: Api, other_key: str
) -> None:
    assert_json(api.get("/api/v3/item/1003", key=other_key), ITEMS[1003])
    r = api.get("/api/v3/item/1001", key=other_key)
    assert_problem(r, 404, "not_found", "item 1001 not found")
    r = api.get("/api/v3/item/999999", key=other_key)
    assert_problem(r, 404, "not_found", "item 999999 not found")


def test_item_id_that_is_not_a_64_bit_id_is_400(api: Api, key: str) -> None:
    r = api.get("/api/v3/item/0", key=key)
    assert_problem(
        r, 400, "invalid_request", "invalid request: itemId: Input should be greater than or equal to 1"
    )
    r = api.get("/api/v3/item/abc", key=key)
    body = assert_problem(r, 400, "invalid_request")
    assert body["errors"][0]["field"] == "itemId"
