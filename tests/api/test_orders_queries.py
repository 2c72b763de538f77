"""Fetching or listing orders costs a fixed number of SQL statements, whatever the orders hold."""

from __future__ import annotations

from typing import Any

from tests.api.orders_support import (
    ORDERS,
    add_loaner_kit,
    create,
    items,
    kits,
    new_patient,
    patient_order,
    site_order,
)
from tests.conftest import Api

# Authenticate the key, then the order view's three statements (see
# kitdesk.domain.orders.view_statements): the order with its patient (and the patient's site)
# or site; everything that embeds an item (ordered items, the lines of its kits, items expected
# back, its devices with their patient and site); the small parts (events, notes, tracking
# numbers, ordered and packed kits, the devices' identifiers and events, the return leg). Then
# the audit record of the read. On PostgreSQL all of it is one statement
# (view_statements.KEYED_ONE): the key, the order's row, its items' and its parts' rows, and the
# audit record, written by the same statement.
FETCH_STATEMENTS = {"sqlite": 5, "postgresql": 1}
# Authenticate, count the matches, the page's ids, the same three statements, the audit. On
# PostgreSQL a page asked for without filters reads the key, the total and the page's ids in one
# statement (queries.KEYED_PAGES); a filtered page takes the route's seven everywhere.
LIST_STATEMENTS = {"sqlite": 7, "postgresql": 5}
FILTERED_LIST_STATEMENTS = 7


def statements(api: Api, path: str, key: str) -> tuple[int, Any]:
    """The statements one GET sends, and its response.

    The key's last-use time is written at most once a minute; that write belongs to
    authentication, not to reading orders, so it is left out of the count.
    """
    with api.count_queries() as counter:
        response = api.get(path, key=key)
    assert response.status_code == 200, response.text
    sent = [s for s in counter.statements if not s.lstrip().upper().startswith("UPDATE API_KEYS")]
    return len(sent), response


def full_order(*, patient_id: int = 1234, loaner: bool = False) -> dict[str, Any]:
    """Four items, four kits and two notes."""
    kit_ids = [1000, 1001, 1002, 1004 if loaner else 1003]
    return patient_order(
        patient_id,
        orderItems=items(1000, 1001, 1002, 1003, count=2),
        orderKits=kits(*kit_ids),
        orderNotes=[{"note": "first"}, {"note": "second"}],
        externalOrderIds=["a", "b", "c"],
        shippingOption="overnight",
    )


def test_fetching_an_order_costs_the_same_with_one_item_or_four_items_and_four_kits(
    api: Api, key: str, backend: str
) -> None:
    small = create(api, key, patient_order())
    large = create(api, key, full_order())
    small_cost, small_response = statements(api, f"{ORDERS}/{small['id']}", key)
    large_cost, large_response = statements(api, f"{ORDERS}/{large['id']}", key)
    assert (small_cost, large_cost) == (FETCH_STATEMENTS[backend], FETCH_STATEMENTS[backend])
    assert small_response.json() == small
    assert large_response.json() == large


def test_fetching_a_site_order_or_a_kit_only_order_costs_the_same(
    api: Api, key: str, backend: str
) -> None:
    site_with_items = create(api, key, site_order(orderItems=items(1000, 1003)))
    kits_only = create(api, key, patient_order(orderKits=kits(1002, 1003)))
    for order in (site_with_items, kits_only):
        cost, response = statements(api, f"{ORDERS}/{order['id']}", key)
        assert cost == FETCH_STATEMENTS[backend]
        assert response.json() == order


def test_listing_a_page_of_one_order_costs_the_same_as_a_page_of_fifty(
    api: Api, key: str, backend: str
) -> None:
    first = create(api, key, patient_order())
    one_cost, one_page = statements(api, f"{ORDERS}?size=50", key)
    assert one_page.json()["content"] == [first]
    created = [first, *fill_fifty(api, key)]
    fifty_cost, fifty_page = statements(api, f"{ORDERS}?size=50", key)
    assert fifty_page.json()["content"] == created
    assert (one_cost, fifty_cost) == (LIST_STATEMENTS[backend], LIST_STATEMENTS[backend])


def fill_fifty(api: Api, key: str) -> list[dict[str, Any]]:
    """49 more orders with every kind of content, for several patients and sites."""
    second_patient = new_patient(api, key)
    extra_loaner = add_loaner_kit(api)
    bodies: list[dict[str, Any]] = []
    for n in range(49):
        if n % 4 == 0:
            bodies.append(full_order(patient_id=second_patient if n % 8 else 1234, loaner=True))
        elif n % 4 == 1:
            bodies.append(site_order(orderKits=kits(1000, 1002, 1003)))
        elif n % 4 == 2:
            bodies.append(patient_order(orderKits=kits(extra_loaner), orderItems=items(1005)))
        else:
            bodies.append(site_order(orderItems=items(1003, count=n + 1)))
    return [create(api, key, body) for body in bodies]


def test_a_filtered_sorted_page_costs_the_same(api: Api, key: str) -> None:
    create(api, key, full_order())
    create(api, key, site_order())
    query = "externalOrderId=a&patientId=1234&currentStatus=received&sort=createdAt"
    cost, page = statements(api, f"{ORDERS}?{query}&sortDescending=true", key)
    assert cost == FILTERED_LIST_STATEMENTS
    assert page.json()["total"] == 1


def test_a_page_of_kit_only_orders_costs_the_same(api: Api, key: str, backend: str) -> None:
    for _ in range(3):
        create(api, key, site_order(orderKits=kits(1001)))
    cost, page = statements(api, ORDERS, key)
    assert cost == LIST_STATEMENTS[backend]
    assert [o["orderItems"] for o in page.json()["content"]] == [[], [], []]
