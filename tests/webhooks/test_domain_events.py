"""Every event type Kitdesk produces arrives from a real change, in the documented envelope."""

from __future__ import annotations

from typing import Any

from kitdesk.db.base import utcnow
from tests.conftest import TEST_KEYS, Api
from tests.flows.test_order_lifecycle import move, place
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import Worker, subscribe

PATIENT = {
    "firstName": "Hook",
    "lastName": "Tester",
    "address": {
        "lineOne": "1 Elm St",
        "city": "Springfield",
        "state": "IL",
        "zipCode": "62701",
        "country": "US",
    },
    "site": {"id": 1234},
}


def deliver_all(worker: Worker) -> None:
    """Worker rounds until nothing is due (one delivery per resource and subscription a round)."""
    for _ in range(50):
        if worker.run(utcnow()) == 0:
            return
    raise AssertionError("deliveries still due after 50 rounds")


def received_by_type(receiver: Receiver) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for hit in receiver.received():
        body = hit.json()
        assert set(body) == {"id", "type", "payload"}
        out.setdefault(body["type"], []).append(body)
    return out


def test_order_events_follow_every_status_change(
    api: Api, key: str, receiver: Receiver, worker: Worker
) -> None:
    subscribe(api, key, receiver.url("/orders"), "order.status")
    subscribe(api, key, receiver.url("/orders"), "order.statusFull")
    order = place(api, key, orderItems=[{"item": {"id": 1003}, "count": 1}])
    move(api, TEST_KEYS.operator, order["id"], "processing")
    api.post(f"/api/v3/order/{order['id']}/cancel", key=key)
    deliver_all(worker)
    got = received_by_type(receiver)
    assert [e["payload"] for e in got["order.status"]] == [
        {"orderId": order["id"], "orderEventType": name}
        for name in ("received", "processing", "cancelled")
    ]
    full = got["order.statusFull"]
    assert [e["payload"]["currentStatus"] for e in full] == ["received", "processing", "cancelled"]
    assert full[0]["payload"]["id"] == order["id"]
    assert full[0]["payload"]["patient"]["id"] == 1234
    assert len({e["id"] for e in got["order.status"] + full}) == 6


def test_patient_events_carry_the_whole_patient(
    api: Api, key: str, receiver: Receiver, worker: Worker
) -> None:
    subscribe(api, key, receiver.url("/patients"), "patient.created")
    subscribe(api, key, receiver.url("/patients"), "patient.updated")
    created = api.post("/api/v3/patient", key=key, json=PATIENT).json()
    api.patch(f"/api/v3/patient/{created['id']}", key=key, json={"phoneNumber": "+1 555 0199"})
    deliver_all(worker)
    got = received_by_type(receiver)
    assert got["patient.created"][0]["payload"]["id"] == created["id"]
    assert got["patient.created"][0]["payload"]["lastName"] == "Tester"
    assert got["patient.updated"][0]["payload"]["phoneNumber"] == "+1 555 0199"


def test_device_association_events(api: Api, key: str, receiver: Receiver, worker: Worker) -> None:
    subscribe(api, key, receiver.url("/devices"), "device.associationCreated")
    subscribe(api, key, receiver.url("/devices"), "device.associationRemoved")
    order = api.post(
        "/api/v3/order",
        key=key,
        json={"site": {"id": 1234}, "orderItems": [{"item": {"id": 1001}, "count": 1}]},
    ).json()
    for status, extra in (
        ("processing", {}),
        ("packed", {}),
        ("shipped", {"trackingNumbers": [{"carrier": "UPS", "value": "H1"}]}),
        ("delivered", {}),
    ):
        assert move(api, TEST_KEYS.operator, order["id"], status, **extra).status_code == 200
    device_id = api.get(f"/api/v3/order/{order['id']}", key=key).json()["devices"][0]["id"]
    body = {"deviceId": device_id, "patientId": 1234}
    assert api.patch("/api/v3/device/associate-patient", key=key, json=body).status_code == 200
    assert api.patch("/api/v3/device/disassociate-patient", key=key, json=body).status_code == 200
    deliver_all(worker)
    got = received_by_type(receiver)
    assert got["device.associationCreated"][0]["payload"]["currentPatient"]["id"] == 1234
    removed = got["device.associationRemoved"][0]["payload"]
    assert removed["id"] == device_id
    assert removed["currentPatient"] is None


def test_return_events_follow_the_return(
    api: Api, key: str, receiver: Receiver, worker: Worker
) -> None:
    subscribe(api, key, receiver.url("/returns"), "return.statusFull")
    order = api.post(
        "/api/v3/order",
        key=key,
        json={"site": {"id": 1234}, "orderItems": [{"item": {"id": 1002}, "count": 1}]},
    ).json()
    for status, extra in (
        ("processing", {}),
        ("packed", {}),
        ("shipped", {"trackingNumbers": [{"carrier": "UPS", "value": "R1"}]}),
        ("delivered", {}),
    ):
        move(api, TEST_KEYS.operator, order["id"], status, **extra)
    device_id = api.get(f"/api/v3/order/{order['id']}", key=key).json()["devices"][0]["id"]
    ret = api.post(
        "/api/v3/return", key=key, json={"siteId": 1234, "returnDevices": [{"id": device_id}]}
    )
    assert ret.status_code == 201, ret.text
    api.post(
        f"/api/v3/ops/return/{ret.json()['id']}/status",
        key=TEST_KEYS.operator,
        json={"status": "inTransit"},
    )
    deliver_all(worker)
    got = received_by_type(receiver)["return.statusFull"]
    assert [e["payload"]["currentStatus"] for e in got] == ["requested", "inTransit"]
    assert got[0]["payload"]["id"] == ret.json()["id"]


def test_no_subscription_means_no_event_is_stored(api: Api, key: str) -> None:
    from sqlalchemy import func, select

    from kitdesk.db.models import WebhookEvent

    place(api, key, orderItems=[{"item": {"id": 1003}, "count": 1}])
    count = api.call(lambda s: s.scalar(select(func.count()).select_from(WebhookEvent)))
    assert count == 0
