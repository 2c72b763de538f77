"""External order ids repeat by default; an account setting makes them unique (409 on reuse)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.engine import create_engine, create_session_factory, session_scope
from kitdesk.db.models import Account
from kitdesk.domain.demo import DemoKeys
from kitdesk.domain.integrity import external_ids
from kitdesk.domain.orders import new_rows
from kitdesk.settings import Settings
from tests.conftest import Api, assert_problem
from tests.integrity.support import DEMO_ACCOUNT, ORDERS, order_body, order_count, reserved

ACCOUNT = f"/api/v3/ops/account/{DEMO_ACCOUNT}"


def _order(api: Api, key: str, *ids: str) -> Any:
    return api.post(ORDERS, key=key, json=order_body(externalOrderIds=list(ids)))


def _unique(api: Api, demo_keys: DemoKeys, on: bool) -> None:
    r = api.patch(ACCOUNT, key=demo_keys.operator, json={"uniqueExternalOrderIds": on})
    assert r.status_code == 200, r.text
    assert r.json()["uniqueExternalOrderIds"] is on


def _assert_duplicate(response: Any, value: str, order_id: int, field: str) -> None:
    message = f"externalOrderId {value} is already used by order {order_id}"
    body = assert_problem(response, 409, "duplicate_external_order_id", message)
    assert body["errors"] == [{"field": field, "message": message}]


def test_external_ids_may_repeat_by_default(api: Api, key: str) -> None:
    first = _order(api, key, "xyz_123_0", "xyz_123_1")
    second = _order(api, key, "xyz_123_0", "xyz_123_1")
    assert first.status_code == second.status_code == 201
    found = api.get(f"{ORDERS}?externalOrderId=xyz_123_0", key=key).json()
    assert [o["id"] for o in found["content"]] == [first.json()["id"], second.json()["id"]]


def test_with_the_setting_on_reusing_an_id_is_refused_naming_the_order(
    api: Api, key: str, demo_keys: DemoKeys
) -> None:
    _unique(api, demo_keys, True)
    first = _order(api, key, "po-1")
    assert first.status_code == 201, first.text
    before = reserved(api)
    again = _order(api, key, "po-2", "po-1")
    _assert_duplicate(again, "po-1", first.json()["id"], "externalOrderIds[1]")
    assert order_count(api) == 1
    assert reserved(api) == before
    # The refused order claimed nothing: its other id is still free.
    assert _order(api, key, "po-2").status_code == 201


def test_turning_the_setting_on_claims_the_ids_of_existing_orders(
    api: Api, key: str, demo_keys: DemoKeys
) -> None:
    oldest = _order(api, key, "legacy").json()
    assert _order(api, key, "legacy").status_code == 201  # allowed while the setting is off
    _unique(api, demo_keys, True)
    _assert_duplicate(_order(api, key, "legacy"), "legacy", oldest["id"], "externalOrderIds[0]")


def test_other_accounts_and_one_orders_own_repeats_are_not_duplicates(
    api: Api, key: str, other_key: str, demo_keys: DemoKeys
) -> None:
    _unique(api, demo_keys, True)
    assert _order(api, key, "same", "same").status_code == 201
    theirs = api.post(
        ORDERS, key=other_key, json=order_body(patient_id=5678, externalOrderIds=["same"])
    )
    assert theirs.status_code == 201, theirs.text
    assert (
        api.post(
            ORDERS, key=other_key, json=order_body(patient_id=5678, externalOrderIds=["same"])
        ).status_code
        == 201
    )


def test_turning_the_setting_off_allows_reuse_again(
    api: Api, key: str, demo_keys: DemoKeys
) -> None:
    _unique(api, demo_keys, True)
    _order(api, key, "again")
    _unique(api, demo_keys, False)
    assert _order(api, key, "again").status_code == 201


def test_the_setting_can_be_changed_without_http(api: Api, key: str) -> None:
    async def turn_on(session: AsyncSession) -> Account:
        return await external_ids.set_unique(session, account_id=DEMO_ACCOUNT, unique=True)

    assert api.call(turn_on).unique_external_order_ids is True
    first = _order(api, key, "cli").json()
    _assert_duplicate(_order(api, key, "cli"), "cli", first["id"], "externalOrderIds[0]")


def test_the_operator_reads_and_changes_an_account(api: Api, demo_keys: DemoKeys) -> None:
    r = api.get(ACCOUNT, key=demo_keys.operator)
    assert r.status_code == 200
    body = r.json()
    assert {k: body[k] for k in ("id", "name", "kind", "active")} == {
        "id": DEMO_ACCOUNT,
        "name": "Demo Clinic",
        "kind": "customer",
        "active": True,
    }
    assert body["uniqueExternalOrderIds"] is False
    unchanged = api.patch(ACCOUNT, key=demo_keys.operator, json={})
    assert unchanged.json() == body


def test_account_settings_are_for_operators_only(api: Api, key: str) -> None:
    r = api.patch(ACCOUNT, key=key, json={"uniqueExternalOrderIds": True})
    assert_problem(r, 403, "forbidden", "this endpoint needs an operator key")


def test_changing_an_unknown_account_is_404(api: Api, demo_keys: DemoKeys) -> None:
    r = api.patch(
        "/api/v3/ops/account/999", key=demo_keys.operator, json={"uniqueExternalOrderIds": True}
    )
    assert_problem(r, 404, "not_found", "account 999 not found")


def test_a_setting_that_is_not_a_boolean_is_refused(api: Api, demo_keys: DemoKeys) -> None:
    for body in ({"uniqueExternalOrderIds": "yes"}, {"uniqueExternalIds": True}):
        r = api.patch(ACCOUNT, key=demo_keys.operator, json=body)
        assert_problem(r, 400, "invalid_request")
    assert api.get(ACCOUNT, key=demo_keys.operator).json()["uniqueExternalOrderIds"] is False


def test_an_order_read_before_the_setting_went_on_is_still_held_to_it(
    api: Api, key: str, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    # On PostgreSQL the lean handler reads the account's setting with the key, then places an
    # order of an account without the setting by one statement that claims nothing. The setting
    # switched on between the two must still refuse a reused id: the statement sees it and
    # writes nothing, and the order is placed the way that claims its ids.
    if backend == "sqlite":  # the read and the write share one transaction there
        return
    oldest = _order(api, key, "switched").json()
    read = new_rows.keyed_references
    database_url = api.client.app.state.settings.database_url  # type: ignore[attr-defined]

    async def then_switch_on(*args: Any, **kwargs: Any) -> Any:
        found = await read(*args, **kwargs)
        engine = create_engine(Settings(database_url=database_url))
        try:
            async with session_scope(create_session_factory(engine)) as session:
                await external_ids.set_unique(session, account_id=DEMO_ACCOUNT, unique=True)
        finally:
            await engine.dispose()
        return found

    monkeypatch.setattr(new_rows, "keyed_references", then_switch_on)
    before = (order_count(api), reserved(api))
    refused = _order(api, key, "switched")
    monkeypatch.undo()
    _assert_duplicate(refused, "switched", oldest["id"], "externalOrderIds[0]")
    assert (order_count(api), reserved(api)) == before
