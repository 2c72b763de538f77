"""Loaner kits out: delivered loaner kits whose devices are not all back, and for how long."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from kitdesk.db.base import utcnow
from kitdesk.domain import demo
from kitdesk.domain.devices.states import DeviceStatus
from tests.api.orders_support import add_loaner_kit
from tests.api.returns_support import account_id, delivered_kit, set_device
from tests.conftest import Api, assert_problem

LOANERS = "/api/v3/loaner"
OPS_LOANERS = "/api/v3/ops/loaner"


def loaners(api: Api, key: str, path: str = LOANERS) -> list[dict[str, Any]]:
    response = api.get(path, key=key)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: list[dict[str, Any]] = response.json()
    return body


def test_delivered_loaner_kit_is_out_with_days_since_delivery(api: Api, key: str) -> None:
    delivered_at = utcnow() - timedelta(days=3, hours=1)
    kit = delivered_kit(api, key, ["LOAN-1"], delivered_at=delivered_at)
    [out] = loaners(api, key)
    assert set(out) == {
        "orderId",
        "packedKitId",
        "kit",
        "patient",
        "deliveredAt",
        "daysOut",
        "devices",
        "outstanding",
    }
    assert (out["orderId"], out["packedKitId"]) == (kit.order_id, kit.packed_kit_id)
    assert (out["kit"]["id"], out["kit"]["loaner"]) == (1004, True)
    assert out["patient"]["id"] == 1234
    assert out["deliveredAt"] == delivered_at.isoformat().replace("+00:00", "Z")
    assert out["daysOut"] == 3
    assert [d["id"] for d in out["devices"]] == kit.device_ids
    assert out["outstanding"] == kit.device_ids


def test_kits_are_listed_longest_out_first(api: Api, key: str) -> None:
    second_loaner = add_loaner_kit(api)
    recent = delivered_kit(api, key, ["LOAN-1"], delivered_at=utcnow() - timedelta(hours=5))
    old = delivered_kit(
        api, key, ["SC-1"], kit_id=second_loaner, delivered_at=utcnow() - timedelta(days=20)
    )
    listed = loaners(api, key)
    assert [(o["packedKitId"], o["daysOut"]) for o in listed] == [
        (old.packed_kit_id, 20),
        (recent.packed_kit_id, 0),
    ]
    assert listed[0]["kit"]["id"] == second_loaner


def test_kits_that_are_not_loaners_or_not_delivered_are_not_listed(api: Api, key: str) -> None:
    delivered_kit(api, key, ["GM-1"], kit_id=1002)
    delivered_kit(api, key, ["LOAN-1"], delivered=False)
    assert loaners(api, key) == []


def test_device_on_its_way_back_is_still_outstanding(api: Api, key: str) -> None:
    kit = delivered_kit(api, key, ["LOAN-1"])
    [device] = kit.device_ids
    set_device(api, device, current_status=DeviceStatus.RETURN_IN_TRANSIT.value)
    [out] = loaners(api, key)
    assert out["outstanding"] == [device]
    assert out["devices"][0]["currentStatus"] == "returnInTransit"


def test_kit_whose_devices_are_all_back_is_no_longer_out(api: Api, key: str) -> None:
    kit = delivered_kit(api, key, ["LOAN-1"])
    [device] = kit.device_ids
    set_device(
        api,
        device,
        current_status=DeviceStatus.RETURNED.value,
        account_id=None,
        order_id=None,
        current_patient_id=None,
        site_id=None,
    )
    assert loaners(api, key) == []


def test_device_shipped_again_on_a_later_order_does_not_keep_the_old_kit_out(
    api: Api, key: str
) -> None:
    kit = delivered_kit(api, key, ["LOAN-1"])
    later = delivered_kit(api, key, ["LOAN-2"])
    [device] = kit.device_ids
    # Back, inspected and shipped to the same patient on the later order.
    set_device(api, device, order_id=later.order_id)
    assert [o["packedKitId"] for o in loaners(api, key)] == [later.packed_kit_id]


def test_customers_see_only_their_loaners_and_the_operator_sees_all(
    api: Api, key: str, other_key: str, demo_keys: demo.DemoKeys
) -> None:
    kit = delivered_kit(api, key, ["LOAN-1"])
    assert loaners(api, other_key) == []
    everything = loaners(api, demo_keys.operator, OPS_LOANERS)
    assert [o["packedKitId"] for o in everything] == [kit.packed_kit_id]
    demo_account = api.call(lambda s: account_id(s, demo.DEMO_CUSTOMER))
    other_account = api.call(lambda s: account_id(s, demo.OTHER_CUSTOMER))
    mine = loaners(api, demo_keys.operator, f"{OPS_LOANERS}?accountId={demo_account}")
    assert [o["packedKitId"] for o in mine] == [kit.packed_kit_id]
    assert loaners(api, demo_keys.operator, f"{OPS_LOANERS}?accountId={other_account}") == []


def test_loaner_list_needs_a_key(api: Api) -> None:
    assert_problem(api.get(LOANERS), 401, "unauthorized")
