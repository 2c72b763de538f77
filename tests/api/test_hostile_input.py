"""Hostile request bodies get a clear 4xx problem, never a 500, and nothing is written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kitdesk.api.app import create_app
from kitdesk.api.guards import MAX_JSON_DEPTH
from kitdesk.settings import Settings
from tests.api.hostile_support import (
    ADDRESS,
    JSON,
    ORDER,
    ORDERS,
    PATIENT,
    PATIENTS,
    SITES,
    assert_nothing_written,
    assert_refused,
    invalid,
)
from tests.conftest import Api

MIB = 1024 * 1024
TOO_LARGE = f"the request body is larger than {MIB} bytes"
NOT_JSON = "request bodies must be JSON, sent with Content-Type: application/json"
MULTIPART = b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b--"
TOO_DEEP = invalid("body", f"is nested too deeply (at most {MAX_JSON_DEPTH} levels)")


def padded(body: dict[str, object], size: int) -> bytes:
    """``body`` as JSON, made ``size`` bytes long with whitespace."""
    text = json.dumps(body).encode()
    return text + b" " * (size - len(text))


def test_a_body_declared_larger_than_one_mib_is_413_before_it_is_read(api: Api, key: str) -> None:
    r = api.post(SITES, key=key, content=padded({"name": "Too big"}, MIB + 1), headers=JSON)

    assert_refused(r, 413, "payload_too_large", TOO_LARGE)
    assert_nothing_written(api, key)


def test_a_body_of_exactly_one_mib_is_read(api: Api, key: str) -> None:
    r = api.post(SITES, key=key, content=padded({"name": "Just fits"}, MIB), headers=JSON)

    assert r.status_code == 201, r.text
    assert r.json()["name"] == "Just fits"


def test_a_chunked_body_without_content_length_is_counted_and_refused(api: Api, key: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "Streamed"'
        for _ in range(2 * 1024):
            yield b" " * 1024
        yield b"}"

    r = api.post(SITES, key=key, content=chunks(), headers=JSON)

    assert r.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in r.request.headers
    assert_refused(r, 413, "payload_too_large", TOO_LARGE)
    assert_nothing_written(api, key)


def test_the_body_limit_is_the_max_body_bytes_setting(database_url: str, tmp_path: Path) -> None:
    app = create_app(Settings(database_url=database_url, max_body_bytes=64))
    with TestClient(app, raise_server_exceptions=False) as client:
        refused = client.post(SITES, content=padded({"name": "x"}, 65), headers=JSON)
        passed = client.post(SITES, content=padded({"name": "x"}, 64), headers=JSON)

    assert_refused(refused, 413, "payload_too_large", "the request body is larger than 64 bytes")
    # Within the limit the request goes on, here to the missing key's 401.
    assert passed.status_code == 401


@pytest.mark.parametrize(
    ("opening", "closing"),
    [(b"[" * 10_000, b"]" * 10_000), (b'{"a":' * 10_000 + b"1", b"}" * 10_000)],
    ids=["arrays", "objects"],
)
def test_deeply_nested_json_is_400_not_a_recursion_error(
    api: Api, key: str, opening: bytes, closing: bytes
) -> None:
    r = api.post(PATIENTS, key=key, content=opening + closing, headers=JSON)

    body = assert_refused(r, 400, "invalid_request", TOO_DEEP)
    assert body["errors"] == [{"field": "body", "message": TOO_DEEP.split(": ", 2)[2]}]
    assert_nothing_written(api, key)


def test_nesting_within_the_limit_is_judged_as_usual(api: Api, key: str) -> None:
    # 32 levels of junk in a field Kitdesk ignores (a site reference's name) pass the depth
    # check; brackets inside strings do not count.
    junk: object = "[[[[{{{{" * 10
    for _ in range(MAX_JSON_DEPTH - 3):
        junk = [junk]
    body = {**PATIENT, "site": {"id": 1234, "name": junk}}

    r = api.post(PATIENTS, key=key, json=body)

    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**PATIENT, "firstName": "Eve\x00"}, "firstName"),
        ({**PATIENT, "site": {"id": 1234, "name": "\x00"}}, "site.name"),
        ({**PATIENT, "address": {**ADDRESS, "note": "a\x00"}}, "address.note"),
    ],
    ids=["name", "ignored field", "nested"],
)
def test_a_nul_character_in_any_string_field_is_400(
    api: Api, key: str, body: dict[str, object], field: str
) -> None:
    r = api.post(PATIENTS, key=key, json=body)

    why = "Value error, must not contain NUL characters"
    assert_refused(r, 400, "invalid_request", invalid(field, why), hostile="\\u0000")
    assert_nothing_written(api, key)


SURROGATE = "Value error, must not contain unpaired surrogate characters"
NOT_TEXT = "Input should be a valid string, unable to parse raw data as a unicode string"


@pytest.mark.parametrize(
    ("template", "raw", "field", "why"),
    [
        ({**PATIENT, "firstName": "@"}, b'"Eve\\ud800"', "firstName", NOT_TEXT),
        ({**PATIENT, "site": {"id": 1234, "name": "@"}}, b'"\\udfff"', "site.name", SURROGATE),
        ({**PATIENT, "site": {"id": 1234, "name": "@"}}, b'{"\\ud800": 1}', "site.name", SURROGATE),
    ],
    ids=["name", "ignored field", "object key"],
)  # fmt: skip
def test_a_lone_surrogate_escape_in_any_string_is_400(
    api: Api, key: str, template: dict[str, object], raw: bytes, field: str, why: str
) -> None:
    content = json.dumps(template).encode().replace(b'"@"', raw)

    r = api.post(PATIENTS, key=key, content=content, headers=JSON)

    assert_refused(r, 400, "invalid_request", invalid(field, why))
    assert_nothing_written(api, key)


def test_invalid_utf8_in_a_body_is_400(api: Api, key: str) -> None:
    r = api.post(SITES, key=key, content=b'{"name": "\xff\xfe"}', headers=JSON)

    why = "could not be read as JSON (UTF-8 text is required)"
    assert_refused(r, 400, "invalid_request", invalid("body", why))
    assert_nothing_written(api, key)


LINE_ITEM = "orderItems[0].item.id"


@pytest.mark.parametrize(
    ("body", "field", "ident"),
    [
        ({**ORDER, "site": {"id": 2**64}}, "site.id", 2**64),
        ({**ORDER, "orderItems": [{"item": {"id": 2**63}, "count": 1}]}, LINE_ITEM, 2**63),
    ],
    ids=["site", "item"],
)
def test_an_id_beyond_64_bits_in_a_body_is_400(
    api: Api, key: str, body: dict[str, object], field: str, ident: int
) -> None:
    r = api.post(ORDERS, key=key, json=body)

    why = "Input should be less than or equal to 9223372036854775807"
    assert_refused(r, 400, "invalid_request", invalid(field, why), hostile=str(ident))
    assert_nothing_written(api, key)


def test_an_unknown_field_is_400_and_named(api: Api, key: str) -> None:
    r = api.post(PATIENTS, key=key, json={**PATIENT, "isAdmin": True})

    body = assert_refused(r, 400, "invalid_request", invalid("isAdmin", "unknown field"))
    assert body["errors"] == [{"field": "isAdmin", "message": "unknown field"}]
    assert_nothing_written(api, key)


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (json.dumps(ORDER).encode(), {"content-type": "text/plain"}),
        (b"site=1234&item=1003", {"content-type": "application/x-www-form-urlencoded"}),
        (MULTIPART, {"content-type": "multipart/form-data; boundary=b"}),
        (json.dumps(ORDER).encode(), {}),
    ],
    ids=["text", "form", "multipart", "missing"],
)  # fmt: skip
def test_a_body_that_is_not_json_is_415(
    api: Api, key: str, content: bytes, headers: dict[str, str]
) -> None:
    r = api.post(ORDERS, key=key, content=content, headers=headers)

    assert_refused(r, 415, "unsupported_media_type", NOT_JSON)
    assert_nothing_written(api, key)


def test_json_with_a_charset_or_a_json_suffix_type_is_accepted(api: Api, key: str) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        r = api.patch(
            f"{SITES}/1234",
            key=key,
            content=json.dumps({"name": "Renamed"}).encode(),
            headers={"content-type": content_type},
        )
        assert r.status_code == 200, (content_type, r.text)


@pytest.mark.parametrize("headers", [JSON, {}], ids=["json", "no content type"])
def test_an_empty_body_on_a_post_that_needs_one_is_400(
    api: Api, key: str, headers: dict[str, str]
) -> None:
    r = api.post(PATIENTS, key=key, content=b"", headers=headers)

    body = assert_refused(r, 400, "invalid_request", invalid("body", "is required"))
    assert body["errors"] == [{"field": "body", "message": "is required"}]
    assert_nothing_written(api, key)
