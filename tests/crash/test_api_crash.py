"""Crash durability of order creation: under a load of order creations, each with its own
Idempotency-Key, the API server is killed with SIGKILL (or, on PostgreSQL, the database is
stopped at once). After the restart every order acknowledged with a 201 is there with its stock
reserved, and every key, sent again with the same body, ends with exactly one order.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections import Counter
from pathlib import Path

import httpx

from kitdesk.domain.integrity import idempotency
from tests.conftest import PG_URL_ENV, backends
from tests.crash import records
from tests.crash.creations import (
    CONCURRENCY,
    KEYS,
    FirstRound,
    body_of,
    first_round,
    key_of,
    second_round,
    units_of,
)
from tests.crash.databases import own_demo_database
from tests.crash.postgres import cluster_of, restarted_afterwards
from tests.servers import running_servers, start_server, stop

# A claim left in flight by a request that died is taken over by its retry after a second.
SERVER_ENV = {"KITDESK_IDEMPOTENCY_ABANDON_SECONDS": "1"}


def assert_the_blow_landed_mid_load(first: FirstRound, *, server_errors: bool) -> None:
    assert first.blown
    statuses = Counter(None if a is None else a.status_code for a in first.answers.values())
    assert statuses[201] < KEYS  # some requests were cut off by the blow
    allowed = {201, None} | ({500, 503} if server_errors else set())
    assert set(statuses) <= allowed, statuses


def assert_one_order_per_key(
    database_url: str, first: FirstRound, final: dict[str, httpx.Response]
) -> dict[str, int]:
    """Each key has exactly one order, the one its 201s named; returns key -> order id."""
    assert {r.status_code for r in final.values()} == {201}
    ids = {key: int(response.json()["id"]) for key, response in final.items()}
    for key, answer in first.answers.items():
        if answer is not None and answer.status_code == 201:
            # Acknowledged before the blow: the retry replays that very answer.
            assert final[key].headers.get("idempotent-replayed") == "true"
            assert final[key].content == answer.content
    assert len(set(ids.values())) == KEYS
    assert records.orders_by_external_id(database_url) == {k: [i] for k, i in ids.items()}
    assert records.order_ids(database_url) == sorted(ids.values())
    states = records.idempotency_states(database_url)
    assert sorted(states) == sorted(ids)
    assert idempotency.IN_FLIGHT not in states.values()  # every key holds its stored answer
    return ids


def assert_stock_reserved_for_each_order(database_url: str, ids: dict[str, int]) -> None:
    expected = {ids[key_of(n)]: units_of(body_of(n)) for n in range(KEYS)}
    assert records.reservations(database_url) == expected
    total: Counter[int] = sum(expected.values(), Counter())
    assert +records.reserved_stock(database_url) == total


def test_orders_acknowledged_before_the_api_is_killed_survive_and_retried_keys_make_one_each(
    backend: str, demo_database_url: str, tmp_path: Path
) -> None:
    concurrency = CONCURRENCY[backend]
    server = start_server(demo_database_url, tmp_path / "killed.log", extra_env=SERVER_ENV)
    try:
        kill = functools.partial(stop, server.process, kill=True)
        first = asyncio.run(first_round(server.base_url, kill, concurrency=concurrency))
    finally:
        stop(server.process, kill=True)
    with running_servers(demo_database_url, tmp_path, extra_env=SERVER_ENV) as [restarted]:
        final = asyncio.run(
            second_round(restarted.base_url, concurrency=concurrency, server_errors=False)
        )

    assert_the_blow_landed_mid_load(first, server_errors=False)
    ids = assert_one_order_per_key(demo_database_url, first, final)
    assert_stock_reserved_for_each_order(demo_database_url, ids)


if "postgresql" in backends():  # stopping the database server only makes sense there

    def test_orders_acknowledged_before_postgresql_stops_survive_its_restart(
        tmp_path: Path,
    ) -> None:
        test_url = os.environ[PG_URL_ENV]
        cluster = cluster_of(test_url)
        with own_demo_database(test_url, "crash") as database_url:
            with running_servers(database_url, tmp_path, extra_env=SERVER_ENV) as [server]:
                with restarted_afterwards(cluster):
                    first = asyncio.run(
                        first_round(
                            server.base_url,
                            cluster.stop_immediately,
                            concurrency=CONCURRENCY["postgresql"],
                        )
                    )
                final = asyncio.run(
                    second_round(
                        server.base_url, concurrency=CONCURRENCY["postgresql"], server_errors=True
                    )
                )

            assert_the_blow_landed_mid_load(first, server_errors=True)
            ids = assert_one_order_per_key(database_url, first, final)
            assert_stock_reserved_for_each_order(database_url, ids)
