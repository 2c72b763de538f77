"""The operator works a return: label, transit, receipt at a warehouse, completion, cancellation."""

from __future__ import annotations

from typing import Any

import pytest

from kitdesk.domain import demo
from kitdesk.domain.devices.states import DeviceStatus
from tests.api.orders_support import create, patient_order, set_order_columns
from tests.api.returns_support import (
    OPS_RETURNS,
    RETURNS,
    account_id,
    delivered_kit,
    give_devices,
    on_hand,
    open_return,
    set_device,
    warehouse_id,
)
from tests.conftest import Api, assert_problem

UPS = {"carrier": "UPS", "value": "1Z999"}


@pytest.fixture
def operator(demo_keys: demo.DemoKeys) -> str:
    return demo_keys.operator


def move(api: Api, operator: str, return_id: int, status: str, **extra: Any) -> dict[str, Any]:
    """A move that must succeed; returns the return."""
    response = api.post(
        f"{OPS_RETURNS}/{return_id}/status", key=operator, json={"status": status, **extra}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    moved: dict[str, Any] = response.json()
    return moved


def receive(api: Api, operator: str, return_id: int) -> dict[str, Any]:
    response = api.post(
        f"{OPS_RETURNS}/{return_id}/receive",
        key=operator,
        json={"fulfillmentSiteId": warehouse_id(api)},
    )
    assert response.status_code == 200, response.text
    received: dict[str, Any] = response.json()
    return received


def device_return(api: Api, key: str, *serials: str, **extra: Any) -> dict[str, Any]:
    devices = give_devices(api, list(serials), patient_id=1234)
    body = {"patientId": 1234, "returnDevices": [{"id": d} for d in devices], **extra}
    return open_return(api, key, body)


def test_label_then_transit_records_tracking_and_ships_the_devices_back(
    api: Api, key: str, operator: str
) -> None:
    ret = device_return(api, key, "BP-1")
    labelled = move(api, operator, ret["id"], "labelSent", trackingNumbers=[UPS])
    assert labelled["currentStatus"] == "labelSent"
    assert labelled["trackingNumbers"] == [UPS]
    assert labelled["returnDevices"][0]["currentStatus"] == "withPatient"
    shipped = move(api, operator, ret["id"], "inTransit")
    assert [e["name"] for e in shipped["returnEvents"]] == ["requested", "labelSent", "inTransit"]
    [device] = shipped["returnDevices"]
    assert device["currentStatus"] == "returnInTransit"
    assert (device["deviceEvents"][-1]["type"], device["deviceEvents"][-1]["returnId"]) == (
        "returnShipped",
        ret["id"],
    )
    assert api.get(f"{RETURNS}/{ret['id']}", key=key).json() == shipped


def test_received_devices_wait_at_the_warehouse_no_longer_the_customers(
    api: Api, key: str, operator: str
) -> None:
    kit = delivered_kit(api, key, ["LOAN-1"])
    ret = device_return(api, key, "BP-1", returnPackedKits=[{"id": kit.packed_kit_id}])
    move(api, operator, ret["id"], "inTransit")
    received = receive(api, operator, ret["id"])
    assert received["currentStatus"] == "received"
    devices = received["returnDevices"] + received["returnKits"][0]["devices"]
    for device in devices:
        assert device["currentStatus"] == "returned"
        assert (device["currentPatient"], device["site"]) == (None, None)
        assert [e["type"] for e in device["deviceEvents"]][-3:] == [
            "returnRequested",
            "returnShipped",
            "returnReceived",
        ]
    # Back at the warehouse, the devices are no longer the customer's to return.
    first = devices[0]["id"]
    again = api.post(RETURNS, key=key, json={"patientId": 1234, "returnDevices": [{"id": first}]})
    assert_problem(again, 400, "unknown_device", f"device {first} not found")
    assert move(api, operator, ret["id"], "completed")["currentStatus"] == "completed"


def test_counted_items_are_recorded_but_not_restocked(api: Api, key: str, operator: str) -> None:
    ret = open_return(
        api, key, {"siteId": 1234, "returnItems": [{"item": {"id": 1003}, "count": 3}]}
    )
    before = on_hand(api, 1003)
    move(api, operator, ret["id"], "inTransit")
    received = receive(api, operator, ret["id"])
    assert [(i["item"]["id"], i["count"]) for i in received["returnItems"]] == [(1003, 3)]
    assert on_hand(api, 1003) == before


def test_illegal_move_names_current_and_allowed_statuses(api: Api, key: str, operator: str) -> None:
    ret = device_return(api, key, "BP-1")
    response = api.post(
        f"{OPS_RETURNS}/{ret['id']}/status", key=operator, json={"status": "completed"}
    )
    body = assert_problem(
        response,
        409,
        "illegal_status_move",
        f"return {ret['id']} is requested; it can move to: labelSent, inTransit, cancelled",
    )
    assert body["currentStatus"] == "requested"
    assert body["allowedStatuses"] == ["labelSent", "inTransit", "cancelled"]


def test_final_status_allows_no_move(api: Api, key: str, operator: str) -> None:
    ret = device_return(api, key, "BP-1")
    move(api, operator, ret["id"], "cancelled")
    response = api.post(
        f"{OPS_RETURNS}/{ret['id']}/status", key=operator, json={"status": "inTransit"}
    )
    assert_problem(
        response,
        409,
        "illegal_status_move",
        f"return {ret['id']} is cancelled; it can move to: none (final status)",
    )


def test_receiving_needs_the_receive_operation_and_a_return_in_transit(
    api: Api, key: str, operator: str
) -> None:
    ret = device_return(api, key, "BP-1")
    too_early = api.post(
        f"{OPS_RETURNS}/{ret['id']}/receive",
        key=operator,
        json={"fulfillmentSiteId": warehouse_id(api)},
    )
    assert_problem(
        too_early,
        409,
        "illegal_status_move",
        f"return {ret['id']} is requested; it can move to: labelSent, inTransit, cancelled",
    )
    move(api, operator, ret["id"], "inTransit")
    by_status = api.post(
        f"{OPS_RETURNS}/{ret['id']}/status", key=operator, json={"status": "received"}
    )
    problem = assert_problem(
        by_status,
        400,
        "fulfillment_site_required",
        "a return is received at a warehouse: receive it with its fulfillmentSiteId",
    )
    assert [e["field"] for e in problem["errors"]] == ["fulfillmentSiteId"]
    unknown = api.post(
        f"{OPS_RETURNS}/{ret['id']}/receive", key=operator, json={"fulfillmentSiteId": 999999}
    )
    assert_problem(unknown, 400, "unknown_fulfillment_site", "fulfillment site 999999 not found")
    assert api.get(f"{RETURNS}/{ret['id']}", key=key).json()["currentStatus"] == "inTransit"


def test_cancelled_return_leaves_devices_with_the_customer(
    api: Api, key: str, operator: str
) -> None:
    ret = device_return(api, key, "BP-1")
    cancelled = move(api, operator, ret["id"], "cancelled")
    [device] = cancelled["returnDevices"]
    assert device["currentStatus"] == "withPatient"
    assert [e["type"] for e in device["deviceEvents"]][-2:] == [
        "returnRequested",
        "returnCancelled",
    ]


def test_device_no_longer_held_stops_the_return_shipping(api: Api, key: str, operator: str) -> None:
    ret = device_return(api, key, "BP-1", "BP-2")
    lost = ret["returnDevices"][1]["id"]
    set_device(api, lost, current_status=DeviceStatus.LOST.value)
    response = api.post(
        f"{OPS_RETURNS}/{ret['id']}/status", key=operator, json={"status": "inTransit"}
    )
    assert_problem(
        response,
        409,
        "device_not_held",
        f"device {lost} is lost; it cannot ship back on return {ret['id']}",
    )
    fetched = api.get(f"{RETURNS}/{ret['id']}", key=key).json()
    assert fetched["currentStatus"] == "requested"
    assert fetched["returnDevices"][0]["currentStatus"] == "withPatient"


def test_receiving_the_return_of_a_two_way_order_moves_the_order(
    api: Api, key: str, operator: str
) -> None:
    order = create(api, key, patient_order())
    set_order_columns(api, order["id"], two_way=True, current_status="awaitingReturn")
    ret = device_return(api, key, "BP-1", relatedOrderId=order["id"])
    move(api, operator, ret["id"], "inTransit")
    receive(api, operator, ret["id"])
    fetched = api.get(f"/api/v3/order/{order['id']}", key=key).json()
    assert fetched["currentStatus"] == "returnReceived"
    assert [e["name"] for e in fetched["orderEvents"]] == ["received", "returnReceived"]


def test_receiving_leaves_a_related_order_not_awaiting_its_return(
    api: Api, key: str, operator: str
) -> None:
    order = create(api, key, patient_order())
    ret = device_return(api, key, "BP-1", relatedOrderId=order["id"])
    move(api, operator, ret["id"], "inTransit")
    receive(api, operator, ret["id"])
    fetched = api.get(f"/api/v3/order/{order['id']}", key=key).json()
    assert fetched["currentStatus"] == "received"
    assert [e["name"] for e in fetched["orderEvents"]] == ["received"]


def test_operator_lists_every_customers_returns(
    api: Api, key: str, other_key: str, operator: str
) -> None:
    mine = device_return(api, key, "BP-1")
    theirs = open_return(
        api, other_key, {"siteId": 5678, "returnItems": [{"item": {"id": 1003}, "count": 1}]}
    )
    everything = api.get(OPS_RETURNS, key=operator).json()
    assert [r["id"] for r in everything["content"]] == [mine["id"], theirs["id"]]
    other = api.call(lambda s: account_id(s, demo.OTHER_CUSTOMER))
    filtered = api.get(f"{OPS_RETURNS}?accountId={other}&currentStatus=requested", key=operator)
    assert [r["id"] for r in filtered.json()["content"]] == [theirs["id"]]
    by_id = api.get(f"{OPS_RETURNS}?id={mine['id']}", key=operator)
    assert [r["id"] for r in by_id.json()["content"]] == [mine["id"]]
    assert api.get(f"{OPS_RETURNS}/{theirs['id']}", key=operator).json() == theirs
    assert_problem(
        api.post(f"{OPS_RETURNS}/999999/status", key=operator, json={"status": "labelSent"}),
        404,
        "not_found",
        "return 999999 not found",
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v3/ops/return", None),
        ("GET", "/api/v3/ops/return/1", None),
        ("POST", "/api/v3/ops/return/1/status", {"status": "labelSent"}),
        ("POST", "/api/v3/ops/return/1/receive", {"fulfillmentSiteId": 1}),
        ("POST", "/api/v3/ops/device/1/inspect", {"result": "inStock"}),
        ("GET", "/api/v3/ops/loaner", None),
    ],
)
def test_customer_key_on_operator_endpoints_is_forbidden(
    api: Api, key: str, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = api.request(method, path, key=key, json=body)
    assert_problem(response, 403, "forbidden", "this endpoint needs an operator key")
