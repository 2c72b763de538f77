"""The order routes' lean handlers (``kitdesk.api.lean``): which requests they answer, and that
every other request gets exactly FastAPI's answer."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db import driver
from kitdesk.db.base import utcnow
from kitdesk.db.models import (
    Account,
    ApiKey,
    AuditEntry,
    Order,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from kitdesk.domain.accounts.service import hash_key
from kitdesk.domain.orders import queries, view_statements
from tests.api.lean_support import BAD_KEY, answer, count_rows, without_lean
from tests.api.orders_support import ORDERS, create, items, patient_order
from tests.conftest import Api


def test_a_plain_order_is_created_and_fetched_by_the_lean_handlers(
    api: Api, key: str, routed: list[str]
) -> None:
    created = create(api, key, patient_order(orderItems=items(1000, 1001)))
    fetched = api.get(f"{ORDERS}/{created['id']}", key=key)
    assert fetched.status_code == 200
    assert fetched.json() == created
    assert routed == []  # FastAPI's handler answered neither


def test_a_lean_order_leaves_what_the_route_leaves(
    api: Api, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lean_order = create(api, key, patient_order(orderItems=items(1000)))
    audits = count_rows(api, AuditEntry)
    without_lean(monkeypatch)
    route_order = create(api, key, patient_order(orderItems=items(1000)))
    assert count_rows(api, AuditEntry) - audits == 1  # one order.create entry each way
    differing = {"id", "createdAt", "updatedAt", "orderEvents", "orderNumber"}
    assert {k: v for k, v in lean_order.items() if k not in differing} == {
        k: v for k, v in route_order.items() if k not in differing
    }
    assert [e["name"] for e in lean_order["orderEvents"]] == [
        e["name"] for e in route_order["orderEvents"]
    ]


# Requests the lean handlers decline: each must get exactly FastAPI's answer.
ACCEPTED = {"an unknown query parameter", "a +json media type"}
DECLINED: list[tuple[str, str, dict[str, Any]]] = [
    ("no key", "POST", {"json": patient_order()}),
    ("empty key", "POST", {"json": patient_order(), "headers": {"Impilo-API-Key": ""}}),
    ("invalid JSON", "POST", {"content": b'{"patient": ', "key": True}),
    ("unknown field", "POST", {"json": patient_order(colour="red"), "key": True}),
    ("JSON null", "POST", {"content": b"null", "key": True}),
    ("an unknown query parameter", "POST", {"json": patient_order(), "key": True, "query": "?x=1"}),
    (
        "a +json media type",
        "POST",
        {"content": json.dumps(patient_order()).encode(), "key": True, "type": "x+json"},
    ),
    ("a wrong key, bad body", "POST", {"json": {"patient": 1}, "key": BAD_KEY}),
    ("letters for an id", "GET", {"id": "abc", "key": True}),
    ("id zero", "GET", {"id": "0", "key": True}),
    ("id beyond 64 bits", "GET", {"id": str(2**63), "key": True}),
    ("signed id", "GET", {"id": "+5", "key": True}),
    ("no key for a fetch", "GET", {"id": "1"}),
    ("a fetch with a query", "GET", {"id": "1", "key": True, "query": "?size=1&size=2"}),
]


def _send(api: Api, key: str, method: str, spec: dict[str, Any]) -> Any:
    headers = dict(spec.get("headers", {}))
    if spec.get("key") is True:
        headers["Impilo-API-Key"] = key
    elif isinstance(spec.get("key"), str):
        headers["Impilo-API-Key"] = spec["key"]
    path = ORDERS if method == "POST" else f"{ORDERS}/{spec['id']}"
    path += spec.get("query", "")
    if method == "GET":
        return api.client.get(path, headers=headers)
    if "content" in spec:
        headers["Content-Type"] = (
            "application/vnd.kitdesk+json" if spec.get("type") else "application/json"
        )
        return api.client.post(path, content=spec["content"], headers=headers)
    return api.client.post(path, json=spec["json"], headers=headers)


@pytest.mark.parametrize(("case", "method", "spec"), DECLINED, ids=[c[0] for c in DECLINED])
def test_a_declined_request_gets_fastapis_own_answer(
    api: Api,
    key: str,
    routed: list[str],
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    method: str,
    spec: dict[str, Any],
) -> None:
    orders = count_rows(api, Order)
    served = answer(_send(api, key, method, spec))
    assert routed, f"{case}: FastAPI's handler never saw the request"
    without_lean(monkeypatch)
    again = answer(_send(api, key, method, spec))
    if case in ACCEPTED:  # the route creates an order each time, with its own id
        assert served[:2] == again[:2] == (201, "application/json")
        assert count_rows(api, Order) == orders + 2
        return
    assert served == again
    assert served[0] >= 400
    assert count_rows(api, Order) == orders  # nothing was created


# Requests the lean handlers answer with an error: the same error FastAPI's route gives.
REFUSED: list[tuple[str, str, dict[str, Any]]] = [
    ("a wrong key", "POST", {"json": patient_order(), "key": BAD_KEY}),
    ("another account's patient", "POST", {"json": patient_order(5678), "key": True}),
    ("missing recipient", "POST", {"json": {"orderItems": items(1000)}, "key": True}),
    ("an unknown item", "POST", {"json": patient_order(orderItems=items(99999)), "key": True}),
    (
        "more than the stock",
        "POST",
        {"json": patient_order(orderItems=items(1000, count=100_000)), "key": True},
    ),
    ("a wrong key for a fetch", "GET", {"id": "1", "key": BAD_KEY}),
    ("an order that does not exist", "GET", {"id": "987654", "key": True}),
]


@pytest.mark.parametrize(("case", "method", "spec"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_lean_refusal_is_the_routes_refusal(
    api: Api,
    key: str,
    routed: list[str],
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    method: str,
    spec: dict[str, Any],
) -> None:
    orders, audits = count_rows(api, Order), count_rows(api, AuditEntry)
    served = answer(_send(api, key, method, spec))
    assert routed == [], f"{case}: the lean handler did not answer"
    lean_audits = count_rows(api, AuditEntry) - audits
    without_lean(monkeypatch)
    assert served == answer(_send(api, key, method, spec))
    assert served[0] in (400, 401, 404, 409)
    # The same audit trail (a refusal's entry, or none), and nothing created either way.
    assert count_rows(api, AuditEntry) - audits == 2 * lean_audits
    assert count_rows(api, Order) == orders


def test_an_order_of_another_account_is_not_found_through_the_lean_fetch(
    api: Api, key: str, other_key: str, routed: list[str]
) -> None:
    created = create(api, key, patient_order())
    response = api.get(f"{ORDERS}/{created['id']}", key=other_key)
    assert response.status_code == 404
    assert routed == []


def test_the_lean_fetch_reads_nothing_of_another_accounts_order(
    api: Api, key: str, other_key: str, backend: str
) -> None:
    # On PostgreSQL the key, the order with its items and parts, and the audit entry are one
    # statement (KEYED_ONE); the items and parts are read only for an order of the key's own
    # account, never to be discarded.
    created = create(api, key, patient_order(orderItems=items(1000, 1001)))
    with api.count_queries() as counter:
        assert api.get(f"{ORDERS}/{created['id']}", key=other_key).status_code == 404
    if backend == "sqlite":
        assert not [s for s in counter.statements if "order_items" in s]
        return

    async def subplans(session: AsyncSession, secret: str) -> list[str]:
        # The plan's nodes under the statement's InitPlans (the items' and the parts' arrays),
        # as EXPLAIN ANALYZE reports they ran; the audit entry it writes is rolled back.
        connection = await session.connection()
        compiled = view_statements.KEYED_ONE.compile(dialect=connection.dialect)
        params = queries.keyed_fetch_params(digest=hash_key(secret), order_id=created["id"])
        arguments = [params[name] for name in compiled.positiontup or ()]
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        explain = "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
        nested = await session.begin_nested()
        plan = [row[0] for row in await raw.fetch(explain + compiled.string, *arguments)]
        await nested.rollback()
        return [plan[i + 1] for i, line in enumerate(plan) if "InitPlan" in line]

    foreign = api.call(lambda session: subplans(session, other_key))
    own = api.call(lambda session: subplans(session, key))
    assert len(foreign) == len(own) == 2
    assert all("never executed" in node for node in foreign)
    assert all("actual rows=1 " in node for node in own)


def test_an_idempotent_order_goes_through_the_route(api: Api, key: str, routed: list[str]) -> None:
    headers = {"Idempotency-Key": "lean-route-1"}
    first = api.post(ORDERS, key=key, json=patient_order(), headers=headers)
    again = api.post(ORDERS, key=key, json=patient_order(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    # The first request joined the idempotency transaction, so FastAPI's route answered it.
    assert routed == ["POST /api/v3/order"]
    assert count_rows(api, Order) == 1


def _statements_of_a_placed_order(api: Api, key: str) -> list[str]:
    return _statements_of_a_placed_order_with(api, key, patient_order(orderItems=items(1000, 1001)))


def _statements_of_a_placed_order_with(api: Api, key: str, body: dict[str, Any]) -> list[str]:
    """Each statement placing an order sends: its first two words, and ``+ i/n`` when it went
    as statement i of n in one message (``driver.run_in_one_message``)."""
    sent: list[str] = []

    def listen(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, *_: Any
    ) -> None:
        words = " ".join(statement.split()[:2])
        if isinstance(context, driver.OneMessage):
            words += f" + {context.position}/{context.count}"
        sent.append(words)

    engine = api.client.app.state.engine.sync_engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", listen)
    try:
        create(api, key, body)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return sent


# On PostgreSQL: the key with the references (and its last use, when due, on its own), then the
# order written and its stock reserved, two statements in one message: no transaction block.
IN_ONE_ROUND_TRIP = ["SELECT api_keys.id,", "WITH new_order + 0/2", "WITH gate + 1/2"]


def test_on_postgresql_a_plain_order_is_written_and_reserved_in_one_round_trip(
    api: Api, key: str, backend: str
) -> None:
    sent = _statements_of_a_placed_order(api, key)
    if backend == "sqlite":  # one transaction: the writes, then the reservation
        assert "WITH new_order" not in sent
        return
    assert [s for s in sent if s != "UPDATE api_keys"] == IN_ONE_ROUND_TRIP


def _subscribe(api: Api, key: str, *types: str) -> list[int]:
    async def subscribe(session: AsyncSession) -> list[int]:
        account_id = await session.scalar(
            select(ApiKey.account_id).where(ApiKey.key_hash == hash_key(key))
        )
        assert account_id is not None
        added = [
            WebhookSubscription(
                account_id=account_id, type=kind, url=f"https://hooks.example.com/{n}"
            )
            for n, kind in enumerate(types)
        ]
        session.add_all(added)
        await session.flush()
        return [subscription.id for subscription in added]

    return api.call(subscribe)


def test_on_postgresql_an_order_placed_in_a_session_commits_with_its_reservation(
    api: Api, key: str, backend: str
) -> None:
    # An account that keeps external order ids unique has its orders placed in a session (the
    # claims may refuse the order): the reservation travels with the commit, behind a savepoint
    # (driver.commit_with); SQLite reserves and then commits as before.
    async def unique_ids(session: AsyncSession) -> None:
        account_id = await session.scalar(
            select(ApiKey.account_id).where(ApiKey.key_hash == hash_key(key))
        )
        account = await session.get(Account, account_id)
        assert account is not None
        account.unique_external_order_ids = True

    api.call(unique_ids)
    sent = _statements_of_a_placed_order(api, key)
    assert (f"SAVEPOINT {driver.COMMIT_SAVEPOINT}" in sent) == (backend == "postgresql")
    # PostgreSQL: the order's rows written by a statement of their own before it.
    assert ("WITH new_order" in sent) == (backend == "postgresql")


def test_on_postgresql_an_order_with_webhook_subscribers_queues_its_events_in_its_statement(
    api: Api, key: str, backend: str
) -> None:
    # The account's subscribers hear of the new order: on PostgreSQL the events are written by
    # the statement writing the order, with the id the key's read drew for the order.
    _subscribe(api, key, "order.status", "order.statusFull")
    sent = _statements_of_a_placed_order(api, key)
    if backend == "sqlite":
        assert "WITH new_order" not in sent
        return
    assert [s for s in sent if s != "UPDATE api_keys"] == IN_ONE_ROUND_TRIP


def _outbox(api: Api) -> list[tuple[Any, ...]]:
    async def read(session: AsyncSession) -> list[tuple[Any, ...]]:
        rows = await session.execute(
            select(
                WebhookEvent.id,
                WebhookEvent.type,
                WebhookEvent.resource_key,
                WebhookEvent.payload,
                WebhookEvent.created_at,
                WebhookDelivery.subscription_id,
                WebhookDelivery.resource_key,
                WebhookDelivery.status,
                WebhookDelivery.attempts,
                WebhookDelivery.next_attempt_at,
                WebhookDelivery.account_id,
                WebhookEvent.account_id,
                WebhookDelivery.id,
            )
            .join(WebhookDelivery, WebhookDelivery.event_id == WebhookEvent.id)
            .order_by(WebhookDelivery.id)
        )
        return [tuple(row) for row in rows]

    return api.call(read)


def test_an_order_queues_the_same_webhook_events_whichever_way_it_is_placed(
    api: Api, key: str, routed: list[str]
) -> None:
    # One order placed by the lean handler (on PostgreSQL: one statement with its events), one
    # by the route (an Idempotency-Key request: a session): the same events, in the same order,
    # to the same subscriptions, each naming its own order.
    status_a, full, status_b = _subscribe(
        api, key, "order.status", "order.statusFull", "order.status"
    )
    body = patient_order(orderItems=items(1000, 1001), externalOrderIds=["same-events"])
    lean = create(api, key, body)
    assert routed == []
    routed_order = api.post(ORDERS, key=key, json=body, headers={"Idempotency-Key": "k-1"})
    assert routed_order.status_code == 201, routed_order.text
    assert routed == ["POST /api/v3/order"]
    rows = _outbox(api)
    # Per order: order.status to its two subscriptions, then order.statusFull to its one.
    assert [(row[1], row[5]) for row in rows] == 2 * [
        ("order.status", status_a),
        ("order.status", status_b),
        ("order.statusFull", full),
    ]
    account = account_of_key(api, key)
    for order, queued in ((lean, rows[:3]), (routed_order.json(), rows[3:])):
        fetched = api.get(f"{ORDERS}/{order['id']}", key=key).json()
        name = f"order:{order['id']}"
        short = {"orderId": order["id"], "orderEventType": "received"}
        assert [row[2:4] for row in queued] == [(name, short), (name, short), (name, fetched)]
        assert all(row[6:9] == (name, "pending", 0) for row in queued)
        assert all(row[10] == row[11] == account for row in queued)
        # Each delivery due as its event is written; two events, the short one first.
        assert all(timedelta(0) <= row[9] - row[4] < timedelta(seconds=5) for row in queued)
        assert queued[0][0] == queued[1][0] < queued[2][0]
        assert queued[0][12] < queued[1][12] < queued[2][12]
    assert lean["id"] < routed_order.json()["id"]


def test_an_id_drawn_for_an_order_is_its_id_whichever_way_it_is_placed(
    api: Api, key: str, backend: str
) -> None:
    # With subscribers, the key's read draws the new order's id on PostgreSQL; an order the one
    # statement does not take (a two-way order) is written with that same id, so none is lost.
    _subscribe(api, key, "order.statusFull")
    ids = [create(api, key, patient_order(orderItems=items(1000)))["id"]]
    two_way = patient_order(orderItems=items(1003), returnItems=items(1003), emailLabel=True)
    ids.append(create(api, key, two_way)["id"])
    ids.append(create(api, key, patient_order(orderItems=items(1001)))["id"])
    assert ids == [ids[0], ids[0] + 1, ids[0] + 2]
    full = [
        row[3]["id"] for row in _outbox(api) if row[1] == "order.statusFull"
    ]  # the events name the same ids
    assert full == ids


def account_of_key(api: Api, key: str) -> int:
    async def read(session: AsyncSession) -> int:
        found = await session.scalar(
            select(ApiKey.account_id).where(ApiKey.key_hash == hash_key(key))
        )
        assert found is not None
        return found

    return api.call(read)


@pytest.mark.parametrize("change", ["deactivated", "expired", "account inactive"])
def test_a_refused_key_gets_no_order_of_its_own_account_from_the_lean_fetch(
    api: Api, key: str, routed: list[str], monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    # On PostgreSQL the lean fetch reads the key and the order of the key's account together;
    # the order must still go unanswered, and unaudited as a read, when the key is refused.
    created = create(api, key, patient_order())
    digest = hash_key(key)
    owner: list[int] = []

    async def refuse(session: AsyncSession) -> None:
        found = await session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
        assert found is not None
        owner.append(found.account_id)
        if change == "deactivated":
            found.deactivated_at = utcnow()
        elif change == "expired":
            found.expires_at = utcnow() - timedelta(seconds=1)
        else:
            account = await session.get(Account, found.account_id)
            assert account is not None
            account.active = False

    api.call(refuse)
    audits = count_rows(api, AuditEntry)
    served = answer(api.get(f"{ORDERS}/{created['id']}", key=key))
    assert routed == []
    assert served[0] == 401
    assert created["patient"]["lastName"] not in json.dumps(served[2])

    async def new_entries(session: AsyncSession) -> list[tuple[str, str, int | None]]:
        rows = await session.execute(
            select(AuditEntry.action, AuditEntry.outcome, AuditEntry.account_id)
            .order_by(AuditEntry.id)
            .offset(audits)
        )
        return [tuple(r) for r in rows]

    # One refusal, naming the key's owner; no read.
    assert api.call(new_entries) == [("order.read", "denied", owner[0])]
    without_lean(monkeypatch)
    assert served == answer(api.get(f"{ORDERS}/{created['id']}", key=key))


@pytest.mark.parametrize("change", ["deactivated", "expired", "account inactive"])
def test_a_refused_key_places_no_order_from_the_lean_create(
    api: Api, key: str, routed: list[str], monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    # The lean create reads the key and what the order refers to in the key's account together;
    # a refused key must still write nothing and learn nothing of its account's rows.
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

    api.call(refuse)
    orders = count_rows(api, Order)
    served = answer(api.post(ORDERS, key=key, json=patient_order()))
    assert routed == []
    assert served[0] == 401
    assert count_rows(api, Order) == orders
    without_lean(monkeypatch)
    assert served == answer(api.post(ORDERS, key=key, json=patient_order()))


def test_an_unknown_key_places_no_order_from_the_lean_create(api: Api, routed: list[str]) -> None:
    orders = count_rows(api, Order)
    response = api.post(ORDERS, key=BAD_KEY, json=patient_order())
    assert routed == []
    assert response.status_code == 401
    assert count_rows(api, Order) == orders


def test_the_lean_create_resolves_references_in_the_keys_own_account_only(
    api: Api, other_key: str, routed: list[str]
) -> None:
    # The second customer's key names the first customer's patient 1234: unknown to it.
    orders = count_rows(api, Order)
    response = api.post(ORDERS, key=other_key, json=patient_order(1234))
    assert routed == []
    assert count_rows(api, Order) == orders
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_patient"


def test_values_written_as_literals_come_back_exactly(api: Api, key: str, backend: str) -> None:
    # On PostgreSQL the order goes to the server as literals in one message: quotes,
    # backslashes, braces, commas, new lines and any Unicode must come back as they were sent.
    odd = ["it's", 'say "hi"', "back\\slash \\n", "{a,b}", "tab\there\nnew line", "ünï 🚚"]
    body = patient_order(
        orderItems=items(1000),
        orderNotes=[{"note": text} for text in odd],
        externalOrderIds=odd,
    )
    sent = _statements_of_a_placed_order_with(api, key, body)
    if backend == "postgresql":
        assert [s for s in sent if s != "UPDATE api_keys"] == IN_ONE_ROUND_TRIP
    placed = api.get(ORDERS, key=key).json()["content"][0]
    fetched = api.get(f"{ORDERS}/{placed['id']}", key=key).json()
    assert fetched["externalOrderIds"] == odd
    assert [note["note"] for note in fetched["orderNotes"]] == odd
    found = api.get(ORDERS, key=key, params={"externalOrderId": "back\\slash \\n"}).json()
    assert [o["id"] for o in found["content"]] == [placed["id"]]
