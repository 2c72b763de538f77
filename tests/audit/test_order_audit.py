"""Orders and returns embed their patient: creating, fetching, listing and changing them is
audited, one entry per request, whoever asks (customer or operator)."""

from __future__ import annotations

from kitdesk.domain import demo
from tests.api.orders_support import ORDERS, items, patient_order
from tests.api.returns_support import device_refs, give_devices
from tests.audit.support import (
    CUSTOMER_PREFIX,
    OPERATOR_PREFIX,
    account_id,
    audited,
    entries_after,
    expected,
    last_entry_id,
    without_id_and_time,
)
from tests.conftest import TEST_KEYS, Api

OPS_ORDERS = "/api/v3/ops/order"
RETURNS = "/api/v3/return"


def place(api: Api, key: str) -> int:
    response = api.post(ORDERS, key=key, json=patient_order(orderItems=items(1003)))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_placing_fetching_and_listing_orders_are_audited(api: Api, key: str) -> None:
    demo = account_id(api)
    created, entry = audited(api, key, "POST", ORDERS, json=patient_order(orderItems=items(1003)))
    order = created.json()["id"]
    assert without_id_and_time(entry) == expected(
        created, action="order.create", resource_type="order", account=demo,
        prefix=CUSTOMER_PREFIX, resource_id=order,
    )  # fmt: skip

    fetched, entry = audited(api, key, "GET", f"{ORDERS}/{order}")
    assert without_id_and_time(entry) == expected(
        fetched, action="order.read", resource_type="order", account=demo,
        prefix=CUSTOMER_PREFIX, resource_id=order,
    )  # fmt: skip

    listed, entry = audited(api, key, "GET", f"{ORDERS}?patientId=1234")
    assert [o["id"] for o in listed.json()["content"]] == [order]
    assert (entry["action"], entry["resourceIds"]) == ("order.list", [order])


def test_a_cancel_answered_with_the_order_is_one_cancel_entry(api: Api, key: str) -> None:
    order = place(api, key)

    response, entry = audited(api, key, "POST", f"{ORDERS}/{order}/cancel")

    assert without_id_and_time(entry) == expected(
        response, action="order.cancel", resource_type="order", account=account_id(api),
        prefix=CUSTOMER_PREFIX, resource_id=order, changed=["currentStatus"],
    )  # fmt: skip


def test_a_note_is_an_order_update_naming_the_notes(api: Api, key: str) -> None:
    order = place(api, key)

    _, entry = audited(api, key, "POST", f"{ORDERS}/{order}/note", json={"note": "Call first"})

    assert (entry["action"], entry["changedFields"]) == ("order.update", ["orderNotes"])
    assert "Call first" not in str(entry)


def test_the_operator_reading_and_moving_orders_is_audited_as_the_operator(
    api: Api, key: str
) -> None:
    order = place(api, key)
    operator = account_id(api, demo.OPERATOR)
    op = TEST_KEYS.operator

    fetched, entry = audited(api, op, "GET", f"{OPS_ORDERS}/{order}")
    assert without_id_and_time(entry) == expected(
        fetched, action="order.read", resource_type="order", account=operator,
        prefix=OPERATOR_PREFIX, resource_id=order,
    )  # fmt: skip

    _, entry = audited(
        api, op, "POST", f"{OPS_ORDERS}/{order}/status", json={"status": "processing"}
    )
    assert (entry["action"], entry["resourceId"]) == ("order.move", order)
    assert (entry["accountId"], entry["changedFields"]) == (operator, ["currentStatus"])

    _, entry = audited(
        api, op, "POST", f"{OPS_ORDERS}/{order}/status", json={"status": "cancelled"}
    )
    assert (entry["action"], entry["changedFields"]) == ("order.cancel", ["currentStatus"])

    _, entry = audited(api, op, "GET", f"{OPS_ORDERS}?id={order}")
    assert (entry["action"], entry["resourceIds"]) == ("order.list", [order])


def test_returns_are_audited_when_opened_fetched_and_listed(api: Api, key: str) -> None:
    [device] = give_devices(api, ["BP-AUDIT-1"], patient_id=1234)
    body = {"patientId": 1234, "returnDevices": device_refs(device)}

    opened, entry = audited(api, key, "POST", RETURNS, json=body)
    ret = opened.json()["id"]
    assert without_id_and_time(entry) == expected(
        opened, action="return.create", resource_type="return", account=account_id(api),
        prefix=CUSTOMER_PREFIX, resource_id=ret,
    )  # fmt: skip

    _, entry = audited(api, key, "GET", f"{RETURNS}/{ret}")
    assert (entry["action"], entry["resourceId"]) == ("return.read", ret)
    _, entry = audited(api, key, "GET", RETURNS)
    assert (entry["action"], entry["resourceIds"]) == ("return.list", [ret])
    _, entry = audited(
        api, TEST_KEYS.operator, "POST", f"/api/v3/ops/return/{ret}/status",
        json={"status": "inTransit"},
    )  # fmt: skip
    assert (entry["action"], entry["changedFields"]) == ("return.move", ["currentStatus"])


def test_catalog_and_sites_are_not_audited(api: Api, key: str) -> None:
    before = last_entry_id(api)

    for path in ("/api/v3/item", "/api/v3/kit/1000", "/api/v3/site", "/api/v3/order-status"):
        assert api.get(path, key=key).status_code == 200

    assert entries_after(api, before) == []
