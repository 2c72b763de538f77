"""Disabling and enabling a device's readings."""

from __future__ import annotations

from typing import Any

import pytest

from kitdesk.domain.devices.states import DeviceStatus
from tests.api.devices_support import (
    DEVICES,
    DISABLE,
    ENABLE,
    events,
    fleet,
    hand_over,
    ok,
)
from tests.conftest import Api, assert_problem


def fetch(api: Api, key: str, device: int) -> dict[str, Any]:
    return ok(api.get(f"{DEVICES}/{device}", key=key))


def test_readings_are_disabled_then_enabled_again_each_with_an_event(api: Api, key: str) -> None:
    devices = fleet(api)
    before = fetch(api, key, devices.with_patient)

    disabled = ok(api.patch(DISABLE, key=key, json={"deviceId": devices.with_patient}))
    enabled = ok(api.patch(ENABLE, key=key, json={"deviceIdentifier": "IMEI-2"}))

    assert (disabled["disabledReadings"], enabled["disabledReadings"]) == (True, False)
    assert events(disabled) == ["received", "readingsDisabled"]
    assert events(enabled) == ["received", "readingsDisabled", "readingsEnabled"]
    unchanged = ("currentStatus", "currentPatient", "site", "deviceIdentifiers", "createdAt")
    assert all(enabled[name] == before[name] for name in unchanged)
    assert fetch(api, key, devices.with_patient) == enabled


@pytest.mark.parametrize(
    "status", [DeviceStatus.AVAILABLE_AT_SITE, DeviceStatus.IN_TRANSIT, DeviceStatus.RETURNED]
)
def test_readings_can_be_disabled_whatever_the_customers_device_is_doing(
    api: Api, key: str, status: DeviceStatus
) -> None:
    devices = fleet(api)
    hand_over(api, devices.at_site, status=status)

    body = ok(api.patch(DISABLE, key=key, json={"deviceIdentifier": "IMEI-1"}))

    assert (body["currentStatus"], body["disabledReadings"]) == (status.value, True)


def test_disabling_disabled_readings_is_409_and_changes_nothing(api: Api, key: str) -> None:
    devices = fleet(api)
    ok(api.patch(DISABLE, key=key, json={"deviceId": devices.at_site}))
    before = fetch(api, key, devices.at_site)

    response = api.patch(DISABLE, key=key, json={"deviceId": devices.at_site})

    assert_problem(
        response,
        409,
        "readings_already_disabled",
        f"readings of device {devices.at_site} are already disabled",
    )
    assert fetch(api, key, devices.at_site) == before


def test_enabling_enabled_readings_is_409_and_changes_nothing(api: Api, key: str) -> None:
    devices = fleet(api)
    before = fetch(api, key, devices.at_site)

    response = api.patch(ENABLE, key=key, json={"deviceIdentifier": "IMEI-1"})

    assert_problem(
        response,
        409,
        "readings_already_enabled",
        f"readings of device {devices.at_site} are already enabled",
    )
    assert fetch(api, key, devices.at_site) == before


@pytest.mark.parametrize("path", [DISABLE, ENABLE])
@pytest.mark.parametrize("which", ["in_stock", "other"])
def test_warehouse_and_other_customers_devices_are_404_like_unknown_ones(
    api: Api, key: str, other_key: str, path: str, which: str
) -> None:
    devices = fleet(api)
    device = getattr(devices, which)
    identifier = {"in_stock": "IMEI-3", "other": "IMEI-4"}[which]

    by_id = api.patch(path, key=key, json={"deviceId": device})
    by_identifier = api.patch(path, key=key, json={"deviceIdentifier": identifier})
    unknown = api.patch(path, key=key, json={"deviceId": 999999})

    assert_problem(by_id, 404, "not_found", f"device {device} not found")
    assert_problem(
        by_identifier, 404, "not_found", f"device with identifier '{identifier}' not found"
    )
    assert_problem(unknown, 404, "not_found", "device 999999 not found")
    if which == "other":
        assert fetch(api, other_key, device)["disabledReadings"] is False
