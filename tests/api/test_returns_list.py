"""Reading returns: one by id, a filtered page, isolation between customers, statement counts."""

from __future__ import annotations

from typing import Any

import pytest

from kitdesk.domain import demo
from tests.api.orders_support import create, new_patient, site_order
from tests.api.returns_support import (
    OPS_RETURNS,
    RETURNS,
    delivered_kit,
    give_devices,
    open_return,
)
from tests.conftest import Api, assert_problem

# Authenticate the key, then the return with its sender, then one statement per collection:
# devices (each joined with its item, place, identifiers and history), counted items, packed
# kits (with kit, lines and items), events; one for the tracking numbers; the audit entry.
FETCH_STATEMENTS = 8
# Authenticate, count the matches, the page of returns, then the same six.
LIST_STATEMENTS = 9


def statements(api: Api, path: str, key: str) -> tuple[int, Any]:
    """The statements one GET sends (the key's occasional last-use write left out)."""
    with api.count_queries() as counter:
        response = api.get(path, key=key)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    sent = [s for s in counter.statements if not s.lstrip().upper().startswith("UPDATE API_KEYS")]
    return len(sent), response.json()


def counted(item_id: int = 1003, count: int = 1) -> list[dict[str, Any]]:
    return [{"item": {"id": item_id}, "count": count}]


def site_return(api: Api, key: str, site_id: int = 1234, **extra: Any) -> dict[str, Any]:
    return open_return(api, key, {"siteId": site_id, "returnItems": counted(), **extra})


def full_return(api: Api, key: str, tag: str) -> dict[str, Any]:
    """Two devices, a packed kit and two counted items, from the demo patient."""
    devices = give_devices(api, [f"{tag}-1", f"{tag}-2"], patient_id=1234)
    kit = delivered_kit(api, key, [f"{tag}-K"])
    body = {
        "patientId": 1234,
        "returnDevices": [{"id": d} for d in devices],
        "returnItems": [*counted(1003, 4), *counted(1005, 2)],
        "returnPackedKits": [{"id": kit.packed_kit_id}],
    }
    return open_return(api, key, body)


def test_fetching_a_return_gives_what_creating_it_answered(api: Api, key: str) -> None:
    created = full_return(api, key, "A")
    cost, fetched = statements(api, f"{RETURNS}/{created['id']}", key)
    assert fetched == created
    assert cost == FETCH_STATEMENTS


def test_fetching_costs_the_same_whatever_the_return_holds(api: Api, key: str) -> None:
    small = site_return(api, key)
    large = full_return(api, key, "A")
    assert statements(api, f"{RETURNS}/{small['id']}", key)[0] == FETCH_STATEMENTS
    assert statements(api, f"{RETURNS}/{large['id']}", key)[0] == FETCH_STATEMENTS


def test_listing_a_page_of_one_costs_the_same_as_a_page_of_many(api: Api, key: str) -> None:
    first = site_return(api, key)
    one_cost, one_page = statements(api, RETURNS, key)
    assert one_page["content"] == [first]
    rest = [full_return(api, key, f"T{n}") for n in range(3)] + [site_return(api, key)]
    many_cost, many_page = statements(api, RETURNS, key)
    assert many_page["content"] == [first, *rest]
    assert (one_cost, many_cost) == (LIST_STATEMENTS, LIST_STATEMENTS)


def test_list_is_paged_oldest_first(api: Api, key: str) -> None:
    ids = [site_return(api, key)["id"] for _ in range(3)]
    page = api.get(f"{RETURNS}?page=2&size=2", key=key).json()
    assert [r["id"] for r in page["content"]] == ids[2:]
    assert (page["page"], page["size"], page["total"], page["first"], page["last"]) == (
        2,
        2,
        3,
        False,
        True,
    )
    newest_first = api.get(f"{RETURNS}?sortDescending=true", key=key).json()
    assert [r["id"] for r in newest_first["content"]] == ids[::-1]


def test_list_filters_by_id_sender_related_order_and_status(
    api: Api, key: str, demo_keys: demo.DemoKeys
) -> None:
    order = create(api, key, site_order())
    second_patient = new_patient(api, key)
    a = site_return(api, key)
    b = site_return(api, key, relatedOrderId=order["id"])
    c = open_return(api, key, {"patientId": second_patient, "returnItems": counted()})
    moved = api.post(
        f"{OPS_RETURNS}/{a['id']}/status", key=demo_keys.operator, json={"status": "labelSent"}
    )
    assert moved.status_code == 200, moved.text
    cases = {
        f"id={a['id']}&id={c['id']}": [a, c],
        "siteId=1234": [a, b],
        f"patientId={second_patient}": [c],
        f"relatedOrderId={order['id']}": [b],
        "currentStatus=labelSent": [a],
        "currentStatus=requested&siteId=1234": [b],
        "currentStatus=completed": [],
    }
    for query, expected in cases.items():
        page = api.get(f"{RETURNS}?{query}", key=key).json()
        assert [r["id"] for r in page["content"]] == [r["id"] for r in expected], query
        assert page["total"] == len(expected), query


@pytest.mark.parametrize(
    "query", ["currentStatus=shipped", "id=0", "siteId=abc", "size=251", "page=0"]
)
def test_bad_list_parameters_are_refused(api: Api, key: str, query: str) -> None:
    assert_problem(api.get(f"{RETURNS}?{query}", key=key), 400, "invalid_request")


def test_customers_never_see_each_others_returns(api: Api, key: str, other_key: str) -> None:
    mine = site_return(api, key)
    theirs = site_return(api, other_key, site_id=5678)
    assert [r["id"] for r in api.get(RETURNS, key=key).json()["content"]] == [mine["id"]]
    assert [r["id"] for r in api.get(RETURNS, key=other_key).json()["content"]] == [theirs["id"]]
    assert_problem(
        api.get(f"{RETURNS}/{theirs['id']}", key=key),
        404,
        "not_found",
        f"return {theirs['id']} not found",
    )
    assert api.get(f"{RETURNS}?id={theirs['id']}", key=key).json()["total"] == 0


def test_unknown_return_is_404(api: Api, key: str) -> None:
    assert_problem(
        api.get(f"{RETURNS}/999999", key=key), 404, "not_found", "return 999999 not found"
    )
