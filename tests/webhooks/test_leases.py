"""Leases: a claimed delivery is reserved until its lease runs out; a late result is ignored."""

from __future__ import annotations

from datetime import datetime, timedelta

from kitdesk.db.base import utcnow
from kitdesk.domain.webhooks.delivery import judge
from kitdesk.domain.webhooks.worker import Job, claim, record
from kitdesk.settings import Settings
from tests.conftest import Api
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import Worker, account_of, emit_event, log_page, subscribe


def claim_now(api: Api, settings: Settings, now: datetime) -> list[Job]:
    """Claim like a worker that then dies before sending anything."""
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]

    async def go() -> list[Job]:
        return await claim(factory, settings, now=now)

    assert api.client.portal is not None
    return api.client.portal.call(go)


def test_a_claimed_delivery_waits_for_its_lease_to_run_out(
    api: Api, key: str, receiver: Receiver, worker: Worker, worker_settings: Settings
) -> None:
    subscribe(api, key, receiver.url())
    emit_event(api, account_of(api, key))
    now = utcnow()
    lease = timedelta(seconds=worker_settings.webhook_lease_seconds)

    [job] = claim_now(api, worker_settings, now)

    assert claim_now(api, worker_settings, now) == []
    assert worker.run(now + lease - timedelta(seconds=1)) == 0
    assert worker.run(now + lease) == 1
    assert [str(r.event_id) for r in receiver.received()] == [job.headers["Kitdesk-Event-Id"]]


def test_a_result_recorded_after_the_lease_was_lost_does_not_change_the_delivery(
    api: Api, key: str, receiver: Receiver, worker: Worker, worker_settings: Settings
) -> None:
    subscribe(api, key, receiver.url())
    emit_event(api, account_of(api, key))
    now = utcnow()
    [stale] = claim_now(api, worker_settings, now)
    later = now + timedelta(seconds=worker_settings.webhook_lease_seconds)
    worker.run(later)
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]

    async def late_result() -> None:
        await record(factory, worker_settings, [(stale, judge(500, 5))], now=later)

    assert api.client.portal is not None
    api.client.portal.call(late_result)

    [log] = log_page(api, key)["content"]
    assert (log["status"], log["lastResponseStatus"], log["retryAttempts"]) == ("succeeded", 200, 0)
    assert [(a["responseStatus"], a["outcome"]) for a in log["attempts"]] == [
        (200, "succeeded"),
        (500, "stale"),
    ]
