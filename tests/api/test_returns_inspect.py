"""Inspecting returned devices: back in stock at their warehouse, or retired."""

from __future__ import annotations

from typing import Any

import pytest

from kitdesk.domain import demo
from tests.api.returns_support import (
    OPS_RETURNS,
    give_devices,
    on_hand,
    open_return,
    warehouse_id,
)
from tests.conftest import Api, assert_problem


@pytest.fixture
def operator(demo_keys: demo.DemoKeys) -> str:
    return demo_keys.operator


def returned_device(api: Api, key: str, operator: str, serial: str = "BP-1") -> int:
    """A device of the demo patient, sent back and received at the warehouse."""
    [device] = give_devices(api, [serial], patient_id=1234)
    ret = open_return(api, key, {"patientId": 1234, "returnDevices": [{"id": device}]})
    for path, body in (
        ("status", {"status": "inTransit"}),
        ("receive", {"fulfillmentSiteId": warehouse_id(api)}),
    ):
        response = api.post(f"{OPS_RETURNS}/{ret['id']}/{path}", key=operator, json=body)
        assert response.status_code == 200, response.text
    return device


def inspect(api: Api, operator: str, device_id: int, result: str) -> Any:
    return api.post(
        f"/api/v3/ops/device/{device_id}/inspect", key=operator, json={"result": result}
    )


def test_device_inspected_in_stock_adds_one_unit_at_its_warehouse(
    api: Api, key: str, operator: str
) -> None:
    device = returned_device(api, key, operator)
    before = on_hand(api, 1000)
    response = inspect(api, operator, device, "inStock")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert (body["id"], body["currentStatus"]) == (device, "inStock")
    assert body["deviceEvents"][-1]["type"] == "inspectedInStock"
    assert on_hand(api, 1000) == before + 1


def test_device_inspected_as_retired_leaves_stock_alone(api: Api, key: str, operator: str) -> None:
    device = returned_device(api, key, operator)
    before = on_hand(api, 1000)
    response = inspect(api, operator, device, "retired")
    assert response.status_code == 200, response.text
    assert response.json()["currentStatus"] == "retired"
    assert response.json()["deviceEvents"][-1]["type"] == "retired"
    assert on_hand(api, 1000) == before


def test_only_a_returned_device_can_be_inspected(api: Api, key: str, operator: str) -> None:
    [with_patient] = give_devices(api, ["BP-7"], patient_id=1234)
    body = assert_problem(
        inspect(api, operator, with_patient, "inStock"),
        409,
        "device_not_returned",
        f"device {with_patient} is withPatient; only a returned device can be inspected",
    )
    assert body["currentStatus"] == "withPatient"


def test_a_device_is_inspected_once(api: Api, key: str, operator: str) -> None:
    device = returned_device(api, key, operator)
    before = on_hand(api, 1000)
    assert inspect(api, operator, device, "inStock").status_code == 200
    assert_problem(
        inspect(api, operator, device, "inStock"),
        409,
        "device_not_returned",
        f"device {device} is inStock; only a returned device can be inspected",
    )
    assert on_hand(api, 1000) == before + 1


def test_unknown_device_cannot_be_inspected(api: Api, operator: str) -> None:
    assert_problem(
        inspect(api, operator, 999999, "inStock"), 404, "not_found", "device 999999 not found"
    )


def test_inspection_result_must_be_in_stock_or_retired(api: Api, key: str, operator: str) -> None:
    device = returned_device(api, key, operator)
    problem = assert_problem(inspect(api, operator, device, "repaired"), 400, "invalid_request")
    assert [e["field"] for e in problem["errors"]] == ["result"]
