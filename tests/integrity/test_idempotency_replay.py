"""Idempotency-Key: a retried POST is answered with the first response, and done once."""

from __future__ import annotations

import json

from kitdesk.domain.demo import DemoKeys
from tests.conftest import Api, assert_problem
from tests.integrity.support import (
    DEMO_ACCOUNT,
    MSG_REUSED,
    ORDERS,
    OTHER_ACCOUNT,
    idem,
    order_body,
    order_count,
    reserved,
    stored_keys,
)


def test_a_retried_order_is_replayed_byte_for_byte_and_placed_once(api: Api, key: str) -> None:
    before = reserved(api)
    first = api.post(ORDERS, key=key, json=order_body(), headers=idem("order-7f3a"))
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    for _ in range(3):
        again = api.post(ORDERS, key=key, json=order_body(), headers=idem("order-7f3a"))
        assert again.status_code == 201
        assert again.content == first.content
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["content-type"] == first.headers["content-type"]
    assert order_count(api) == 1
    assert reserved(api) == before + 2
    assert stored_keys(api) == [(DEMO_ACCOUNT, "order-7f3a", "stored")]


def test_the_same_json_written_differently_counts_as_the_same_request(api: Api, key: str) -> None:
    first = api.post(ORDERS, key=key, json=order_body(), headers=idem("k-1"))
    body = dict(reversed(list(order_body().items())))
    again = api.post(
        ORDERS,
        key=key,
        content=json.dumps(body, indent=4).encode(),
        headers={**idem("k-1"), "Content-Type": "application/json"},
    )
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert order_count(api) == 1


def test_a_key_reused_with_a_different_body_is_refused_and_changes_nothing(
    api: Api, key: str
) -> None:
    first = api.post(ORDERS, key=key, json=order_body(count=2), headers=idem("k-2"))
    other = api.post(ORDERS, key=key, json=order_body(count=3), headers=idem("k-2"))
    assert_problem(other, 422, "idempotency_key_reused", MSG_REUSED)
    assert "idempotent-replayed" not in other.headers
    assert order_count(api) == 1
    again = api.post(ORDERS, key=key, json=order_body(count=2), headers=idem("k-2"))
    assert again.content == first.content


def test_a_key_reused_on_another_endpoint_is_refused(api: Api, key: str) -> None:
    assert api.post(ORDERS, key=key, json=order_body(), headers=idem("k-3")).status_code == 201
    site = {"name": "Annex"}
    r = api.post("/api/v3/site", key=key, json=site, headers=idem("k-3"))
    assert_problem(r, 422, "idempotency_key_reused", MSG_REUSED)
    assert api.get("/api/v3/site", key=key).json()["total"] == 1


def test_two_accounts_may_use_the_same_key_each_for_its_own_request(
    api: Api, key: str, other_key: str
) -> None:
    mine = api.post(ORDERS, key=key, json=order_body(), headers=idem("shared"))
    theirs = api.post(
        ORDERS, key=other_key, json=order_body(patient_id=5678), headers=idem("shared")
    )
    assert mine.status_code == theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["patient"]["id"] == 5678
    again = api.post(ORDERS, key=key, json=order_body(), headers=idem("shared"))
    assert again.content == mine.content
    assert sorted(a for a, _, _ in stored_keys(api)) == [DEMO_ACCOUNT, OTHER_ACCOUNT]


def test_the_same_body_sent_for_another_account_is_not_replayed_to_it(
    api: Api, key: str, other_key: str
) -> None:
    api.post(ORDERS, key=key, json=order_body(), headers=idem("same-everything"))
    foreign = api.post(ORDERS, key=other_key, json=order_body(), headers=idem("same-everything"))
    # The other customer has no patient 1234: its own request fails, nothing of ours leaks.
    assert_problem(foreign, 400, "unknown_patient", "patient 1234 not found")
    assert order_count(api) == 1


def test_without_a_key_every_post_is_a_new_request(api: Api, key: str) -> None:
    first = api.post(ORDERS, key=key, json=order_body())
    second = api.post(ORDERS, key=key, json=order_body())
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert stored_keys(api) == []


def test_an_operator_state_move_is_replayed_not_repeated(
    api: Api, key: str, demo_keys: DemoKeys
) -> None:
    order = api.post(ORDERS, key=key, json=order_body()).json()
    path = f"/api/v3/ops/order/{order['id']}/status"
    move = {"status": "processing"}
    first = api.post(path, key=demo_keys.operator, json=move, headers=idem("move-1"))
    assert first.status_code == 200, first.text
    again = api.post(path, key=demo_keys.operator, json=move, headers=idem("move-1"))
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    events = [e["name"] for e in api.get(f"{ORDERS}/{order['id']}", key=key).json()["orderEvents"]]
    assert events == ["received", "processing"]
    # Without the key the same move runs again, and is refused as illegal.
    repeated = api.post(path, key=demo_keys.operator, json=move)
    assert repeated.status_code == 409


def test_a_customer_cancel_with_a_key_is_replayed(api: Api, key: str) -> None:
    order = api.post(ORDERS, key=key, json=order_body()).json()
    path = f"{ORDERS}/{order['id']}/cancel"
    first = api.post(path, key=key, headers=idem("cancel-1"))
    assert first.status_code == 200, first.text
    assert first.json()["currentStatus"] == "cancelled"
    again = api.post(path, key=key, headers=idem("cancel-1"))
    assert again.status_code == 200
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"


def test_every_api_post_documents_the_idempotency_key_header(api: Api) -> None:
    doc = api.get("/openapi.json").json()
    posts = [(p, ops["post"]) for p, ops in doc["paths"].items() if "post" in ops]
    assert len(posts) >= 10
    for path, op in posts:
        names = [p["name"] for p in op.get("parameters", [])]
        assert "Idempotency-Key" in names, path
        assert "application/problem+json" in op["responses"]["409"]["content"], path
