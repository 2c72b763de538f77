"""The lean handler of the order list (``kitdesk.api.lean.list_orders``): on PostgreSQL it answers
a page asked for without filters, exactly as the route would; every other list request, and every
list on SQLite, gets FastAPI's own answer."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.base import utcnow
from kitdesk.db.models import Account, ApiKey, AuditEntry
from kitdesk.domain.accounts.service import hash_key
from tests.api.lean_support import BAD_KEY, answer, count_rows, without_lean
from tests.api.orders_support import ORDERS, create, items, kits, patient_order, site_order
from tests.conftest import Api

# Pages the lean handler answers on PostgreSQL: plain values of page, size, sort, sortDescending.
PLAIN = [
    "",
    "?size=50",
    "?page=2&size=2",
    "?page=1&size=3&sort=createdAt&sortDescending=true",
    "?sortDescending=true&sort=id&size=4",
    "?sort=createdAt&sortDescending=false",
    "?page=3&size=003",
    "?page=99&size=5",  # past the end: no content, the total still counted
    "?page=%32&size=2",  # percent-encoded, as the route decodes it
]
# Pages that go to FastAPI's route: filters, repeated or unknown parameters, values outside the
# route's bounds, or spelt otherwise than the lean handler reads them.
DECLINED = [
    "?patientId=1234",
    "?currentStatus=received&size=50",
    "?id=1&id=2",
    "?size=1&size=2",
    "?page=1&page=1",
    "?size=0",
    "?size=251",
    "?page=0",
    "?page=10000001",
    "?page=-1",
    "?size=+5",
    "?size=",
    "?size=%EF%BC%95",  # a fullwidth digit five
    "?sortDescending=1",
    "?sortDescending=True",
    "?sort=created_at",
    "?x=1",
]


def _orders(api: Api, key: str) -> list[dict[str, Any]]:
    """Six orders of different shapes, the two middle ones placed for a site."""
    bodies = [
        patient_order(orderItems=items(1000, 1001)),
        patient_order(orderKits=kits(1001)),
        site_order(orderItems=items(1003)),
        site_order(orderKits=kits(1000, 1002)),
        patient_order(orderItems=items(1005), orderNotes=[{"note": "leave at the door"}]),
        patient_order(orderItems=items(1000), externalOrderIds=["lean-list-1"]),
    ]
    return [create(api, key, body) for body in bodies]


def _entries(api: Api, since: int) -> list[tuple[str, str, str | None]]:
    async def read(session: AsyncSession) -> list[tuple[str, str, str | None]]:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.outcome, AuditEntry.resource_ids)
            .order_by(AuditEntry.id)
            .offset(since)
        )
        return [tuple(r) for r in rows]

    return api.call(read)


@pytest.mark.parametrize("query", PLAIN)
def test_a_plain_page_is_the_routes_page_and_leaves_the_routes_audit_entry(
    api: Api,
    key: str,
    backend: str,
    routed: list[str],
    monkeypatch: pytest.MonkeyPatch,
    query: str,
) -> None:
    _orders(api, key)
    audits = count_rows(api, AuditEntry)
    served = answer(api.get(ORDERS + query, key=key))
    assert served[0] == 200
    # PostgreSQL: the lean handler answered; SQLite: the route did.
    assert (routed == []) == (backend == "postgresql")
    lean_entries = _entries(api, audits)
    without_lean(monkeypatch)
    assert served == answer(api.get(ORDERS + query, key=key))
    route_entries = _entries(api, audits + len(lean_entries))
    # One order.list entry each way, naming the same orders in the same order.
    assert lean_entries == route_entries
    ids = "," + "".join(f"{o['id']}," for o in served[2]["content"])
    assert lean_entries == [("order.list", "success", ids)]


@pytest.mark.parametrize("query", DECLINED)
def test_a_page_with_anything_else_gets_fastapis_own_answer(
    api: Api,
    key: str,
    routed: list[str],
    monkeypatch: pytest.MonkeyPatch,
    query: str,
) -> None:
    _orders(api, key)
    served = answer(api.get(ORDERS + query, key=key))
    assert routed == ["GET /api/v3/order"]
    without_lean(monkeypatch)
    assert served == answer(api.get(ORDERS + query, key=key))


def test_a_page_lists_the_keys_own_account_only(
    api: Api,
    key: str,
    other_key: str,
    routed: list[str],
) -> None:
    mine = _orders(api, key)
    theirs = create(api, other_key, patient_order(5678, orderItems=items(1000)))
    own = api.get(f"{ORDERS}?size=50", key=key).json()
    other = api.get(f"{ORDERS}?size=50", key=other_key).json()
    assert [o["id"] for o in own["content"]] == [o["id"] for o in mine]
    assert own["total"] == len(mine)
    assert [o["id"] for o in other["content"]] == [theirs["id"]]
    assert other["total"] == 1


def test_every_order_of_every_page_is_listed_once_in_each_sort(api: Api, key: str) -> None:
    created = [o["id"] for o in _orders(api, key)]
    for sort in ("id", "createdAt"):
        for descending in ("false", "true"):
            seen: list[int] = []
            for page in (1, 2, 3, 4):
                query = f"?page={page}&size=2&sort={sort}&sortDescending={descending}"
                body = api.get(ORDERS + query, key=key).json()
                assert body["total"] == len(created)
                assert body["first"] == (page == 1)
                assert body["last"] == (page * 2 >= len(created))
                seen += [o["id"] for o in body["content"]]
            expected = sorted(created, reverse=descending == "true")
            assert seen == expected, (sort, descending)


@pytest.mark.parametrize("change", ["deactivated", "expired", "account inactive", "unknown"])
def test_a_refused_key_gets_no_page_of_its_own_account(
    api: Api,
    key: str,
    backend: str,
    routed: list[str],
    monkeypatch: pytest.MonkeyPatch,
    change: str,
) -> None:
    # The lean list reads the key with the total and the page's ids of the key's account; none
    # of it may reach a refused key, and no list may be audited for it.
    created = _orders(api, key)
    digest = hash_key(key)

    async def refuse(session: AsyncSession) -> None:
        found = await session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
        assert found is not None
        if change == "deactivated":
            found.deactivated_at = utcnow()
        elif change == "expired":
            found.expires_at = utcnow() - timedelta(seconds=1)
        else:
            account = await session.get(Account, found.account_id)
            assert account is not None
            account.active = False

    presented = BAD_KEY if change == "unknown" else key
    if change != "unknown":
        api.call(refuse)
    audits = count_rows(api, AuditEntry)
    served = answer(api.get(f"{ORDERS}?size=50", key=presented))
    assert (routed == []) == (backend == "postgresql")
    assert served[0] == 401
    assert created[0]["patient"]["lastName"] not in json.dumps(served[2])
    assert "total" not in served[2]
    assert "content" not in served[2]
    entries = _entries(api, audits)
    assert [(action, outcome) for action, outcome, _ in entries] == [("order.list", "denied")]
    without_lean(monkeypatch)
    assert served == answer(api.get(f"{ORDERS}?size=50", key=presented))
