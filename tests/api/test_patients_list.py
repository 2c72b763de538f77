"""GET /api/v3/patient: every documented filter, sorting and paging."""

from __future__ import annotations

import pytest

from tests.api.patients_support import (
    ADDRESS,
    DEMO_PATIENT,
    DEMO_SITE,
    PATIENTS,
    assert_invalid,
    create_patient,
    create_site,
    ids,
)
from tests.conftest import Api

Ids = dict[str, int]


@pytest.fixture
def people(api: Api, key: str) -> Ids:
    """Four patients besides the demo patient ("demo": Alex Demo, 1960-04-02, site 1234, US)."""
    second_site = create_site(api, key, name="East Clinic")["id"]

    def make(**fields: object) -> int:
        return int(create_patient(api, key, **fields)["id"])

    return {
        "demo": DEMO_PATIENT,
        "alice": make(
            firstName="alice",
            lastName="Zimmer",
            externalIdentifier="a-1",
            email="Alice.Z@Example.com",
            dateOfBirth="1970-01-01",
            site={"id": DEMO_SITE},
            address={**ADDRESS, "zipCode": "10001"},
        ),
        "bob": make(
            firstName="Bob",
            lastName="young",
            externalIdentifier="b-2",
            email="bob@example.org",
            dateOfBirth="1980-06-15",
            archived=True,
            enrolled=False,
            address={**ADDRESS, "zipCode": "SW1A 1AA", "country": "GB"},
        ),
        "carol": make(
            firstName="Carol",
            lastName="Xu",
            externalIdentifier="c-3",
            dateOfBirth="1990-12-31",
            enrolled=False,
            site={"id": second_site},
            address={**ADDRESS, "zipCode": "10001", "country": "us"},
        ),
        "dana": make(firstName="dana", lastName="Able"),
        "site": second_site,
    }


def names(people: Ids, found: list[int]) -> list[str]:
    by_id = {v: k for k, v in people.items() if k != "site"}
    return [by_id[i] for i in found]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("externalIdentifier=a-1&externalIdentifier=c-3", ["alice", "carol"]),
        ("externalIdentifier=A-1", []),
        ("email=ALICE.z@example.COM", ["alice"]),
        ("email=alice", []),
        ("name=ICE%20ZIM", ["alice"]),
        ("name=a", ["demo", "alice", "carol", "dana"]),
        ("name=bob%20young", ["bob"]),
        ("name=%25", []),
        ("name=_", []),
        ("archived=true", ["bob"]),
        ("archived=false", ["demo", "alice", "carol", "dana"]),
        ("enrolled=false", ["bob", "carol"]),
        ("enrolled=true", ["demo", "alice", "dana"]),
        ("dateOfBirthMin=1970-01-01", ["alice", "bob", "carol"]),
        ("dateOfBirthMax=1980-06-15", ["demo", "alice", "bob"]),
        ("dateOfBirthMin=1970-01-02&dateOfBirthMax=1990-12-31", ["bob", "carol"]),
        ("postalCode=10001", ["alice", "carol"]),
        ("country=us", ["demo", "alice", "carol", "dana"]),
        ("country=GB", ["bob"]),
        ("archived=false&enrolled=false&postalCode=10001", ["carol"]),
    ],
)
def test_list_filters_patients(
    api: Api, key: str, people: Ids, query: str, expected: list[str]
) -> None:
    response = api.get(f"{PATIENTS}?{query}", key=key)

    assert names(people, ids(response)) == expected
    assert response.json()["total"] == len(expected)


def test_id_filter_repeats(api: Api, key: str, people: Ids) -> None:
    query = f"id={people['carol']}&id={people['demo']}&id=999999"

    assert names(people, ids(api.get(f"{PATIENTS}?{query}", key=key))) == ["demo", "carol"]


def test_site_id_filter_repeats(api: Api, key: str, people: Ids) -> None:
    one = api.get(f"{PATIENTS}?siteId={people['site']}", key=key)
    both = api.get(f"{PATIENTS}?siteId={DEMO_SITE}&siteId={people['site']}", key=key)

    assert names(people, ids(one)) == ["carol"]
    assert names(people, ids(both)) == ["demo", "alice", "carol"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["demo", "alice", "bob", "carol", "dana"]),
        ("sort=patientId", ["demo", "alice", "bob", "carol", "dana"]),
        ("sortDescending=true", ["dana", "carol", "bob", "alice", "demo"]),
        ("sort=firstName", ["demo", "alice", "bob", "carol", "dana"]),
        ("sort=firstName&sortDescending=true", ["dana", "carol", "bob", "alice", "demo"]),
        ("sort=lastName", ["dana", "demo", "carol", "bob", "alice"]),
        ("sort=lastName&sortDescending=true", ["alice", "bob", "carol", "demo", "dana"]),
    ],
)
def test_list_sorts_names_without_regard_to_case(
    api: Api, key: str, people: Ids, query: str, expected: list[str]
) -> None:
    assert names(people, ids(api.get(f"{PATIENTS}?{query}", key=key))) == expected


def test_equal_sort_keys_are_ordered_by_id_in_the_same_direction(api: Api, key: str) -> None:
    first = create_patient(api, key, firstName="Alex", lastName="Twin")["id"]
    second = create_patient(api, key, firstName="ALEX", lastName="Twin")["id"]

    ascending = ids(api.get(f"{PATIENTS}?sort=firstName", key=key))
    descending = ids(api.get(f"{PATIENTS}?sort=firstName&sortDescending=true", key=key))

    assert ascending == [DEMO_PATIENT, first, second]
    assert descending == [second, first, DEMO_PATIENT]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("sort=email", "sort", "Input should be 'firstName', 'lastName' or 'patientId'"),
        ("sort=firstname", "sort", "Input should be 'firstName', 'lastName' or 'patientId'"),
        (
            "sortDescending=maybe",
            "sortDescending",
            "Input should be a valid boolean, unable to interpret input",
        ),
        (
            "archived=maybe",
            "archived",
            "Input should be a valid boolean, unable to interpret input",
        ),
        (
            "id=abc",
            "id[0]",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        ("id=1&id=0", "id[1]", "Input should be greater than or equal to 1"),
        ("siteId=-1", "siteId[0]", "Input should be greater than or equal to 1"),
        (
            "dateOfBirthMin=01-01-1970",
            "dateOfBirthMin",
            "Value error, must be a date written YYYY-MM-DD",
        ),
        ("dateOfBirthMax=0", "dateOfBirthMax", "Value error, must be a date written YYYY-MM-DD"),
        ("size=0", "size", "Input should be greater than or equal to 1"),
        ("size=251", "size", "Input should be less than or equal to 250"),
        ("page=0", "page", "Input should be greater than or equal to 1"),
        ("page=-1", "page", "Input should be greater than or equal to 1"),
        (
            "page=two",
            "page",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
    ],
)
def test_bad_list_parameters_are_400(
    api: Api, key: str, query: str, field: str, message: str
) -> None:
    assert_invalid(api.get(f"{PATIENTS}?{query}", key=key), [(field, message)])


def test_page_defaults_to_the_first_page_of_fifteen(api: Api, key: str) -> None:
    for n in range(15):
        create_patient(api, key, firstName=f"P{n}")

    body = api.get(PATIENTS, key=key).json()

    assert {k: v for k, v in body.items() if k != "content"} == {
        "page": 1,
        "size": 15,
        "total": 16,
        "first": True,
        "last": False,
    }
    assert len(body["content"]) == 15


@pytest.mark.parametrize(
    ("page", "names_on_page", "first", "last"),
    [
        (1, ["demo", "alice"], True, False),
        (2, ["bob", "carol"], False, False),
        (3, ["dana"], False, True),
        (4, [], False, True),
    ],
)
def test_pages_report_total_first_and_last(
    api: Api, key: str, people: Ids, page: int, names_on_page: list[str], first: bool, last: bool
) -> None:
    response = api.get(f"{PATIENTS}?page={page}&size=2", key=key)

    assert names(people, ids(response)) == names_on_page
    envelope = {k: v for k, v in response.json().items() if k != "content"}
    assert envelope == {"page": page, "size": 2, "total": 5, "first": first, "last": last}


def test_page_that_ends_exactly_at_the_total_is_last(api: Api, key: str, people: Ids) -> None:
    exact = api.get(f"{PATIENTS}?size=5", key=key).json()
    largest = api.get(f"{PATIENTS}?size=250", key=key).json()

    assert (exact["total"], exact["first"], exact["last"], len(exact["content"])) == (
        5,
        True,
        True,
        5,
    )
    assert (largest["size"], largest["last"], len(largest["content"])) == (250, True, 5)


def test_empty_result_is_a_single_first_and_last_page(api: Api, key: str) -> None:
    body = api.get(f"{PATIENTS}?name=nobody", key=key).json()

    assert body == {"content": [], "page": 1, "size": 15, "total": 0, "first": True, "last": True}


def test_listing_costs_the_same_queries_whatever_the_page_holds(
    api: Api, key: str, people: Ids
) -> None:
    with api.count_queries() as one:
        assert len(ids(api.get(f"{PATIENTS}?size=1", key=key))) == 1
    with api.count_queries() as five:
        assert len(ids(api.get(f"{PATIENTS}?size=250", key=key))) == 5

    # The key lookup, the count, one page query with each patient's site joined in, and the
    # audit entry naming the patients listed.
    assert one.count == five.count == 4
