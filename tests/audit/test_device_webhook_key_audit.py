"""Devices (which embed their patient), webhook subscriptions, the webhook secret and API keys:
every change is audited, and reads of devices too."""

from __future__ import annotations

import json

from tests.api.devices_support import (
    ASSOCIATE,
    DEMO_PATIENT,
    DEVICES,
    DISABLE,
    DISASSOCIATE,
    fleet,
)
from tests.audit.support import (
    CUSTOMER_PREFIX,
    account_id,
    audit_lines,
    audited,
    expected,
    without_id_and_time,
)
from tests.cli.conftest import Cli
from tests.conftest import TEST_KEYS, Api

WEBHOOK = "/api/v3/webhook"
HOOK_URL = "https://8.8.8.8/kitdesk-hook"
SECRET = "whsec-audit-never-in-the-trail-0001"


def test_associating_and_disassociating_a_device_name_the_changed_fields(
    api: Api, key: str
) -> None:
    device = fleet(api).at_site
    body = {"deviceId": device, "patientId": DEMO_PATIENT}

    response, entry = audited(api, key, "PATCH", ASSOCIATE, json=body)
    assert without_id_and_time(entry) == expected(
        response, action="device.associate", resource_type="device", account=account_id(api),
        prefix=CUSTOMER_PREFIX, resource_id=device, changed=["currentPatient", "currentStatus"],
    )  # fmt: skip

    _, entry = audited(api, key, "PATCH", DISASSOCIATE, json=body)
    assert (entry["action"], entry["resourceId"]) == ("device.disassociate", device)
    assert entry["changedFields"] == ["currentPatient", "currentStatus"]


def test_disabling_readings_and_reading_devices_are_audited(api: Api, key: str) -> None:
    devices = fleet(api)

    _, entry = audited(api, key, "PATCH", DISABLE, json={"deviceId": devices.with_patient})
    assert (entry["action"], entry["changedFields"]) == ("device.update", ["disabledReadings"])

    _, entry = audited(api, key, "GET", f"{DEVICES}/{devices.with_patient}")
    assert (entry["action"], entry["resourceId"]) == ("device.read", devices.with_patient)

    _, entry = audited(api, key, "GET", f"{DEVICES}/validate/IMEI-2")
    assert (entry["action"], entry["resourceId"]) == ("device.read", devices.with_patient)

    listed, entry = audited(api, key, "GET", f"{DEVICES}?patientId={DEMO_PATIENT}")
    assert [d["id"] for d in listed.json()["content"]] == [devices.with_patient]
    assert (entry["action"], entry["resourceIds"]) == ("device.list", [devices.with_patient])


def test_webhook_changes_and_the_secret_are_audited_without_their_values(
    api: Api, key: str
) -> None:
    demo = account_id(api)
    created, entry = audited(
        api, key, "POST", WEBHOOK, json={"type": "order.status", "url": HOOK_URL}
    )
    hook = created.json()["id"]
    assert without_id_and_time(entry) == expected(
        created, action="webhook.create", resource_type="webhook", account=demo,
        prefix=CUSTOMER_PREFIX, resource_id=hook,
    )  # fmt: skip

    _, entry = audited(api, key, "PATCH", f"{WEBHOOK}/{hook}", json={"url": HOOK_URL + "/v2"})
    assert (entry["action"], entry["changedFields"]) == ("webhook.update", ["url"])

    _, entry = audited(api, key, "DELETE", f"{WEBHOOK}/{hook}")
    assert (entry["action"], entry["resourceId"]) == ("webhook.delete", hook)

    _, entry = audited(api, key, "POST", "/api/v3/webhook-secret", json={"secret": SECRET})
    assert (entry["action"], entry["resourceId"]) == ("webhookSecret.create", demo)
    assert SECRET not in json.dumps(entry)
    assert HOOK_URL not in json.dumps(entry)


def test_the_operator_receiving_devices_is_audited_with_their_ids(api: Api, key: str) -> None:
    op = TEST_KEYS.operator
    site = api.post(
        "/api/v3/ops/fulfillment-site", key=op, json={"code": "AUD-1", "name": "Audit Hall"}
    ).json()["id"]

    response, entry = audited(
        api, op, "POST", f"/api/v3/ops/fulfillment-site/{site}/devices",
        json={"itemId": 1000, "identifiers": ["AUD-IMEI-1", "AUD-IMEI-2"]},
    )  # fmt: skip

    assert entry["action"] == "device.create"
    assert entry["resourceIds"] == [d["id"] for d in response.json()]


def test_creating_and_deactivating_keys_from_the_cli_is_audited(cli: Cli) -> None:
    account = cli.ok("accounts", "create", "Audited Clinic").split()[1]
    issued = cli.ok("keys", "create", "--account", account).splitlines()
    key_id = int(issued[0].split()[1])
    cli.ok("keys", "deactivate", str(key_id))

    trail = audit_lines(cli, "--resource-type", "apiKey")
    assert [line.split("\t")[3] for line in trail] == ["apiKey.deactivate", "apiKey.create"]
    assert all(line.split("\t")[4] == f"apiKey {key_id}" for line in trail)
    assert all(line.split("\t")[7].startswith("cli cli-") for line in trail)
    assert issued[1] not in "\n".join(trail)
    assert "changed deactivatedAt" in trail[0]
