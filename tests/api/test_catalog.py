"""The customer catalog: GET /api/v3/item[/{itemId}] and GET /api/v3/kit[/{kitId}]."""

from __future__ import annotations

from typing import Any

import pytest

from kitdesk.domain import demo
from kitdesk.domain.accounts import service as accounts
from kitdesk.domain.catalog import service as catalog
from kitdesk.domain.catalog.schemas import ItemRef, KitCreate, KitLineIn
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
        r,
        400,
        "invalid_request",
        "invalid request: itemId: Input should be greater than or equal to 1",
    )
    r = api.get("/api/v3/item/abc", key=key)
    body = assert_problem(r, 400, "invalid_request")
    assert body["errors"][0]["field"] == "itemId"


# --- kits ------------------------------------------------------------------------------------


def kit(
    ident: int,
    name: str,
    lines: list[tuple[int, int]],
    *,
    loaner: bool = False,
    archived: bool = False,
) -> dict[str, Any]:
    """A kit exactly as the API returns it: full items in its lines."""
    return {
        "id": ident,
        "name": name,
        "archived": archived,
        "loaner": loaner,
        "kitItems": [{"item": ITEMS[i], "count": c} for i, c in lines],
    }


KITS = {ident: kit(ident, name, lines, loaner=loaner) for ident, name, lines, loaner in demo.KITS}


def account_id(api: Api, name: str) -> int:
    accounts_ = api.call(accounts.list_accounts)
    return next(a.id for a in accounts_ if a.name == name)


def add_kit(api: Api, name: str, lines: list[tuple[int, int]], owner: int | None) -> int:
    data = KitCreate(
        name=name,
        account_id=owner,
        kit_items=[KitLineIn(item=ItemRef(id=i), count=c) for i, c in lines],
    )
    return api.call(lambda s: catalog.create_kit(s, data=data)).id


def test_kit_list_shows_the_callers_kits_with_full_items_and_loaner_flag(
    api: Api, key: str
) -> None:
    r = api.get("/api/v3/kit", key=key)
    assert_json(r, page(list(KITS.values()), page=1, size=15, total=6))
    assert KITS[1004]["loaner"] is True
    assert KITS[1003]["kitItems"][2] == {"item": ITEMS[1002], "count": 1}


def test_kit_list_adds_shared_kits_but_never_another_customers_kits(
    api: Api, key: str, other_key: str
) -> None:
    other = account_id(api, demo.OTHER_CUSTOMER)
    shared = add_kit(api, "Shared strips kit", [(1003, 3)], owner=None)
    own = add_kit(api, "Riverside kit", [(1000, 1), (1003, 2)], owner=other)
    shared_kit = kit(shared, "Shared strips kit", [(1003, 3)])
    own_kit = kit(own, "Riverside kit", [(1000, 1), (1003, 2)])

    r = api.get("/api/v3/kit", key=other_key)
    assert_json(r, page([shared_kit, own_kit], page=1, size=15, total=2))
    r = api.get("/api/v3/kit", key=key, params={"size": 3, "page": 3})
    assert_json(r, page([shared_kit], page=3, size=3, total=7))


def test_kit_list_filters_by_item(api: Api, key: str) -> None:
    r = api.get("/api/v3/kit", key=key, params={"itemId": 1003})
    assert_json(r, page([KITS[1002], KITS[1003]], page=1, size=15, total=2))
    r = api.get("/api/v3/kit", key=key, params={"itemId": 999999})
    assert_json(r, page([], page=1, size=15, total=0))


def test_kit_list_filters_by_archived(api: Api, key: str) -> None:
    api.call(lambda s: catalog.set_kit_archived(s, kit_id=1001, archived=True))
    archived = {**KITS[1001], "archived": True}
    r = api.get("/api/v3/kit", key=key, params={"archived": "true"})
    assert_json(r, page([archived], page=1, size=15, total=1))
    r = api.get("/api/v3/kit", key=key, params={"archived": "false", "itemId": 1005})
    assert_json(r, page([KITS[1000]], page=1, size=15, total=1))
    r = api.get("/api/v3/kit", key=key, params={"size": 2, "page": 1})
    assert_json(r, page([KITS[1000], archived], page=1, size=2, total=6))


@pytest.mark.parametrize(
    ("params", "field"),
    [({"itemId": "abc"}, "itemId"), ({"itemId": 0}, "itemId"), ({"archived": "maybe"}, "archived")],
)
def test_kit_list_rejects_bad_filters(
    api: Api, key: str, params: dict[str, Any], field: str
) -> None:
    body = assert_problem(api.get("/api/v3/kit", key=key, params=params), 400, "invalid_request")
    assert [e["field"] for e in body["errors"]] == [field]


def test_kit_list_costs_the_same_queries_whatever_the_page_holds(api: Api, key: str) -> None:
    api.get("/api/v3/kit", key=key)  # the key's first use is recorded; later ones are not
    with api.count_queries() as one:
        assert len(api.get("/api/v3/kit", key=key, params={"size": 1}).json()["content"]) == 1
    with api.count_queries() as six:
        assert len(api.get("/api/v3/kit", key=key).json()["content"]) == 6
    assert six.count == one.count


def test_kit_is_fetched_whole(api: Api, key: str, other_key: str) -> None:
    assert_json(api.get("/api/v3/kit/1003", key=key), KITS[1003])
    assert_json(api.get("/api/v3/kit/1004", key=key), KITS[1004])
    shared = add_kit(api, "Shared strips kit", [(1003, 3)], owner=None)
    assert_json(
        api.get(f"/api/v3/kit/{shared}", key=other_key),
        kit(shared, "Shared strips kit", [(1003, 3)]),
    )


def test_another_customers_kit_is_404_like_an_unknown_one(
    api: Api, key: str, other_key: str
) -> None:
    assert_problem(
        api.get("/api/v3/kit/1000", key=other_key), 404, "not_found", "kit 1000 not found"
    )
    own = add_kit(api, "Riverside kit", [(1000, 1)], owner=account_id(api, demo.OTHER_CUSTOMER))
    r = api.get(f"/api/v3/kit/{own}", key=key)
    assert_problem(r, 404, "not_found", f"kit {own} not found")
    assert_problem(api.get("/api/v3/kit/999999", key=key), 404, "not_found", "kit 999999 not found")
