"""Create-order business rules: recipient, content, references, orderability, loaner kits."""

from __future__ import annotations

from tests.api.orders_support import (
    ORDERS,
    add_loaner_kit,
    create,
    items,
    kits,
    patient_order,
    reject,
    site_order,
)
from tests.conftest import Api, assert_problem

MSG_CONTENT = (
    "Order must contain at least one of: orderItems, orderKits, returnItems, returnDevices, "
    "or returnPackedKits"
)
MSG_NON_ORDERABLE = "Order contains Items that are marked as non-orderable. Order cannot be placed."
MSG_BOTH = "an order goes to exactly one recipient: give patient or site, not both"


def test_order_without_patient_or_site_is_rejected_with_the_documented_message(
    api: Api, key: str
) -> None:
    body = {"orderItems": items(1000), "shippingOption": "standard"}
    reject(api, key, body, "patient_or_site_required", "patient or site required", ["patient"])


def test_order_with_null_patient_and_null_site_is_rejected_as_missing_recipient(
    api: Api, key: str
) -> None:
    body = {"patient": None, "site": None, "orderItems": items(1000)}
    reject(api, key, body, "patient_or_site_required", "patient or site required", ["patient"])


def test_order_with_both_patient_and_site_is_rejected_naming_both_fields(
    api: Api, key: str
) -> None:
    body = patient_order(site={"id": 1234})
    problem = reject(api, key, body, "patient_and_site", MSG_BOTH, ["patient", "site"])
    assert [e["message"] for e in problem["errors"]] == [MSG_BOTH, MSG_BOTH]


def test_order_without_content_is_rejected_with_the_documented_message(api: Api, key: str) -> None:
    body = {"patient": {"id": 1234}, "shippingOption": "standard"}
    reject(api, key, body, "order_content_required", MSG_CONTENT, ["orderItems"])


def test_order_with_empty_item_and_kit_lists_is_rejected_as_without_content(
    api: Api, key: str
) -> None:
    body = {"site": {"id": 1234}, "orderItems": [], "orderKits": []}
    reject(api, key, body, "order_content_required", MSG_CONTENT, ["orderItems"])


def test_order_with_only_kits_is_accepted(api: Api, key: str) -> None:
    order = create(api, key, site_order(orderKits=kits(1002, count=3)))
    assert order["orderItems"] == []
    assert [(k["kit"]["id"], k["count"]) for k in order["orderKits"]] == [(1002, 3)]


def test_order_for_unknown_patient_is_rejected_naming_patient_id(api: Api, key: str) -> None:
    body = patient_order(999999)
    reject(api, key, body, "unknown_patient", "patient 999999 not found", ["patient.id"])


def test_order_for_unknown_site_is_rejected_naming_site_id(api: Api, key: str) -> None:
    body = site_order(999999)
    reject(api, key, body, "unknown_site", "site 999999 not found", ["site.id"])


def test_unknown_item_is_rejected_naming_its_position(api: Api, key: str) -> None:
    body = patient_order(orderItems=items(1000, 1001, 424242))
    reject(api, key, body, "unknown_item", "item 424242 not found", ["orderItems[2].item.id"])


def test_item_outside_the_customers_catalog_is_rejected_as_unknown(
    api: Api, other_key: str
) -> None:
    # Item 1001 exists, but only items 1000 and 1003 are in the second customer's catalog.
    body = site_order(5678, orderItems=items(1003, 1001))
    reject(api, other_key, body, "unknown_item", "item 1001 not found", ["orderItems[1].item.id"])


def test_items_in_the_customers_catalog_are_accepted(api: Api, other_key: str) -> None:
    order = create(api, other_key, patient_order(5678, orderItems=items(1000, 1003)))
    assert [line["item"]["id"] for line in order["orderItems"]] == [1000, 1003]


def test_unknown_kit_is_rejected_naming_its_position(api: Api, key: str) -> None:
    body = patient_order(orderKits=kits(1000, 777777))
    reject(api, key, body, "unknown_kit", "kit 777777 not found", ["orderKits[1].kit.id"])


def test_unknown_references_of_every_kind_are_named_in_one_answer(api: Api, key: str) -> None:
    # Read together by one statement: each unknown one is still named at its own position.
    body = patient_order(
        999999,
        orderItems=items(1000, 424242, 1001),
        orderKits=kits(1000, 1001, 777777, 1002, 1003),
    )
    fields = ["patient.id", "orderItems[1].item.id", "orderKits[2].kit.id"]
    reject(api, key, body, "unknown_patient", "patient 999999 not found", fields)


def test_a_site_order_with_an_unknown_site_and_known_goods_names_the_site(
    api: Api, key: str
) -> None:
    body = site_order(999999, orderItems=items(1000), orderKits=kits(1000, 1001, 1002))
    reject(api, key, body, "unknown_site", "site 999999 not found", ["site.id"])


def test_non_orderable_item_ordered_directly_is_rejected_with_the_documented_message(
    api: Api, key: str
) -> None:
    body = patient_order(orderItems=items(1000, 1004))
    problem = reject(
        api, key, body, "non_orderable_items", MSG_NON_ORDERABLE, ["orderItems[1].item.id"]
    )
    assert problem["errors"][0]["message"] == "item 1004 is not orderable"


def test_kit_containing_a_non_orderable_item_is_rejected_as_item_not_orderable(
    api: Api, key: str
) -> None:
    body = patient_order(orderKits=kits(1000, 1005))
    problem = reject(
        api, key, body, "item_not_orderable", "item_not_orderable", ["orderKits[1].kit.id"]
    )
    assert problem["errors"][0]["message"] == (
        "kit 1005 contains item 1004, which is not orderable"
    )


def test_one_loaner_kit_of_count_one_is_accepted_for_a_patient(api: Api, key: str) -> None:
    order = create(api, key, patient_order(orderKits=kits(1004), orderItems=items(1003)))
    kit = order["orderKits"][0]["kit"]
    assert (kit["id"], kit["loaner"], order["orderKits"][0]["count"]) == (1004, True, 1)


def test_two_loaner_kits_in_one_order_are_rejected_as_max_one_loaner_kit(
    api: Api, key: str
) -> None:
    second_loaner = add_loaner_kit(api)
    body = patient_order(orderKits=kits(1004, 1000, second_loaner))
    reject(api, key, body, "max_one_loaner_kit", "max_one_loaner_kit", ["orderKits[2].kit.id"])


def test_loaner_kit_with_count_over_one_is_rejected_as_qty_over_one_loaner_kit(
    api: Api, key: str
) -> None:
    body = patient_order(orderKits=kits(1004, count=2))
    reject(
        api, key, body, "qty_over_one_loaner_kit", "qty_over_one_loaner_kit", ["orderKits[0].count"]
    )


def test_loaner_kit_to_a_site_is_rejected_as_no_loaner_kit_to_site(api: Api, key: str) -> None:
    body = site_order(orderKits=[*kits(1000), *kits(1004)])
    reject(
        api, key, body, "no_loaner_kit_to_site", "no_loaner_kit_to_site", ["orderKits[1].kit.id"]
    )


def test_two_loaner_kits_to_a_site_name_every_loaner_rule_broken(api: Api, key: str) -> None:
    second_loaner = add_loaner_kit(api)
    body = site_order(orderKits=[*kits(1004, count=2), *kits(second_loaner)])
    problem = reject(
        api,
        key,
        body,
        "qty_over_one_loaner_kit",
        "qty_over_one_loaner_kit",
        ["orderKits[0].count", "orderKits[0].kit.id", "orderKits[1].kit.id", "orderKits[1].kit.id"],
    )
    assert [e["message"] for e in problem["errors"]] == [
        "qty_over_one_loaner_kit",
        "no_loaner_kit_to_site",
        "no_loaner_kit_to_site",
        "max_one_loaner_kit",
    ]


def test_create_order_without_a_key_is_unauthorized_and_writes_nothing(api: Api, key: str) -> None:
    assert_problem(api.post(ORDERS, json=patient_order()), 401, "unauthorized")
    assert api.get(ORDERS, key=key).json()["total"] == 0
