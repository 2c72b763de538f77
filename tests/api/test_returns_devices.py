"""What may be returned: only devices the customer holds, from where they are; catalog items."""

from __future__ import annotations

import pytest

from kitdesk.domain import demo
from kitdesk.domain.devices.states import DeviceStatus
from tests.api.orders_support import new_patient, new_site
from tests.api.returns_support import (
    OPS_RETURNS,
    RETURNS,
    device_refs,
    field_names,
    give_devices,
    open_return,
    set_device,
    stock_devices,
)
from tests.conftest import Api, assert_problem


def refused(api: Api, key: str, body: dict[str, object], code: str, message: str) -> list[str]:
    """POST a return that must be refused with this 400 and write nothing; returns its fields."""
    problem = assert_problem(api.post(RETURNS, key=key, json=body), 400, code, message)
    assert api.get(RETURNS, key=key).json()["total"] == 0
    return field_names(problem)


def test_another_customers_device_answers_as_unknown(api: Api, key: str) -> None:
    [foreign] = give_devices(api, ["RC-1"], patient_id=5678, customer=demo.OTHER_CUSTOMER)
    body = {"patientId": 1234, "returnDevices": device_refs(foreign)}
    assert refused(api, key, body, "unknown_device", f"device {foreign} not found") == [
        "returnDevices[0].id"
    ]
    by_identifier = {"patientId": 1234, "returnDevices": [{"deviceIdentifier": "RC-1"}]}
    assert refused(api, key, by_identifier, "unknown_device", "device RC-1 not found") == [
        "returnDevices[0].deviceIdentifier"
    ]


def test_device_still_in_the_warehouse_answers_as_unknown(api: Api, key: str) -> None:
    [in_stock] = stock_devices(api, 1000, ["WH-1"])
    body = {"siteId": 1234, "returnDevices": device_refs(in_stock)}
    refused(api, key, body, "unknown_device", f"device {in_stock} not found")


@pytest.mark.parametrize(
    "status", [DeviceStatus.IN_TRANSIT, DeviceStatus.RETURN_IN_TRANSIT, DeviceStatus.LOST]
)
def test_device_the_customer_does_not_hold_cannot_be_returned(
    api: Api, key: str, status: DeviceStatus
) -> None:
    [device] = give_devices(api, ["BP-1"], site_id=1234, status=status)
    body = {"siteId": 1234, "returnDevices": device_refs(device)}
    message = f"device {device} cannot be returned: it is {status.value}"
    assert refused(api, key, body, "device_not_returnable", message) == ["returnDevices[0].id"]


def test_patient_returns_devices_with_them_or_at_their_site(api: Api, key: str) -> None:
    [with_patient] = give_devices(api, ["BP-1"], patient_id=1234)
    [at_site] = give_devices(api, ["BP-2"], site_id=1234)
    body = {"patientId": 1234, "returnDevices": device_refs(with_patient, at_site)}
    created = open_return(api, key, body)
    assert [d["id"] for d in created["returnDevices"]] == [with_patient, at_site]


def test_patient_cannot_return_another_patients_device_or_one_at_another_site(
    api: Api, key: str
) -> None:
    other_patient = new_patient(api, key)
    annex = new_site(api, key)
    [elsewhere] = give_devices(api, ["BP-1"], patient_id=other_patient)
    [at_annex] = give_devices(api, ["BP-2"], site_id=annex)
    body = {"patientId": 1234, "returnDevices": device_refs(elsewhere, at_annex)}
    problem = assert_problem(
        api.post(RETURNS, key=key, json=body),
        400,
        "device_not_with_sender",
        f"device {elsewhere} is not with patient 1234 or at the patient's site",
    )
    assert problem["errors"] == [
        {
            "field": "returnDevices[0].id",
            "message": f"device {elsewhere} is not with patient 1234 or at the patient's site",
        },
        {
            "field": "returnDevices[1].id",
            "message": f"device {at_annex} is not with patient 1234 or at the patient's site",
        },
    ]


def test_site_returns_devices_at_that_site_only(api: Api, key: str) -> None:
    annex = new_site(api, key)
    [at_site] = give_devices(api, ["BP-1"], site_id=1234)
    [with_patient_at_site] = give_devices(api, ["BP-2"], patient_id=1234)
    [at_annex] = give_devices(api, ["BP-3"], site_id=annex)
    body = {"siteId": 1234, "returnDevices": device_refs(at_annex)}
    message = f"device {at_annex} is not at site 1234"
    assert refused(api, key, body, "device_not_with_sender", message) == ["returnDevices[0].id"]
    created = open_return(
        api, key, {"siteId": 1234, "returnDevices": device_refs(at_site, with_patient_at_site)}
    )
    assert [d["id"] for d in created["returnDevices"]] == [at_site, with_patient_at_site]


def test_same_device_twice_is_refused_even_under_two_names(api: Api, key: str) -> None:
    [device] = give_devices(api, ["BP-1"], site_id=1234)
    body = {"siteId": 1234, "returnDevices": [{"id": device}, {"deviceIdentifier": "BP-1"}]}
    message = "device BP-1 appears more than once in returnDevices"
    fields = refused(api, key, body, "duplicate_device", message)
    assert fields == ["returnDevices[1].deviceIdentifier"]


def test_device_on_an_open_return_cannot_go_on_another(
    api: Api, key: str, demo_keys: demo.DemoKeys
) -> None:
    [device] = give_devices(api, ["BP-1"], site_id=1234)
    body = {"siteId": 1234, "returnDevices": device_refs(device)}
    first = open_return(api, key, body)
    problem = assert_problem(
        api.post(RETURNS, key=key, json=body),
        400,
        "device_already_returning",
        f"device {device} is already on return {first['id']}",
    )
    assert field_names(problem) == ["returnDevices[0].id"]
    cancel = api.post(
        f"{OPS_RETURNS}/{first['id']}/status", key=demo_keys.operator, json={"status": "cancelled"}
    )
    assert cancel.status_code == 200, cancel.text
    assert open_return(api, key, body)["returnDevices"][0]["id"] == device


def test_device_back_at_the_warehouse_is_unknown_to_its_old_customer(api: Api, key: str) -> None:
    [device] = give_devices(api, ["BP-1"], site_id=1234)
    set_device(api, device, account_id=None, current_status="returned", site_id=None)
    body = {"siteId": 1234, "returnDevices": device_refs(device)}
    refused(api, key, body, "unknown_device", f"device {device} not found")


def test_items_outside_the_customers_catalog_are_unknown(api: Api, other_key: str) -> None:
    body = {"siteId": 5678, "returnItems": [{"item": {"id": 1005}, "count": 1}]}
    fields = refused(api, other_key, body, "unknown_item", "item 1005 not found")
    assert fields == ["returnItems[0].item.id"]


def test_serialized_items_come_back_as_devices_not_counts(api: Api, key: str) -> None:
    body = {"siteId": 1234, "returnItems": [{"item": {"id": 1000}, "count": 2}]}
    message = "item 1000 is serialized: return its devices in returnDevices"
    assert refused(api, key, body, "serialized_item", message) == ["returnItems[0].item.id"]


def test_same_item_twice_is_refused(api: Api, key: str) -> None:
    line = {"item": {"id": 1003}, "count": 1}
    body = {"siteId": 1234, "returnItems": [line, line]}
    message = "item 1003 appears more than once in returnItems; give it once with a count"
    assert refused(api, key, body, "duplicate_item", message) == ["returnItems[1].item.id"]
