"""Workers running for real: two at once never send one delivery twice; in-process; the command."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.api.app import create_app
from kitdesk.domain.webhooks import emit
from kitdesk.domain.webhooks.worker import run_worker
from tests.conftest import Api
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import account_of, deliveries, settings_for, subscribe

EVENTS = 60
# Bounds on waiting for deliveries (never a timing assertion): at most this many short polls.
MAX_POLLS = 3000
POLL_SECONDS = 0.02


def emit_many(api: Api, account: int, count: int) -> None:
    """``count`` events over 20 orders, in one transaction."""

    async def work(session: AsyncSession) -> None:
        for n in range(count):
            await emit(
                session,
                account_id=account,
                type="order.status",
                resource_key=f"order:{n % 20}",
                payload={"orderId": n % 20, "orderEventType": f"step{n}"},
            )

    api.call(work)


def wait_for(receiver: Receiver, count: int) -> None:
    for _ in range(MAX_POLLS):
        if len(receiver.received()) >= count:
            return
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"receiver got {len(receiver.received())} of {count} deliveries")


def test_two_concurrent_workers_deliver_every_event_exactly_once(
    api: Api, key: str, receiver: Receiver
) -> None:
    subscribe(api, key, receiver.url())
    emit_many(api, account_of(api, key), EVENTS)
    settings = settings_for(api, webhook_worker_batch_size=4, webhook_worker_poll_seconds=0.01)

    async def two_workers() -> None:
        stop = asyncio.Event()
        workers = [asyncio.create_task(run_worker(settings, stop)) for _ in range(2)]
        try:
            await asyncio.to_thread(wait_for, receiver, EVENTS)
        finally:
            stop.set()
            await asyncio.gather(*workers)

    asyncio.run(two_workers())

    seen = collections.Counter(r.event_id for r in receiver.received())
    rows = deliveries(api)
    assert [event for event, times in seen.items() if times > 1] == []
    assert sorted(seen) == sorted(d.event_id for d in rows)
    assert {(d.status, d.attempts) for d in rows} == {("succeeded", 1)}


def test_server_runs_the_worker_in_process_when_configured(
    api: Api, key: str, receiver: Receiver
) -> None:
    subscribe(api, key, receiver.url())
    settings = settings_for(api, webhook_worker_in_process=True, webhook_worker_poll_seconds=0.02)

    with TestClient(create_app(settings)):
        emit_many(api, account_of(api, key), 3)
        wait_for(receiver, 3)

    assert len(receiver.received()) == 3
    assert {d.status for d in deliveries(api)} == {"succeeded"}


def test_worker_command_delivers_and_stops_on_sigterm(
    api: Api, key: str, receiver: Receiver
) -> None:
    subscribe(api, key, receiver.url())
    emit_many(api, account_of(api, key), 2)
    settings = settings_for(api)
    env: dict[str, Any] = {
        **os.environ,
        "KITDESK_DATABASE_URL": settings.database_url,
        "KITDESK_WEBHOOK_WORKER_POLL_SECONDS": "0.05",
    }
    code = "import typer; from kitdesk.cli.worker import worker; typer.run(worker)"
    process = subprocess.Popen(
        [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_for(receiver, 2)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)

    assert process.returncode == 0, err.decode()
    assert out.decode().splitlines() == [
        "webhook worker started; stop it with Ctrl-C or SIGTERM",
        "webhook worker stopped",
    ]
    assert len(receiver.received()) == 2
