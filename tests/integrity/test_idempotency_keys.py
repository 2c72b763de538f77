"""Idempotency-Key format: 1 to 255 printable ASCII characters, sent once; else 400, no effect."""

from __future__ import annotations

import pytest

from tests.conftest import Api, assert_problem
from tests.integrity.support import (
    DEMO_ACCOUNT,
    MSG_BAD_KEY,
    ORDERS,
    order_body,
    order_count,
    stored_keys,
)

BAD_KEYS = {
    "empty": b"",
    "256 characters": b"k" * 256,
    "a tab": b"key\twith-tab",
    "a control character": b"key\x01",
    "DEL": b"key\x7f",
    "non-ASCII": "clé".encode(),
}


@pytest.mark.parametrize("raw", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_a_malformed_key_is_refused_before_anything_happens(api: Api, key: str, raw: bytes) -> None:
    r = api.post(ORDERS, key=key, json=order_body(), headers=[("Idempotency-Key", raw)])
    assert_problem(r, 400, "invalid_idempotency_key", MSG_BAD_KEY)
    assert order_count(api) == 0
    assert stored_keys(api) == []


def test_two_key_headers_are_refused(api: Api, key: str) -> None:
    # Straight to the client: Api.request keeps one value per header name.
    headers = [("Impilo-API-Key", key), ("Idempotency-Key", "one"), ("Idempotency-Key", "two")]
    r = api.client.post(ORDERS, json=order_body(), headers=headers)
    assert_problem(r, 400, "invalid_idempotency_key", "send at most one Idempotency-Key header")
    assert order_count(api) == 0


def test_a_key_of_255_printable_characters_with_spaces_and_symbols_is_accepted(
    api: Api, key: str
) -> None:
    long_key = ("a b~!{}" * 40)[:255]
    first = api.post(ORDERS, key=key, json=order_body(), headers=[("Idempotency-Key", long_key)])
    assert first.status_code == 201, first.text
    again = api.post(ORDERS, key=key, json=order_body(), headers=[("Idempotency-Key", long_key)])
    assert again.headers["idempotent-replayed"] == "true"
    assert stored_keys(api) == [(DEMO_ACCOUNT, long_key, "stored")]


def test_a_key_on_a_request_that_is_not_a_post_is_ignored(api: Api, key: str) -> None:
    r = api.get(ORDERS, key=key, headers=[("Idempotency-Key", "été".encode())])
    assert r.status_code == 200
    assert stored_keys(api) == []
