"""Hostile paths and query strings get a clear 400 problem, never a 500 or a silent guess."""

from __future__ import annotations

import pytest

from tests.api.hostile_support import ORDERS, PATIENTS, assert_refused, invalid
from tests.conftest import Api

NUL = "must not contain NUL characters"
MAX_ID = "Input should be less than or equal to 9223372036854775807"
NOT_INT = "Input should be a valid integer, unable to parse string as an integer"
TOO_BIG = "Unable to parse input string as an integer, exceeded maximum size"


@pytest.mark.parametrize(
    "path",
    [
        f"{PATIENTS}/identifier/eve%00",
        "/api/v3/device/validate/IMEI%001",
        f"{PATIENTS}/%00",
    ],
    ids=["identifier", "device identifier", "id"],
)
def test_a_nul_character_in_the_path_is_400(api: Api, key: str, path: str) -> None:
    r = api.get(path, key=key)

    body = assert_refused(r, 400, "invalid_request", invalid("path", NUL), hostile="\\u0000")
    assert "%00" in body["instance"]  # the path is reported, percent-encoded


@pytest.mark.parametrize(
    "query",
    ["name=%00", "externalIdentifier=a%00b", "email=%00@example.com", "size=%00"],
)
def test_a_nul_character_in_the_query_string_is_400(api: Api, key: str, query: str) -> None:
    r = api.get(f"{PATIENTS}?{query}", key=key)

    assert_refused(r, 400, "invalid_request", invalid("query", NUL), hostile="\\u0000")


def test_a_nul_character_in_a_filter_is_400_on_an_order_list_too(api: Api, key: str) -> None:
    r = api.get(f"{ORDERS}?externalOrderId=%00", key=key)

    assert_refused(r, 400, "invalid_request", invalid("query", NUL))


@pytest.mark.parametrize(
    ("ident", "why"),
    [(str(2**63), MAX_ID), (str(2**64), MAX_ID), ("9" * 5000, TOO_BIG)],
    ids=["2**63", "2**64", "5000 digits"],
)
def test_an_id_beyond_64_bits_in_the_path_is_400(api: Api, key: str, ident: str, why: str) -> None:
    r = api.get(f"{PATIENTS}/{ident}", key=key)

    assert_refused(r, 400, "invalid_request", invalid("patientId", why), hostile=ident[:19])


@pytest.mark.parametrize(
    ("ident", "why"),
    [(str(2**64), MAX_ID), ("9" * 5000, TOO_BIG)],
    ids=["2**64", "5000 digits"],
)
def test_an_id_beyond_64_bits_in_the_query_string_is_400(
    api: Api, key: str, ident: str, why: str
) -> None:
    r = api.get(f"{ORDERS}?id=1&id={ident}", key=key)

    assert_refused(r, 400, "invalid_request", invalid("id[1]", why), hostile=ident[:19])


@pytest.mark.parametrize(
    ("query", "field", "why"),
    [
        ("size=100000000000000000000", "size", "Input should be less than or equal to 250"),
        ("size=251", "size", "Input should be less than or equal to 250"),
        ("size=0", "size", "Input should be greater than or equal to 1"),
        ("size=-1", "size", "Input should be greater than or equal to 1"),
        ("size=ten", "size", NOT_INT),
        ("size=1.5", "size", NOT_INT),
        ("page=0", "page", "Input should be greater than or equal to 1"),
        ("page=-5", "page", "Input should be greater than or equal to 1"),
        ("page=" + "9" * 30, "page", "Input should be less than or equal to 10000000"),
        ("page=first", "page", NOT_INT),
        ("size=10&size=250", "size", "must be given at most once"),
        ("page=1&page=2", "page", "must be given at most once"),
        ("sortDescending=true&sortDescending=true", "sortDescending", "must be given at most once"),
    ],
)  # fmt: skip
def test_size_and_page_abuse_is_400(api: Api, key: str, query: str, field: str, why: str) -> None:
    r = api.get(f"{ORDERS}?{query}", key=key)

    body = assert_refused(r, 400, "invalid_request", invalid(field, why))
    assert body["errors"] == [{"field": field, "message": why}]


def test_any_single_valued_filter_given_twice_is_400(api: Api, key: str) -> None:
    r = api.get(f"{PATIENTS}?name=Alex&name=Eve&archived=false&archived=true", key=key)

    body = assert_refused(
        r,
        400,
        "invalid_request",
        "invalid request: archived: must be given at most once; name: must be given at most once",
    )
    assert [e["field"] for e in body["errors"]] == ["archived", "name"]


def test_a_repeatable_filter_may_repeat(api: Api, key: str) -> None:
    r = api.get(f"{PATIENTS}?id=1234&id=1234&id=99", key=key)

    assert r.status_code == 200, r.text
    assert [p["id"] for p in r.json()["content"]] == [1234]
