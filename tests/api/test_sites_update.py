"""Sites: PUT replaces a site, PATCH changes only the fields present."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.patients_support import (
    ADDRESS,
    DEMO_PATIENT,
    DEMO_SITE,
    EMPTY_ADDRESS_EXTRAS,
    MINIMAL_ADDRESS,
    SITES,
    assert_invalid,
    assert_not_found,
    create_site,
)
from tests.conftest import Api, assert_problem

FULL: dict[str, Any] = {
    "name": "Harbor Clinic",
    "active": True,
    "phoneNumber": "555-0199",
    "address": ADDRESS,
}


@pytest.fixture
def site(api: Api, key: str) -> dict[str, Any]:
    """A site with every field filled in."""
    return create_site(api, key, **FULL)


def fetch(api: Api, key: str, site_id: int) -> dict[str, Any]:
    response = api.get(f"{SITES}/{site_id}", key=key)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def change(api: Api, key: str, method: str, site_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """PUT or PATCH and assert success; a later fetch must show the same site."""
    response = api.request(method, f"{SITES}/{site_id}", key=key, json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    result: dict[str, Any] = response.json()
    assert fetch(api, key, site_id) == result
    return result


def same_except(before: dict[str, Any], after: dict[str, Any], *changed: str) -> None:
    keep = set(before) - {*changed, "updatedAt"}
    assert {k: after[k] for k in keep} == {k: before[k] for k in keep}


def test_put_replaces_the_site_and_clears_absent_optional_fields(
    api: Api, key: str, site: dict[str, Any]
) -> None:
    after = change(api, key, "PUT", site["id"], {"name": "Harbor Annex"})

    assert after == {
        "id": site["id"],
        "name": "Harbor Annex",
        "active": True,
        "phoneNumber": None,
        "address": None,
        "createdAt": site["createdAt"],
        "updatedAt": after["updatedAt"],
    }
    assert after["updatedAt"] > site["updatedAt"]


def test_put_sets_every_field_given(api: Api, key: str) -> None:
    body = {**FULL, "id": DEMO_SITE, "active": False}

    after = change(api, key, "PUT", DEMO_SITE, body)

    assert {k: after[k] for k in body} == body


def test_put_renaming_a_site_shows_in_its_patients(api: Api, key: str) -> None:
    change(api, key, "PUT", DEMO_SITE, {"name": "Renamed Office", "active": False})

    patient = api.get(f"/api/v3/patient/{DEMO_PATIENT}", key=key).json()
    assert patient["site"] == {"id": DEMO_SITE, "name": "Renamed Office", "active": False}


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_another_id_in_the_body_is_400_and_changes_nothing(
    api: Api, key: str, site: dict[str, Any], method: str
) -> None:
    response = api.request(method, f"{SITES}/{site['id']}", key=key, json={**FULL, "id": DEMO_SITE})

    body = assert_problem(
        response, 400, "id_mismatch", "id in the body does not match the id in the path"
    )
    assert body["errors"] == [{"field": "id", "message": "does not match the id in the path"}]
    assert fetch(api, key, site["id"]) == site


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"active": False}, [("name", "is required")]),
        (
            {"name": "N", "address": {"lineOne": "1 Elm Street"}},
            [
                ("address.city", "is required"),
                ("address.state", "is required"),
                ("address.zipCode", "is required"),
                ("address.country", "is required"),
            ],
        ),
        ({"name": "N", "active": None}, [("active", "Input should be a valid boolean")]),
        ({"name": "N", "createdAt": "2024-01-01"}, [("createdAt", "unknown field")]),
    ],
)
def test_bad_put_is_400_and_changes_nothing(
    api: Api, key: str, site: dict[str, Any], body: dict[str, Any], errors: list[Any]
) -> None:
    assert_invalid(api.put(f"{SITES}/{site['id']}", key=key, json=body), errors)
    assert fetch(api, key, site["id"]) == site


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_changing_an_unknown_site_is_404(api: Api, key: str, method: str) -> None:
    response = api.request(method, f"{SITES}/999999", key=key, json={"name": "N"})

    assert_not_found(response, "site 999999 not found")


@pytest.mark.parametrize(
    ("body", "changed"),
    [
        ({"name": "Renamed"}, {"name": "Renamed"}),
        ({"active": False}, {"active": False}),
        ({"phoneNumber": "555-0000"}, {"phoneNumber": "555-0000"}),
        ({"phoneNumber": None}, {"phoneNumber": None}),
        ({"address": None}, {"address": None}),
        ({"address": {"zipCode": "97202"}}, {"address": {**ADDRESS, "zipCode": "97202"}}),
        ({"address": {"note": None}}, {"address": {**ADDRESS, "note": None}}),
    ],
)
def test_patch_changes_only_the_fields_present(
    api: Api, key: str, site: dict[str, Any], body: dict[str, Any], changed: dict[str, Any]
) -> None:
    after = change(api, key, "PATCH", site["id"], body)

    assert {k: after[k] for k in changed} == changed
    same_except(site, after, *changed)
    assert after["updatedAt"] > site["updatedAt"]


def test_patch_accepts_its_own_id_in_the_body(api: Api, key: str, site: dict[str, Any]) -> None:
    after = change(api, key, "PATCH", site["id"], {"id": site["id"], "name": "Renamed"})

    assert after["name"] == "Renamed"


def test_patch_with_empty_body_changes_nothing(api: Api, key: str, site: dict[str, Any]) -> None:
    assert change(api, key, "PATCH", site["id"], {}) == site


def test_patch_can_give_a_site_without_address_a_complete_one(api: Api, key: str) -> None:
    bare = create_site(api, key)

    after = change(api, key, "PATCH", bare["id"], {"address": MINIMAL_ADDRESS})

    assert after["address"] == {**MINIMAL_ADDRESS, **EMPTY_ADDRESS_EXTRAS}


def test_patch_cannot_give_a_site_without_address_a_partial_one(api: Api, key: str) -> None:
    bare = create_site(api, key)

    response = api.patch(f"{SITES}/{bare['id']}", key=key, json={"address": {"city": "Salem"}})

    assert_invalid(
        response,
        [
            ("address.lineOne", "is required"),
            ("address.state", "is required"),
            ("address.zipCode", "is required"),
            ("address.country", "is required"),
        ],
    )
    assert fetch(api, key, bare["id"]) == bare


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"name": None, "active": None},
            [("name", "cannot be null"), ("active", "cannot be null")],
        ),
        (
            {"name": None, "address": {"city": None, "country": None}},
            [
                ("name", "cannot be null"),
                ("address.city", "cannot be null"),
                ("address.country", "cannot be null"),
            ],
        ),
        ({"name": ""}, [("name", "String should have at least 1 character")]),
        ({"active": "no"}, [("active", "Input should be a valid boolean")]),
        ({"address": {"city": 5}}, [("address.city", "Input should be a valid string")]),
        ({"label": "x"}, [("label", "unknown field")]),
    ],
)
def test_bad_patch_names_every_field_and_changes_nothing(
    api: Api, key: str, site: dict[str, Any], body: dict[str, Any], errors: list[Any]
) -> None:
    assert_invalid(api.patch(f"{SITES}/{site['id']}", key=key, json=body), errors)
    assert fetch(api, key, site["id"]) == site
