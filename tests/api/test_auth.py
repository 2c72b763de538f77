"""Authentication: the Impilo-API-Key header, key expiry, deactivation, last use and storage."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.base import UTCDateTime, utcnow
from kitdesk.db.models import Account, ApiKey
from kitdesk.domain import demo
from kitdesk.domain.accounts import service as accounts
from tests.conftest import Api, assert_problem

MISSING = "missing Impilo-API-Key header"
REFUSED = "invalid, expired or deactivated API key"
ORDER = {"site": {"id": 1234}, "orderItems": [{"item": {"id": 1003}, "count": 1}]}

# (method, path, json body) of customer endpoints that all need a key.
ENDPOINTS: list[tuple[str, str, Any]] = [
    ("GET", "/api/v3/item", None),
    ("GET", "/api/v3/item/1000", None),
    ("GET", "/api/v3/kit", None),
    ("GET", "/api/v3/kit/1000", None),
    ("GET", "/api/v3/order", None),
    ("GET", "/api/v3/order/1", None),
    ("GET", "/api/v3/order-status", None),
    ("GET", "/api/v3/patient", None),
    ("GET", "/api/v3/site/1234", None),
    ("POST", "/api/v3/order", ORDER),
    ("POST", "/api/v3/order", {}),
    ("POST", "/api/v3/site", {"name": "Never created"}),
    ("PATCH", "/api/v3/patient/1234", {"firstName": "Never"}),
]


def send(api: Api, endpoint: tuple[str, str, Any], key: str | None) -> Any:
    method, path, body = endpoint
    return api.request(method, path, key=key, json=body)


def assert_refused(response: Any, message: str) -> None:
    assert_problem(response, 401, "unauthorized", message)
    assert response.headers["www-authenticate"] == "Impilo-API-Key"


def demo_account(api: Api) -> int:
    found = api.call(
        lambda s: s.scalar(select(Account.id).where(Account.name == demo.DEMO_CUSTOMER))
    )
    assert found is not None
    return found


def new_key(api: Api, **kwargs: Any) -> accounts.IssuedKey:
    account = demo_account(api)
    return api.call(lambda s: accounts.create_key(s, account_id=account, name="test", **kwargs))


def stored_key(api: Api, key_id: int) -> ApiKey:
    async def load(session: AsyncSession) -> ApiKey:
        return await session.get_one(ApiKey, key_id)

    return api.call(load)


def set_key(api: Api, key_id: int, **values: Any) -> None:
    async def change(session: AsyncSession) -> None:
        await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(**values))

    api.call(change)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_request_without_a_key_is_401(api: Api, demo_keys: demo.DemoKeys, endpoint: Any) -> None:
    assert_refused(send(api, endpoint, None), MISSING)
    assert_refused(send(api, endpoint, ""), MISSING)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e[0]} {e[1]}")
def test_request_with_an_unknown_key_is_401(
    api: Api, demo_keys: demo.DemoKeys, endpoint: Any
) -> None:
    assert_refused(send(api, endpoint, "kd_not-a-key-kitdesk-ever-issued"), REFUSED)
    assert_refused(send(api, endpoint, demo_keys.customer[:-1]), REFUSED)
    assert_refused(send(api, endpoint, demo_keys.customer[:12]), REFUSED)


def test_refused_requests_write_nothing(api: Api, demo_keys: demo.DemoKeys) -> None:
    for endpoint in ENDPOINTS:
        send(api, endpoint, "kd_not-a-key-kitdesk-ever-issued")
    counts = api.call(
        lambda s: s.execute(
            text("SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM sites)")
        )
    ).one()
    assert tuple(counts) == (0, 2)
    patient = api.get("/api/v3/patient/1234", key=demo_keys.customer).json()
    assert patient["firstName"] == "Alex"


def test_valid_key_is_accepted_on_every_endpoint(api: Api, key: str) -> None:
    for path in ("/api/v3/item", "/api/v3/kit/1000", "/api/v3/order", "/api/v3/patient"):
        assert api.get(path, key=key).status_code == 200, path
    assert api.post("/api/v3/order", key=key, json=ORDER).status_code == 201


def test_expired_key_is_401(api: Api, key: str) -> None:
    issued = new_key(api, expires_at=utcnow() + timedelta(days=1))
    assert api.get("/api/v3/item", key=issued.secret).status_code == 200
    set_key(api, issued.key.id, expires_at=utcnow() - timedelta(seconds=1))
    for endpoint in ENDPOINTS:
        assert_refused(send(api, endpoint, issued.secret), REFUSED)


# Key states around one instant ``NOW``, and whether a key in that state is accepted then.
NOW = utcnow()
KEY_STATES: list[tuple[str, dict[str, Any], bool]] = [
    ("no expiry", {}, True),
    ("expires a microsecond later", {"expires_at": NOW + timedelta(microseconds=1)}, True),
    ("expires at that instant", {"expires_at": NOW}, False),
    ("expired a second before", {"expires_at": NOW - timedelta(seconds=1)}, False),
    ("deactivated", {"deactivated_at": NOW - timedelta(days=1)}, False),
    ("deactivated later", {"deactivated_at": NOW + timedelta(days=1)}, False),
    ("account inactive", {"account_active": False}, False),
]


@pytest.mark.parametrize(
    ("state", "values", "accepted"), KEY_STATES, ids=[k[0] for k in KEY_STATES]
)
def test_the_sql_twin_of_the_key_check_judges_every_key_as_the_check_does(
    api: Api, key: str, state: str, values: dict[str, Any], accepted: bool
) -> None:
    # An order fetch on PostgreSQL writes its audit entry only where ``key_accepted`` holds, in
    # the statement that reads the key; ``check_key`` then judges the same row at the same time.
    issued = new_key(api)
    changes = dict(values)
    account_active = changes.pop("account_active", True)
    if changes:
        set_key(api, issued.key.id, **changes)

    async def judge(session: AsyncSession) -> tuple[bool, bool]:
        if not account_active:
            await session.execute(
                update(Account).where(Account.id == issued.key.account_id).values(active=False)
            )
        twin = select(accounts.key_accepted(bindparam("now", type_=UTCDateTime)))
        found = await session.scalar(
            twin.select_from(ApiKey.__table__.join(Account.__table__)).where(
                ApiKey.id == issued.key.id
            ),
            {"now": NOW},
        )
        try:
            await accounts.check_key(session, issued.secret, now=NOW)
        except accounts.Unauthorized:
            checked = False
        else:
            checked = True
        await session.rollback()
        return bool(found), checked

    assert api.call(judge) == (accepted, accepted)


def test_key_cannot_be_created_already_expired(api: Api, key: str) -> None:
    account = demo_account(api)
    with pytest.raises(accounts.Invalid) as caught:
        api.call(lambda s: accounts.create_key(s, account_id=account, expires_at=utcnow()))
    assert (caught.value.code, caught.value.message) == (
        "invalid_expiry",
        "expiry must be in the future",
    )


def test_deactivated_key_is_401_while_other_keys_still_work(api: Api, key: str) -> None:
    issued = new_key(api)
    spare = new_key(api)
    assert api.get("/api/v3/kit", key=issued.secret).status_code == 200
    api.call(lambda s: accounts.deactivate_key(s, key_id=issued.key.id))
    for endpoint in ENDPOINTS:
        assert_refused(send(api, endpoint, issued.secret), REFUSED)
    assert api.get("/api/v3/kit", key=spare.secret).status_code == 200


def test_key_of_a_deactivated_account_is_401(api: Api, key: str) -> None:
    account = demo_account(api)

    async def deactivate(session: AsyncSession) -> None:
        await session.execute(update(Account).where(Account.id == account).values(active=False))

    api.call(deactivate)
    assert_refused(api.get("/api/v3/item", key=key), REFUSED)


def test_last_use_of_a_key_is_recorded(api: Api, key: str) -> None:
    issued = new_key(api)
    assert stored_key(api, issued.key.id).last_used_at is None
    before = utcnow()
    assert api.get("/api/v3/item", key=issued.secret).status_code == 200
    used = stored_key(api, issued.key.id).last_used_at
    assert used is not None
    assert before <= used <= utcnow()


def test_last_use_is_recorded_even_when_the_request_fails(api: Api, key: str) -> None:
    issued = new_key(api)
    r = api.get("/api/v3/kit/999999", key=issued.secret)
    assert_problem(r, 404, "not_found", "kit 999999 not found")
    assert stored_key(api, issued.key.id).last_used_at is not None
    set_key(api, issued.key.id, last_used_at=None)
    r = api.post("/api/v3/order", key=issued.secret, json={"site": {"id": 1234}})
    assert r.status_code == 400
    assert stored_key(api, issued.key.id).last_used_at is not None


def test_last_use_is_refreshed_once_it_is_a_minute_old(api: Api, key: str) -> None:
    issued = new_key(api)
    stale = utcnow() - timedelta(minutes=5)
    set_key(api, issued.key.id, last_used_at=stale)
    assert api.get("/api/v3/item", key=issued.secret).status_code == 200
    refreshed = stored_key(api, issued.key.id).last_used_at
    assert refreshed is not None
    assert refreshed > stale + timedelta(minutes=4)


def test_refused_keys_do_not_record_a_use(api: Api, key: str) -> None:
    issued = new_key(api)
    api.call(lambda s: accounts.deactivate_key(s, key_id=issued.key.id))
    assert_refused(api.get("/api/v3/item", key=issued.secret), REFUSED)
    assert stored_key(api, issued.key.id).last_used_at is None


def test_keys_are_stored_only_as_sha256_hashes_with_a_visible_prefix(
    api: Api, demo_keys: demo.DemoKeys
) -> None:
    issued = new_key(api)
    secrets = [demo_keys.customer, demo_keys.other_customer, demo_keys.operator, issued.secret]
    rows = api.call(lambda s: s.execute(text("SELECT * FROM api_keys ORDER BY id"))).all()
    assert len(rows) == 4
    for row, secret in zip(rows, secrets, strict=True):
        stored = " ".join(str(value) for value in row)
        assert secret not in stored
        values = row._mapping
        assert values["key_hash"] == hashlib.sha256(secret.encode()).hexdigest()
        assert values["prefix"] == secret[:12]
        assert secret.startswith("kd_")
        assert len(secret) >= 40


@pytest.mark.parametrize("idempotent", [False, True])
def test_last_use_follows_the_configured_resolution_on_every_path(
    api: Api, key: str, idempotent: bool
) -> None:
    # KITDESK_API_KEY_LAST_USED_SECONDS: an hour here, so a use 5 minutes old is not rewritten,
    # whether the request is authenticated by its route or by the Idempotency-Key middleware.
    api.client.app.state.settings.api_key_last_used_seconds = 3600  # type: ignore[attr-defined]
    issued = new_key(api)
    recent = utcnow() - timedelta(minutes=5)
    set_key(api, issued.key.id, last_used_at=recent)
    headers = {"Idempotency-Key": "resolution-check-1"} if idempotent else {}
    r = api.post("/api/v3/order", key=issued.secret, json={"site": {"id": 1234}}, headers=headers)
    assert r.status_code == 400, r.text
    assert stored_key(api, issued.key.id).last_used_at == recent
    set_key(api, issued.key.id, last_used_at=utcnow() - timedelta(hours=2))
    headers = {"Idempotency-Key": "resolution-check-2"} if idempotent else {}
    r = api.post("/api/v3/order", key=issued.secret, json={"site": {"id": 1234}}, headers=headers)
    assert r.status_code == 400, r.text
    refreshed = stored_key(api, issued.key.id).last_used_at
    assert refreshed is not None
    assert refreshed > utcnow() - timedelta(minutes=1)
