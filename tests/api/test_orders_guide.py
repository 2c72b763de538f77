"""The Order Management Guide's two create-order examples, sent as the guide prints them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.api.orders_support import ORDERS
from tests.conftest import Api

# The guide's `curl -d` payloads, byte for byte.
GUIDE_PATIENT_ORDER = """{
 "externalOrderIds": [
 "xyz_123_0",
 "xyz_123_1",
 "xyz_123_2",
 "xyz_123_3"
 ],
 "patient": {
 "id": 1234,
 "sex": "unknown"
 },
 "orderItems": [
 {
 "item": {
 "id": 1000
 },
 "count": 10
 },
 {
 "item": {
 "id": 1001
 },
 "count": 10
 },
 {
 "item": {
 "id": 1002
 },
 "count": 10
 },
 {
 "item": {
 "id": 1003
 },
 "count": 10
 }
 ],
 "orderKits": [
 {
 "kit": {
 "id": 1000
 },
 "count": 10
 },
 {
 "kit": {
 "id": 1001
 },
 "count": 10
 },
 {
 "kit": {
 "id": 1002
 },
 "count": 10
 },
 {
 "kit": {
 "id": 1003
 },
 "count": 10
 }
 ],
 "shippingOption": "standard"
}"""

GUIDE_SITE_ORDER = """{
 "externalOrderIds": [
 "xyz_123_0",
 "xyz_123_1",
 "xyz_123_2",
 "xyz_123_3"
 ],
 "site": {
 "id": 1234
 },
 "orderItems": [
 {
 "item": {
 "id": 1000
 },
 "count": 10
 },
 {
 "item": {
 "id": 1001
 },
 "count": 10
 },
 {
 "item": {
 "id": 1002
 },
 "count": 10
 },
 {
 "item": {
 "id": 1003
 },
 "count": 10
 }
 ],
 "orderKits": [
 {
 "kit": {
 "id": 1000
 },
 "count": 10
 },
 {
 "kit": {
 "id": 1001
 },
 "count": 10
 },
 {
 "kit": {
 "id": 1002
 },
 "count": 10
 },
 {
 "kit": {
 "id": 1003
 },
 "count": 10
 }
 ],
 "shippingOption": "standard"
}"""

ORDER_FIELDS = {
    "id",
    "externalOrderIds",
    "patient",
    "site",
    "currentStatus",
    "shippingOption",
    "emailLabel",
    "orderItems",
    "orderKits",
    "orderNotes",
    "orderEvents",
    "trackingNumbers",
    "devices",
    "packedKits",
    "returnDevices",
    "returnItems",
    "returnPackedKits",
    "returnId",
    "createdAt",
    "updatedAt",
}
ITEM_FIELDS = {
    "id",
    "name",
    "model",
    "sku",
    "manufacturer",
    "orderable",
    "deviceIdentifierType",
    "itemClass",
    "itemClassType",
    "size",
    "readingType",
    "dimensions",
    "itemCertifications",
}
DEMO_ADDRESS = {
    "lineOne": "100 Main Street",
    "lineTwo": None,
    "lineThree": None,
    "city": "Springfield",
    "state": "IL",
    "zipCode": "62701",
    "country": "US",
    "note": None,
}
DEMO_PATIENT = {
    "id": 1234,
    "externalIdentifier": "demo-1234",
    "firstName": "Alex",
    "lastName": "Demo",
    "dateOfBirth": "1960-04-02",
    "email": "alex.demo@example.com",
    "phoneNumber": "+1 217 555 0123",
    "archived": False,
    "enrolled": True,
    "sex": "unknown",
    "address": DEMO_ADDRESS,
    "site": {"id": 1234, "name": "Demo Clinic Main Office", "active": True},
}
DEMO_SITE = {
    "id": 1234,
    "name": "Demo Clinic Main Office",
    "active": True,
    "phoneNumber": "+1 217 555 0100",
    "address": DEMO_ADDRESS,
}
# kit id -> [(item id, count)] as the demo catalog defines them
DEMO_KIT_LINES = {
    1000: [(1000, 1), (1005, 1)],
    1001: [(1001, 1), (1005, 1)],
    1002: [(1002, 1), (1003, 2)],
    1003: [(1000, 1), (1001, 1), (1002, 1), (1003, 1)],
}


def post_raw(api: Api, key: str, payload: str) -> Any:
    return api.post(
        ORDERS, key=key, content=payload.encode(), headers={"Content-Type": "application/json"}
    )


def assert_utc_timestamp(value: str) -> None:
    assert datetime.fromisoformat(value).utcoffset() is not None, value


def without_timestamps(record: dict[str, Any]) -> dict[str, Any]:
    assert_utc_timestamp(record["createdAt"])
    assert_utc_timestamp(record["updatedAt"])
    return {k: v for k, v in record.items() if k not in ("createdAt", "updatedAt")}


def assert_full_item(item: dict[str, Any], item_id: int) -> None:
    assert set(item) == ITEM_FIELDS
    assert item["id"] == item_id
    assert item["sku"] == f"KD-{item_id}"
    assert item["orderable"] is True


def assert_guide_content(order: dict[str, Any]) -> None:
    lines = order["orderItems"]
    assert [(line["item"]["id"], line["count"]) for line in lines] == [
        (1000, 10),
        (1001, 10),
        (1002, 10),
        (1003, 10),
    ]
    for line in lines:
        assert_full_item(line["item"], line["item"]["id"])
    assert lines[0]["item"]["name"] == "Blood pressure monitor"
    assert lines[0]["item"]["manufacturer"]["name"] == "Acme Medical"
    assert lines[0]["item"]["deviceIdentifierType"] == "imei"
    assert [line["count"] for line in order["orderKits"]] == [10, 10, 10, 10]
    for line in order["orderKits"]:
        kit = line["kit"]
        assert set(kit) == {"id", "name", "archived", "loaner", "kitItems"}
        assert kit["archived"] is False
        assert kit["loaner"] is False
        got = [(entry["item"]["id"], entry["count"]) for entry in kit["kitItems"]]
        assert got == DEMO_KIT_LINES[kit["id"]]
        for entry in kit["kitItems"]:
            assert_full_item(entry["item"], entry["item"]["id"])
    assert [line["kit"]["id"] for line in order["orderKits"]] == [1000, 1001, 1002, 1003]


def assert_guide_order(order: dict[str, Any]) -> None:
    """The documented Order shape, as a freshly placed guide order fills it."""
    assert set(order) == ORDER_FIELDS
    assert isinstance(order["id"], int)
    assert order["externalOrderIds"] == ["xyz_123_0", "xyz_123_1", "xyz_123_2", "xyz_123_3"]
    assert order["currentStatus"] == "received"
    assert order["shippingOption"] == "standard"
    assert order["emailLabel"] is False
    assert order["orderNotes"] == []
    assert [event["name"] for event in order["orderEvents"]] == ["received"]
    assert set(order["orderEvents"][0]) == {"name", "eventTimestamp"}
    assert_utc_timestamp(order["orderEvents"][0]["eventTimestamp"])
    for empty in ("trackingNumbers", "devices", "packedKits"):
        assert order[empty] == []
    for empty in ("returnDevices", "returnItems", "returnPackedKits"):
        assert order[empty] == []
    assert order["returnId"] is None
    assert_utc_timestamp(order["createdAt"])
    assert_utc_timestamp(order["updatedAt"])
    assert_guide_content(order)


def test_guide_patient_order_is_created_with_the_documented_order_shape(api: Api, key: str) -> None:
    response = post_raw(api, key, GUIDE_PATIENT_ORDER)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    order = response.json()
    assert_guide_order(order)
    assert without_timestamps(order["patient"]) == DEMO_PATIENT
    assert order["site"] is None


def test_guide_site_order_is_created_with_the_documented_order_shape(api: Api, key: str) -> None:
    response = post_raw(api, key, GUIDE_SITE_ORDER)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    order = response.json()
    assert_guide_order(order)
    assert without_timestamps(order["site"]) == DEMO_SITE
    assert order["patient"] is None


@pytest.mark.parametrize(
    "payload", [GUIDE_PATIENT_ORDER, GUIDE_SITE_ORDER], ids=["patient", "site"]
)
def test_guide_example_sent_twice_creates_two_orders_with_the_same_external_ids(
    api: Api, key: str, payload: str
) -> None:
    first = post_raw(api, key, payload)
    second = post_raw(api, key, payload)
    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert second.json()["id"] != first.json()["id"]
    assert second.json()["externalOrderIds"] == first.json()["externalOrderIds"]
    assert_guide_order(second.json())


@pytest.mark.parametrize(
    "payload", [GUIDE_PATIENT_ORDER, GUIDE_SITE_ORDER], ids=["patient", "site"]
)
def test_fetching_a_guide_order_returns_exactly_the_created_body(
    api: Api, key: str, payload: str
) -> None:
    created = post_raw(api, key, payload).json()
    response = api.get(f"{ORDERS}/{created['id']}", key=key)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == created


def test_guide_orders_are_listed_exactly_as_created(api: Api, key: str) -> None:
    created = [post_raw(api, key, p).json() for p in (GUIDE_PATIENT_ORDER, GUIDE_SITE_ORDER) * 2]
    response = api.get(ORDERS, key=key)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "content": created,
        "page": 1,
        "size": 15,
        "total": 4,
        "first": True,
        "last": True,
    }


def test_guide_orders_are_found_by_their_reused_external_order_id(api: Api, key: str) -> None:
    created = [post_raw(api, key, p).json()["id"] for p in (GUIDE_PATIENT_ORDER, GUIDE_SITE_ORDER)]
    response = api.get(f"{ORDERS}?externalOrderId=xyz_123_2", key=key)
    assert response.status_code == 200, response.text
    assert [order["id"] for order in response.json()["content"]] == created
