"""Crash proof of webhook delivery: the processes that deliver webhooks are killed with SIGKILL
again and again under a load of order changes. Afterwards every committed change has exactly
its event, delivered at least once; nothing is sent for a change that rolled back; and no
delivery is ever being sent twice at the same time.

PostgreSQL: two ``kitdesk worker`` processes share the work, and one of them is killed at every
blow. SQLite: one worker at a time (SQLite's write lock serializes claims anyway), killed at
every blow; the guarantees asserted are the same.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import TEST_KEYS
from tests.crash import records
from tests.crash.fleets import WorkerFleet, worker_fleet
from tests.crash.load import API_KEY_HEADER, Change, Ledger, run_load
from tests.crash.receiver import Arrival, running_receiver

# Requests sent side by side. SQLite serializes every transaction on its write lock (with a
# 10-second busy timeout), so fewer lanes there keep a loaded machine from timing out on it.
LANES = {"postgresql": 6, "sqlite": 3}
MAX_ORDERS = 15  # per lane
KILLS = 6
# Bounded wait for the last worker to deliver what is left (leases run out after 15 seconds).
DRAIN_POLLS = 600
DRAIN_PAUSE_SECONDS = 0.2
REFUSALS = {(400, "non_orderable_items"), (400, "invalid_packing")}


def subscribe(base_url: str, url: str) -> None:
    response = httpx.post(
        f"{base_url}/api/v3/webhook",
        json={"type": "order.status", "url": url},
        headers={API_KEY_HEADER: TEST_KEYS.customer},
    )
    assert response.status_code == 201, response.text


def load_under_blows(fleet: WorkerFleet, lanes: int) -> Ledger:
    """The load, while workers are killed; it stops placing orders after the last blow."""
    blows_over = threading.Event()

    def blows() -> None:
        try:
            fleet.kill_repeatedly(kills=KILLS, seed=20)
        finally:
            blows_over.set()

    async def go() -> Ledger:
        results = await asyncio.gather(
            run_load(fleet.target(), lanes=lanes, orders_per_lane=MAX_ORDERS, until=blows_over),
            asyncio.to_thread(blows),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        assert isinstance(results[0], Ledger)
        return results[0]

    return asyncio.run(go())


def wait_until_delivered(database_url: str) -> None:
    for _ in range(DRAIN_POLLS):
        if records.pending_deliveries(database_url) == 0:
            return
        time.sleep(DRAIN_PAUSE_SECONDS)
    raise AssertionError("deliveries still pending after the last worker ran")


def assert_ledger_matches(ledger: Ledger, committed: list[Change]) -> None:
    """Every acknowledged change committed, once; nothing else did (no refused change)."""
    assert ledger.unexpected == []
    assert ledger.refused
    assert set(ledger.refused) <= REFUSALS
    assert [c for c, n in collections.Counter(committed).items() if n > 1] == []
    assert set(committed) == ledger.acknowledged


def assert_received_exactly(
    arrivals: list[Arrival], committed: list[Change], outbox: dict[int, tuple[str, Any]]
) -> dict[int, dict[str, Any]]:
    """One event per committed change, re-sent (if at all) byte for byte; returns the events."""
    bodies: dict[int, set[bytes]] = collections.defaultdict(set)
    for arrival in arrivals:
        bodies[arrival.event_id].add(arrival.body)
    assert [event_id for event_id, sent in bodies.items() if len(sent) > 1] == []
    events = {a.event_id: a.json() for a in arrivals}
    assert {e["type"] for e in events.values()} == {"order.status"}
    assert sorted(events) == sorted(outbox)
    assert all(outbox[i] == ("order.status", e["payload"]) for i, e in events.items())
    received = collections.Counter(
        (e["payload"]["orderId"], e["payload"]["orderEventType"]) for e in events.values()
    )
    assert received == collections.Counter(committed)
    return events


def assert_delivered_in_order(
    arrivals: list[Arrival], first_success: dict[int, int], events: dict[int, dict[str, Any]]
) -> None:
    """Every event was answered 2xx; an order's next event came only after that answer."""
    assert sorted(first_success) == sorted(events)
    first_arrival: dict[int, int] = {}
    for arrival in arrivals:
        first_arrival.setdefault(arrival.event_id, arrival.seq)
    by_order: dict[int, list[int]] = collections.defaultdict(list)
    for event_id in sorted(events):
        by_order[events[event_id]["payload"]["orderId"]].append(event_id)
    early = [
        (earlier, later)
        for ids in by_order.values()
        for earlier, later in itertools.pairwise(ids)
        if first_arrival[later] < first_success[earlier]
    ]
    assert early == []


def assert_deliveries_settled(database_url: str, events: dict[int, dict[str, Any]]) -> None:
    """Every delivery succeeded, by an attempt that never overlapped another of its own."""
    deliveries = records.deliveries(database_url)
    assert sorted(event_id for _, event_id, _ in deliveries) == sorted(events)
    assert {status for _, _, status in deliveries} == {"succeeded"}
    attempts = records.attempts(database_url)
    assert records.overlapping_attempts(attempts) == []
    assert {a.outcome for a in attempts} <= {"succeeded", "retry", "stale"}
    succeeded = {a.delivery_id for a in attempts if a.outcome == "succeeded"}
    assert succeeded == {delivery_id for delivery_id, _, _ in deliveries}


def test_killed_webhook_workers_still_deliver_every_committed_order_change_and_nothing_else(
    backend: str, demo_database_url: str, tmp_path: Path
) -> None:
    with running_receiver() as receiver:
        with worker_fleet(backend, demo_database_url, tmp_path) as fleet:
            subscribe(fleet.target(), f"{receiver.base_url}/hook")
            ledger = load_under_blows(fleet, LANES[backend])
            fleet.finish()
            wait_until_delivered(demo_database_url)
            receiver.wait_until_idle()
        arrivals, first_success, overlaps = receiver.snapshot()
    committed = records.committed_changes(demo_database_url)
    assert_ledger_matches(ledger, committed)
    events = assert_received_exactly(arrivals, committed, records.outbox(demo_database_url))
    assert overlaps == []  # never two requests for one event at once
    assert_delivered_in_order(arrivals, first_success, events)
    assert_deliveries_settled(demo_database_url, events)
