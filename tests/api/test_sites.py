"""Sites: create, list, fetch, authentication and tenant isolation."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.patients_support import (
    ADDRESS,
    DEMO_SITE,
    EMPTY_ADDRESS_EXTRAS,
    MINIMAL_ADDRESS,
    OTHER_SITE,
    SITES,
    assert_invalid,
    assert_not_found,
    create_site,
    ids,
)
from tests.conftest import Api, assert_problem

DEMO_SITE_BODY = {
    "id": DEMO_SITE,
    "name": "Demo Clinic Main Office",
    "active": True,
    "phoneNumber": "+1 217 555 0100",
    "address": {
        "lineOne": "100 Main Street",
        "city": "Springfield",
        "state": "IL",
        "zipCode": "62701",
        "country": "US",
        **EMPTY_ADDRESS_EXTRAS,
    },
}


def without_timestamps(body: dict[str, Any]) -> dict[str, Any]:
    assert {"createdAt", "updatedAt"} <= set(body)
    return {k: v for k, v in body.items() if k not in ("createdAt", "updatedAt")}


def test_created_site_is_returned_whole_in_camel_case(api: Api, key: str) -> None:
    sent = {"name": "North Clinic", "active": False, "phoneNumber": "555-0101", "address": ADDRESS}

    response = api.post(SITES, key=key, json=sent)

    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert without_timestamps(body) == {"id": body["id"], **sent}
    assert body["createdAt"].endswith("Z")
    assert api.get(f"{SITES}/{body['id']}", key=key).json() == body


def test_site_needs_only_a_name(api: Api, key: str) -> None:
    body = create_site(api, key, id=DEMO_SITE)

    assert body["id"] != DEMO_SITE
    assert without_timestamps(body) == {
        "id": body["id"],
        "name": "North Clinic",
        "active": True,
        "phoneNumber": None,
        "address": None,
    }


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, [("name", "is required")]),
        ({"name": ""}, [("name", "String should have at least 1 character")]),
        ({"name": "  "}, [("name", "Value error, must not be blank")]),
        ({"name": None}, [("name", "Input should be a valid string")]),
        ({"name": "N", "active": "yes"}, [("active", "Input should be a valid boolean")]),
        (
            {"name": "N", "phoneNumber": 5550101},
            [("phoneNumber", "Input should be a valid string")],
        ),
        ({"name": "N", "code": "N1"}, [("code", "unknown field")]),
        (
            {"name": "N", "address": {"lineOne": "1 Elm Street", "zip": "1"}},
            [
                ("address.city", "is required"),
                ("address.state", "is required"),
                ("address.zipCode", "is required"),
                ("address.country", "is required"),
                ("address.zip", "unknown field"),
            ],
        ),
    ],
)
def test_bad_site_bodies_are_400_and_write_nothing(
    api: Api, key: str, body: dict[str, Any], errors: list[tuple[str, str]]
) -> None:
    assert_invalid(api.post(SITES, key=key, json=body), errors)
    assert ids(api.get(SITES, key=key)) == [DEMO_SITE]


def test_site_without_address_may_say_so_with_null(api: Api, key: str) -> None:
    assert create_site(api, key, address=None)["address"] is None


def test_site_is_fetched_by_id(api: Api, key: str) -> None:
    response = api.get(f"{SITES}/{DEMO_SITE}", key=key)

    assert response.status_code == 200
    assert without_timestamps(response.json()) == DEMO_SITE_BODY


def test_unknown_site_is_404(api: Api, key: str) -> None:
    assert_not_found(api.get(f"{SITES}/999999", key=key), "site 999999 not found")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH"])
@pytest.mark.parametrize(
    ("path_id", "message"),
    [
        ("0", "Input should be greater than or equal to 1"),
        ("-5", "Input should be greater than or equal to 1"),
        ("north", "Input should be a valid integer, unable to parse string as an integer"),
        (str(2**63), "Input should be less than or equal to 9223372036854775807"),
    ],
)
def test_bad_site_path_id_is_400(
    api: Api, key: str, method: str, path_id: str, message: str
) -> None:
    body = {"name": "N"} if method != "GET" else None

    assert_invalid(
        api.request(method, f"{SITES}/{path_id}", key=key, json=body), [("siteId", message)]
    )


@pytest.fixture
def sites(api: Api, key: str) -> dict[str, int]:
    """Three more sites of the demo customer besides "demo" (Demo Clinic Main Office)."""
    return {
        "demo": DEMO_SITE,
        "north": create_site(api, key, name="North Clinic")["id"],
        "closed": create_site(api, key, name="Old north annex", active=False)["id"],
        "lab": create_site(api, key, name="100%_Lab", address=MINIMAL_ADDRESS)["id"],
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["demo", "north", "closed", "lab"]),
        ("sortDescending=true", ["lab", "closed", "north", "demo"]),
        ("name=NORTH", ["north", "closed"]),
        ("name=clinic", ["demo", "north"]),
        ("name=%25", ["lab"]),
        ("name=0_", []),
        ("active=false", ["closed"]),
        ("active=true&name=north", ["north"]),
    ],
)
def test_list_filters_sites(
    api: Api, key: str, sites: dict[str, int], query: str, expected: list[str]
) -> None:
    response = api.get(f"{SITES}?{query}", key=key)

    by_id = {v: k for k, v in sites.items()}
    assert [by_id[i] for i in ids(response)] == expected
    assert response.json()["total"] == len(expected)


def test_site_id_filter_repeats(api: Api, key: str, sites: dict[str, int]) -> None:
    query = f"id={sites['lab']}&id={sites['north']}&id={OTHER_SITE}"

    assert ids(api.get(f"{SITES}?{query}", key=key)) == [sites["north"], sites["lab"]]


@pytest.mark.parametrize(
    ("page", "expected", "first", "last"),
    [
        (1, ["demo", "north"], True, False),
        (2, ["closed", "lab"], False, True),
        (3, [], False, True),
    ],
)
def test_site_pages_report_total_first_and_last(
    api: Api,
    key: str,
    sites: dict[str, int],
    page: int,
    expected: list[str],
    first: bool,
    last: bool,
) -> None:
    response = api.get(f"{SITES}?page={page}&size=2", key=key)

    assert ids(response) == [sites[name] for name in expected]
    envelope = {k: v for k, v in response.json().items() if k != "content"}
    assert envelope == {"page": page, "size": 2, "total": 4, "first": first, "last": last}


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("size=0", "size", "Input should be greater than or equal to 1"),
        ("size=251", "size", "Input should be less than or equal to 250"),
        ("page=0", "page", "Input should be greater than or equal to 1"),
        ("id=x", "id[0]", "Input should be a valid integer, unable to parse string as an integer"),
        ("active=perhaps", "active", "Input should be a valid boolean, unable to interpret input"),
    ],
)
def test_bad_site_list_parameters_are_400(
    api: Api, key: str, query: str, field: str, message: str
) -> None:
    assert_invalid(api.get(f"{SITES}?{query}", key=key), [(field, message)])


@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("PUT", {"name": "Taken"}), ("PATCH", {"active": False})]
)
def test_another_customers_site_answers_exactly_like_an_unknown_one(
    api: Api, key: str, other_key: str, method: str, body: dict[str, Any] | None
) -> None:
    before = api.get(f"{SITES}/{DEMO_SITE}", key=key).json()

    foreign = api.request(method, f"{SITES}/{DEMO_SITE}", key=other_key, json=body)
    unknown = api.request(method, f"{SITES}/999999", key=other_key, json=body)

    assert_not_found(foreign, f"site {DEMO_SITE} not found")
    assert_not_found(unknown, "site 999999 not found")
    assert api.get(f"{SITES}/{DEMO_SITE}", key=key).json() == before


@pytest.mark.parametrize("query", ["", f"id={DEMO_SITE}", "name=demo", "active=true&size=250"])
def test_site_lists_never_include_another_customers_sites(
    api: Api, key: str, other_key: str, query: str
) -> None:
    create_site(api, key, name="Demo annex")

    response = api.get(f"{SITES}?{query}", key=other_key)

    assert set(ids(response)) <= {OTHER_SITE}
    assert response.json()["total"] == len(ids(response))
    assert ids(api.get(SITES, key=other_key)) == [OTHER_SITE]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", SITES),
        ("POST", SITES),
        ("GET", f"{SITES}/{DEMO_SITE}"),
        ("PUT", f"{SITES}/{DEMO_SITE}"),
        ("PATCH", f"{SITES}/{DEMO_SITE}"),
    ],
)
@pytest.mark.parametrize(
    ("sent_key", "message"),
    [
        (None, "missing Impilo-API-Key header"),
        ("kd_not-a-real-key", "invalid, expired or deactivated API key"),
    ],
)
def test_site_endpoints_need_a_valid_key(
    api: Api, key: str, method: str, path: str, sent_key: str | None, message: str
) -> None:
    response = api.request(method, path, key=sent_key, json={"name": "Intruder"})

    assert assert_problem(response, 401, "unauthorized", message)["errors"] == []
    assert response.headers["www-authenticate"] == "Impilo-API-Key"
    assert ids(api.get(SITES, key=key)) == [DEMO_SITE]
    assert api.get(f"{SITES}/{DEMO_SITE}", key=key).json()["name"] == "Demo Clinic Main Office"
