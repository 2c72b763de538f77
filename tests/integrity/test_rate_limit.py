"""Per-key rate limits: a fixed window per API key, counted in the database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.api.app import create_app
from kitdesk.api.integrity import clock
from kitdesk.db.engine import session_scope
from kitdesk.db.models import IdempotencyKey, Order, RateLimitCounter
from kitdesk.domain.integrity.maintenance import Purged, purge_expired
from kitdesk.settings import Settings
from tests.conftest import TEST_KEYS, Api, assert_problem
from tests.integrity.support import ORDERS, idem, order_body

T = TypeVar("T")
LIMIT = 5
WINDOW = 60
START = datetime(2026, 11, 27, 12, 0, 10, tzinfo=UTC)  # 50 s before its window ends
STATUS_TABLE = "/api/v3/order-status"
MESSAGE = f"rate limit of {LIMIT} requests per {WINDOW} seconds reached for this API key; retry in"


class Clock:
    """The integrity middleware's time, moved by hand."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock(START)
    monkeypatch.setattr(clock, "now", fake)
    return fake


@pytest.fixture
def limited(demo_database_url: str, now: Clock) -> Iterator[TestClient]:
    """The app on the demo data, with LIMIT requests per key per WINDOW seconds."""
    settings = Settings(
        database_url=demo_database_url,
        rate_limit_requests=LIMIT,
        rate_limit_window_seconds=WINDOW,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def _get(client: TestClient, key: str, path: str = STATUS_TABLE) -> int:
    return int(client.get(path, headers={"Impilo-API-Key": key}).status_code)


def test_requests_over_the_limit_get_429_with_retry_after(limited: TestClient) -> None:
    statuses = [_get(limited, TEST_KEYS.customer) for _ in range(LIMIT)]
    assert statuses == [200] * LIMIT
    for _ in range(3):
        r = limited.get(STATUS_TABLE, headers={"Impilo-API-Key": TEST_KEYS.customer})
        assert_problem(r, 429, "too_many_requests", f"{MESSAGE} 50 seconds")
        assert r.headers["retry-after"] == "50"


def test_one_keys_burst_never_throttles_another_tenant(limited: TestClient) -> None:
    for _ in range(LIMIT + 3):
        _get(limited, TEST_KEYS.customer)
    assert _get(limited, TEST_KEYS.customer) == 429
    assert [_get(limited, TEST_KEYS.other_customer) for _ in range(LIMIT)] == [200] * LIMIT


def test_the_next_window_starts_a_new_count(limited: TestClient, now: Clock) -> None:
    for _ in range(LIMIT):
        _get(limited, TEST_KEYS.customer)
    now.moment = START + timedelta(seconds=49)
    assert _get(limited, TEST_KEYS.customer) == 429
    now.moment = START + timedelta(seconds=50)
    assert [_get(limited, TEST_KEYS.customer) for _ in range(LIMIT)] == [200] * LIMIT


def test_a_throttled_post_does_nothing_and_keeps_no_idempotency_key(limited: TestClient) -> None:
    headers = {"Impilo-API-Key": TEST_KEYS.customer, **idem("throttled")}
    for _ in range(LIMIT):
        _get(limited, TEST_KEYS.customer)
    refused = limited.post(ORDERS, json=order_body(), headers=headers)
    assert_problem(refused, 429, "too_many_requests", f"{MESSAGE} 50 seconds")
    assert _in_app(limited, _count(Order)) == 0
    assert _in_app(limited, _count(IdempotencyKey)) == 0


def test_requests_with_an_unknown_key_are_refused_as_unauthenticated(limited: TestClient) -> None:
    r = limited.get(STATUS_TABLE, headers={"Impilo-API-Key": "kd_unknown_key_00000000000"})
    assert_problem(r, 401, "unauthorized")
    assert _count_rows(limited) == 0


def test_old_windows_are_purged(limited: TestClient, now: Clock) -> None:
    _get(limited, TEST_KEYS.customer)
    _get(limited, TEST_KEYS.other_customer)
    now.moment = START + timedelta(seconds=WINDOW)
    _get(limited, TEST_KEYS.customer)

    async def purge(session: AsyncSession) -> Purged:
        return await purge_expired(session, settings=Settings(), now=now.moment)

    assert _in_app(limited, purge) == Purged(idempotency_keys=0, rate_limit_counters=2)
    assert _count_rows(limited) == 1


def test_rate_limiting_is_off_by_default(api: Api, key: str) -> None:
    assert Settings().rate_limit_requests is None
    statuses = {api.get(STATUS_TABLE, key=key).status_code for _ in range(30)}
    assert statuses == {200}
    assert _count_rows(api.client) == 0


def _count(model: type[Any]) -> Callable[[AsyncSession], Awaitable[int]]:
    async def count(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    return count


def _count_rows(client: TestClient) -> int:
    return _in_app(client, _count(RateLimitCounter))


def _in_app(client: TestClient, fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``fn`` in one committed transaction on the app's database."""

    async def run() -> T:
        factory = client.app.state.session_factory  # type: ignore[attr-defined]
        async with session_scope(factory) as session:
            return await fn(session)

    assert client.portal is not None
    return client.portal.call(run)
