"""Returning packed kits: delivered kits of the caller's orders whose devices it still holds."""

from __future__ import annotations

from kitdesk.domain import demo
from kitdesk.domain.devices.states import DeviceStatus
from tests.api.orders_support import new_patient
from tests.api.returns_support import (
    RETURNS,
    delivered_kit,
    field_names,
    give_devices,
    open_return,
    set_device,
)
from tests.conftest import Api, assert_problem

MSG_BOTH = "Device cannot be included both as a return device and in a packed kit"


def kit_body(packed_kit_id: int, **extra: object) -> dict[str, object]:
    return {"patientId": 1234, "returnPackedKits": [{"id": packed_kit_id}], **extra}


def test_delivered_packed_kit_comes_back_with_its_devices(api: Api, key: str) -> None:
    kit = delivered_kit(api, key, ["LOAN-1"])
    created = open_return(api, key, kit_body(kit.packed_kit_id))
    [returned] = created["returnKits"]
    assert returned["id"] == kit.packed_kit_id
    assert returned["kit"]["id"] == 1004
    assert returned["kit"]["loaner"] is True
    assert [i["item"]["id"] for i in returned["kit"]["kitItems"]] == [1000]
    assert [d["id"] for d in returned["devices"]] == kit.device_ids
    assert returned["devices"][0]["deviceEvents"][-1]["type"] == "returnRequested"
    # Devices inside a returned kit are listed with the kit, not again on their own.
    assert created["returnDevices"] == []


def test_kit_with_counted_items_lists_only_its_devices(api: Api, key: str) -> None:
    kit = delivered_kit(api, key, ["GM-1"], kit_id=1002)
    created = open_return(api, key, kit_body(kit.packed_kit_id))
    [returned] = created["returnKits"]
    assert [(i["item"]["id"], i["count"]) for i in returned["kit"]["kitItems"]] == [
        (1002, 1),
        (1003, 2),
    ]
    assert [d["deviceIdentifiers"][0]["value"] for d in returned["devices"]] == ["GM-1"]


def test_device_both_on_its_own_and_inside_a_returned_kit_is_refused(api: Api, key: str) -> None:
    kit = delivered_kit(api, key, ["LOAN-1"])
    [loose] = give_devices(api, ["BP-9"], patient_id=1234)
    devices = [{"id": loose}, {"deviceIdentifier": "LOAN-1"}]
    response = api.post(RETURNS, key=key, json=kit_body(kit.packed_kit_id, returnDevices=devices))
    problem = assert_problem(response, 400, "device_in_packed_kit", MSG_BOTH)
    assert problem["errors"] == [
        {
            "field": "returnDevices[1].deviceIdentifier",
            "message": f"device LOAN-1 is in packed kit {kit.packed_kit_id}",
        }
    ]
    assert api.get(RETURNS, key=key).json()["total"] == 0


def test_another_customers_packed_kit_answers_as_unknown(
    api: Api, key: str, other_key: str
) -> None:
    kit = delivered_kit(api, key, ["LOAN-1"])
    body = {"patientId": 5678, "returnPackedKits": [{"id": kit.packed_kit_id}]}
    problem = assert_problem(
        api.post(RETURNS, key=other_key, json=body),
        400,
        "unknown_packed_kit",
        f"packed kit {kit.packed_kit_id} not found",
    )
    assert field_names(problem) == ["returnPackedKits[0].id"]


def test_packed_kit_not_yet_delivered_cannot_come_back(api: Api, key: str) -> None:
    kit = delivered_kit(api, key, ["LOAN-1"], delivered=False)
    problem = assert_problem(
        api.post(RETURNS, key=key, json=kit_body(kit.packed_kit_id)),
        400,
        "packed_kit_not_delivered",
        f"packed kit {kit.packed_kit_id} has not been delivered",
    )
    assert field_names(problem) == ["returnPackedKits[0].id"]


def test_packed_kit_whose_device_came_back_already_is_refused(api: Api, key: str) -> None:
    kit = delivered_kit(api, key, ["LOAN-1"])
    [device] = kit.device_ids
    set_device(api, device, account_id=None, order_id=None, current_status="returned")
    assert_problem(
        api.post(RETURNS, key=key, json=kit_body(kit.packed_kit_id)),
        400,
        "packed_kit_incomplete",
        f"packed kit {kit.packed_kit_id}: device {device} is no longer with the customer",
    )


def test_packed_kit_whose_device_is_not_held_is_refused(api: Api, key: str) -> None:
    kit = delivered_kit(api, key, ["LOAN-1"])
    [device] = kit.device_ids
    set_device(api, device, current_status=DeviceStatus.LOST.value)
    assert_problem(
        api.post(RETURNS, key=key, json=kit_body(kit.packed_kit_id)),
        400,
        "packed_kit_not_returnable",
        f"packed kit {kit.packed_kit_id}: device {device} cannot be returned: it is lost",
    )


def test_packed_kit_with_another_patient_cannot_be_returned_by_this_one(api: Api, key: str) -> None:
    second = new_patient(api, key)
    kit = delivered_kit(api, key, ["LOAN-1"], patient_id=second)
    [device] = kit.device_ids
    assert_problem(
        api.post(RETURNS, key=key, json=kit_body(kit.packed_kit_id)),
        400,
        "packed_kit_not_returnable",
        f"packed kit {kit.packed_kit_id}: device {device} is not with patient 1234 "
        "or at the patient's site",
    )
    body = {"patientId": second, "returnPackedKits": [{"id": kit.packed_kit_id}]}
    assert open_return(api, key, body)["patient"]["id"] == second


def test_same_packed_kit_twice_is_refused(api: Api, key: str) -> None:
    kit = delivered_kit(api, key, ["LOAN-1"])
    body = {"patientId": 1234, "returnPackedKits": [{"id": kit.packed_kit_id}] * 2}
    problem = assert_problem(
        api.post(RETURNS, key=key, json=body),
        400,
        "duplicate_packed_kit",
        f"packed kit {kit.packed_kit_id} appears more than once in returnPackedKits",
    )
    assert field_names(problem) == ["returnPackedKits[1].id"]


def test_packed_kit_on_an_open_return_cannot_go_on_another(api: Api, key: str) -> None:
    kit = delivered_kit(api, key, ["LOAN-1"])
    first = open_return(api, key, kit_body(kit.packed_kit_id))
    problem = assert_problem(
        api.post(RETURNS, key=key, json=kit_body(kit.packed_kit_id)),
        400,
        "packed_kit_already_returning",
        f"packed kit {kit.packed_kit_id} is already on return {first['id']}",
    )
    assert field_names(problem) == ["returnPackedKits[0].id"]


def test_other_customers_device_named_beside_a_kit_stays_unknown(api: Api, key: str) -> None:
    kit = delivered_kit(api, key, ["LOAN-1"])
    [foreign] = give_devices(api, ["RC-1"], patient_id=5678, customer=demo.OTHER_CUSTOMER)
    body = kit_body(kit.packed_kit_id, returnDevices=[{"id": foreign}])
    problem = assert_problem(
        api.post(RETURNS, key=key, json=body), 400, "unknown_device", f"device {foreign} not found"
    )
    assert field_names(problem) == ["returnDevices[0].id"]


def test_packed_kit_whose_device_is_on_an_open_return_cannot_go_on_another(
    api: Api, key: str
) -> None:
    kit = delivered_kit(api, key, ["LOAN-1"])
    [device] = kit.device_ids
    first = open_return(api, key, {"patientId": 1234, "returnDevices": [{"id": device}]})
    problem = assert_problem(
        api.post(RETURNS, key=key, json=kit_body(kit.packed_kit_id)),
        400,
        "device_already_returning",
        f"packed kit {kit.packed_kit_id}: device {device} is already on return {first['id']}",
    )
    assert field_names(problem) == ["returnPackedKits[0].id"]
