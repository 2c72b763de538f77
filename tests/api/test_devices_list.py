"""Listing the caller's devices: tenancy, filters, paging and the cost in queries."""

from __future__ import annotations

from typing import Any

import pytest

from kitdesk.domain.devices.states import DeviceStatus
from tests.api.devices_support import (
    DEMO_PATIENT,
    DEMO_SITE,
    DEVICES,
    DISABLE,
    FLEET,
    OTHER_PATIENT,
    OTHER_SITE,
    SCALE,
    fleet,
    hand_over,
    ids,
    ok,
    receive,
)
from tests.conftest import Api, assert_problem

Names = dict[str, int]


@pytest.fixture
def devices(api: Api, key: str) -> Names:
    """The standard fleet by name, plus "scale": the demo customer's at site 1234, the newest."""
    standard = fleet(api)
    [scale] = receive(api, standard.warehouse, SCALE, "SN-1")
    hand_over(api, scale)
    return {name: getattr(standard, name) for name in FLEET} | {"scale": scale}


def test_list_holds_only_the_callers_devices_never_warehouse_stock(
    api: Api, key: str, other_key: str, devices: Names
) -> None:
    mine = [devices["at_site"], devices["with_patient"], devices["in_transit"], devices["scale"]]

    body = ok(api.get(DEVICES, key=key))

    assert [d["id"] for d in body["content"]] == mine
    assert {k: v for k, v in body.items() if k != "content"} == {
        "page": 1,
        "size": 15,
        "total": 4,
        "first": True,
        "last": True,
    }
    assert ids(api.get(DEVICES, key=other_key)) == [devices["other"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("currentStatus=availableAtSite", ["at_site", "scale"]),
        ("currentStatus=withPatient&currentStatus=inTransit", ["with_patient", "in_transit"]),
        ("currentStatus=inStock", []),
        (f"patientId={DEMO_PATIENT}", ["with_patient"]),
        (f"patientId={OTHER_PATIENT}", []),
        (f"siteId={DEMO_SITE}", ["at_site", "with_patient", "scale"]),
        (f"siteId={OTHER_SITE}", []),
        ("itemId=1000", ["at_site", "with_patient", "in_transit"]),
        (f"itemId={SCALE}", ["scale"]),
        (f"itemId={SCALE}&currentStatus=withPatient", []),
        (f"siteId={DEMO_SITE}&currentStatus=availableAtSite&itemId=1000", ["at_site"]),
    ],
)
def test_list_filters_devices(
    api: Api, key: str, devices: Names, query: str, expected: list[str]
) -> None:
    assert ids(api.get(f"{DEVICES}?{query}", key=key)) == [devices[n] for n in expected]


def test_id_filter_repeats_and_ignores_devices_of_others(
    api: Api, key: str, devices: Names
) -> None:
    query = "&".join(
        f"id={i}"
        for i in (devices["in_transit"], devices["other"], devices["in_stock"], devices["at_site"])
    )

    assert ids(api.get(f"{DEVICES}?{query}", key=key)) == [
        devices["at_site"],
        devices["in_transit"],
    ]


def test_list_pages_and_sorts_descending(api: Api, key: str, devices: Names) -> None:
    everything = [
        devices["at_site"],
        devices["with_patient"],
        devices["in_transit"],
        devices["scale"],
    ]

    second = ok(api.get(f"{DEVICES}?size=3&page=2", key=key))
    newest = ok(api.get(f"{DEVICES}?size=3&sortDescending=true", key=key))

    assert [d["id"] for d in second["content"]] == everything[3:]
    assert (second["total"], second["first"], second["last"]) == (4, False, True)
    assert [d["id"] for d in newest["content"]] == everything[::-1][:3]
    assert (newest["total"], newest["first"], newest["last"]) == (4, True, False)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (
            "currentStatus=broken",
            "currentStatus[0]",
            "Input should be "
            + ", ".join(f"'{s.value}'" for s in list(DeviceStatus)[:-1])
            + f" or '{DeviceStatus.LOST.value}'",
        ),
        ("siteId=0", "siteId[0]", "Input should be greater than or equal to 1"),
        (
            "patientId=abc",
            "patientId[0]",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        ("itemId=-3", "itemId[0]", "Input should be greater than or equal to 1"),
        ("size=251", "size", "Input should be less than or equal to 250"),
        ("page=0", "page", "Input should be greater than or equal to 1"),
        (
            "sortDescending=maybe",
            "sortDescending",
            "Input should be a valid boolean, unable to interpret input",
        ),
    ],
)
def test_bad_list_parameters_are_400_naming_the_field(
    api: Api, key: str, query: str, field: str, message: str
) -> None:
    body = assert_problem(
        api.get(f"{DEVICES}?{query}", key=key),
        400,
        "invalid_request",
        f"invalid request: {field}: {message}",
    )

    assert body["errors"] == [{"field": field, "message": message}]


def statements(api: Api, path: str, key: str) -> tuple[int, dict[str, Any]]:
    """How many SQL statements one GET costs, and its body (read the shared counter at once)."""
    with api.count_queries() as counter:
        body = ok(api.get(path, key=key))
    return counter.count, body


def test_listing_costs_the_same_queries_whatever_the_page_holds(
    api: Api, key: str, devices: Names
) -> None:
    ok(api.patch(DISABLE, key=key, json={"deviceId": devices["with_patient"]}))  # a 2nd event

    one, small = statements(api, f"{DEVICES}?size=1", key)
    four, full = statements(api, DEVICES, key)

    assert (len(small["content"]), len(full["content"])) == (1, 4)
    # The key lookup, the count, the page with item, site and patient joined in, then the
    # identifiers and the events of the whole page, and the audit entry.
    assert (one, four) == (6, 6)


def test_fetching_costs_a_fixed_number_of_queries(api: Api, key: str, devices: Names) -> None:
    ok(api.patch(DISABLE, key=key, json={"deviceId": devices["with_patient"]}))

    bare, at_site = statements(api, f"{DEVICES}/{devices['at_site']}", key)
    full, with_patient = statements(api, f"{DEVICES}/{devices['with_patient']}", key)

    assert (at_site["currentPatient"], len(with_patient["deviceEvents"])) == (None, 2)
    # The key lookup, the device with item, site and patient joined in, identifiers, events,
    # and the audit entry.
    assert (bare, full) == (5, 5)
