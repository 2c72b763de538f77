"""Tenant isolation: a customer never sees, finds or references another customer's orders."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.orders_support import (
    ORDERS,
    assert_no_orders,
    create,
    items,
    kits,
    listed_ids,
    patient_order,
    reject,
    site_order,
)
from tests.conftest import Api, assert_problem


def demo_orders(api: Api, key: str) -> list[dict[str, Any]]:
    """A patient order and a site order of the demo customer."""
    return [
        create(api, key, patient_order(externalOrderIds=["shared-ext"])),
        create(api, key, site_order(orderKits=kits(1003), externalOrderIds=["shared-ext"])),
    ]


def test_fetching_another_customers_order_is_404_like_an_unknown_order(
    api: Api, key: str, other_key: str
) -> None:
    order = demo_orders(api, key)[0]
    foreign = api.get(f"{ORDERS}/{order['id']}", key=other_key)
    assert_problem(foreign, 404, "not_found", f"order {order['id']} not found")
    unknown = api.get(f"{ORDERS}/999999", key=other_key)
    assert_problem(unknown, 404, "not_found", "order 999999 not found")


def test_fetching_an_unknown_or_malformed_order_id_is_answered_as_such(api: Api, key: str) -> None:
    assert_problem(api.get(f"{ORDERS}/424242", key=key), 404, "not_found", "order 424242 not found")
    assert_problem(api.get(f"{ORDERS}/abc", key=key), 400, "invalid_request")
    assert_problem(api.get(f"{ORDERS}/0", key=key), 400, "invalid_request")


def test_another_customers_orders_never_appear_in_its_list(
    api: Api, key: str, other_key: str
) -> None:
    demo_orders(api, key)
    assert_no_orders(api, other_key)


@pytest.mark.parametrize(
    "query",
    [
        "id={patient_order}&id={site_order}",
        "patientId=1234",
        "siteId=1234",
        "externalOrderId=shared-ext",
        "currentStatus=received",
        "createdAtMin=2000-01-01T00:00:00Z",
        "sortDescending=true&sort=createdAt",
    ],
)
def test_no_filter_reveals_another_customers_orders(
    api: Api, key: str, other_key: str, query: str
) -> None:
    patient, site = (o["id"] for o in demo_orders(api, key))
    response = api.get(
        f"{ORDERS}?{query.format(patient_order=patient, site_order=site)}", key=other_key
    )
    assert response.status_code == 200, response.text
    assert (response.json()["content"], response.json()["total"]) == ([], 0)


def test_each_customer_lists_only_its_own_orders(api: Api, key: str, other_key: str) -> None:
    mine = [o["id"] for o in demo_orders(api, key)]
    theirs = create(api, other_key, site_order(5678, externalOrderIds=["shared-ext"]))["id"]
    assert listed_ids(api, key, "") == mine
    assert listed_ids(api, other_key, "") == [theirs]
    assert listed_ids(api, key, "externalOrderId=shared-ext") == mine
    assert listed_ids(api, other_key, "externalOrderId=shared-ext") == [theirs]
    assert listed_ids(api, other_key, f"id={theirs}&id={mine[0]}") == [theirs]
    fetched = api.get(f"{ORDERS}/{theirs}", key=other_key)
    assert fetched.status_code == 200, fetched.text
    assert_problem(api.get(f"{ORDERS}/{theirs}", key=key), 404, "not_found")


def test_another_customers_patient_cannot_receive_an_order(
    api: Api, key: str, other_key: str
) -> None:
    body = patient_order(1234, orderItems=items(1000))
    reject(api, other_key, body, "unknown_patient", "patient 1234 not found", ["patient.id"])
    body = patient_order(5678)
    reject(api, key, body, "unknown_patient", "patient 5678 not found", ["patient.id"])


def test_another_customers_site_cannot_receive_an_order(api: Api, key: str, other_key: str) -> None:
    body = site_order(1234, orderItems=items(1003))
    reject(api, other_key, body, "unknown_site", "site 1234 not found", ["site.id"])


def test_another_customers_kit_cannot_be_ordered(api: Api, other_key: str) -> None:
    body = patient_order(5678, orderItems=items(1000), orderKits=kits(1000))
    reject(api, other_key, body, "unknown_kit", "kit 1000 not found", ["orderKits[0].kit.id"])


def test_every_foreign_reference_is_named_at_once(api: Api, other_key: str) -> None:
    body = {"patient": {"id": 1234}, "orderItems": items(1003, 1002), "orderKits": kits(1001)}
    reject(
        api,
        other_key,
        body,
        "unknown_patient",
        "patient 1234 not found",
        ["patient.id", "orderItems[1].item.id", "orderKits[0].kit.id"],
    )
