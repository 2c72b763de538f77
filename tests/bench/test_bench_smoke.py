"""The benchmark's smoke mode, so that bench/ cannot rot.

On PostgreSQL the whole ``bench/run --smoke`` runs (seeding, capture, wrk, pgbench, soak,
report, chart) in a database of its own beside the test database. On SQLite, the stages that
need no PostgreSQL run: seeding, the statement capture from a real server, the pgbench scripts,
and the report and chart. No timing is asserted, only that every stage produced its numbers.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest
from bench.capture import capture
from bench.database import database_for_tests
from bench.loadgen import Sample
from bench.measure import Point, captured_for, script_kind
from bench.scripts import write_scripts
from bench.seed import SMOKE, DataSet, seed
from bench.traffic import endpoints

from bench import chart, report

ROOT = Path(__file__).resolve().parents[2]
SMOKE_TIMEOUT_SECONDS = 900
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NUMBER_COLUMNS = [
    c for c in report.COLUMNS if c not in ("endpoint", "conns", "per worker", "errors", "tx/req")
]
# Explicit transactions (BEGIN ... COMMIT) per request: one, but none for the order fetch and the
# list pages (which ask for no filter) on PostgreSQL, whose statements each commit by themselves.
# On PostgreSQL every endpoint sends statements that commit by themselves, order creation
# included (a read, then one statement writing the order and reserving its stock).
AUTOCOMMIT_ENDPOINTS = {
    "postgresql": {
        e.name for e in endpoints(DataSet.of(SMOKE)) if e.mode in ("post", "fetch", "list", "deep")
    },
    "sqlite": set(),
}


@pytest.mark.slow
def test_smoke_benchmark_reports_every_endpoint_with_positive_numbers(
    backend: str, tmp_path: Path
) -> None:
    assert backend in ("sqlite", "postgresql")
    if backend == "postgresql":
        _whole_smoke_run(os.environ["KITDESK_TEST_DATABASE_URL"], tmp_path)
    else:
        _capture_and_report_on_sqlite(tmp_path)


def _expected_endpoints() -> list[str]:
    return [e.name for e in endpoints(DataSet.of(SMOKE))]


def _assert_report(path: Path, backend: str) -> None:
    rows = report.read_table(path)
    assert [r["endpoint"] for r in rows] == _expected_endpoints()
    for r in rows:
        assert r["conns"] == "1"
        # The one connection, found held by one of the two workers.
        assert sorted(r["per worker"].split("/")) == ["0", "1"], r["per worker"]
        assert r["errors"] == "0"
        for column in NUMBER_COLUMNS:
            assert float(r[column]) > 0, (r["endpoint"], column, r[column])
        explicit = 0 if r["endpoint"] in AUTOCOMMIT_ENDPOINTS[backend] else 1
        assert float(r["tx/req"]) == explicit, (r["endpoint"], r["tx/req"])
    assert path.with_suffix(".png").read_bytes().startswith(PNG_MAGIC)
    assert "## Targets (at 1 connections)" in path.read_text(encoding="utf-8")


def _whole_smoke_run(test_database_url: str, results: Path) -> None:
    db = database_for_tests(test_database_url, "_bench_smoke")
    done = subprocess.run(
        [
            str(ROOT / "bench" / "run"),
            "--smoke",
            "--server-url",
            db.server_url,
            "--database",
            db.name,
            "--results",
            str(results),
        ],
        capture_output=True,
        text=True,
        timeout=SMOKE_TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [path] = results.glob("*.md")
    _assert_report(path, "postgresql")
    text = path.read_text(encoding="utf-8")
    assert "peak RSS (VmHWM)" in text
    assert "Flatness: 2 s of mixed traffic" in text


def _capture_and_report_on_sqlite(folder: Path) -> None:
    url = f"sqlite:///{folder / 'bench.db'}"
    data = asyncio.run(seed(url, SMOKE))
    captured = capture(url, data, folder)
    scripts = write_scripts(captured, data, folder / "scripts")
    post = scripts["post"][0].read_text(encoding="utf-8")
    assert "\\gset new_" in post
    assert ":new_id" in post
    # The customer's webhook subscriptions: the captured order queues its events.
    assert "INSERT INTO webhook_events" in post
    assert "INSERT INTO webhook_deliveries" in post
    assert scripts["fetch"][0].read_text(encoding="utf-8").startswith("\\set oid random(1, 1200)")
    assert len(scripts["list"]) == data.list_pages
    points = []
    for n, endpoint in enumerate(endpoints(data), start=1):
        requests = captured_for(endpoint, captured)
        assert scripts[script_kind(endpoint)]
        sample = Sample(requests=100 * n, seconds=2.0, p50_ms=1.5 * n, p99_ms=4.0 * n, errors=0)
        statements = sum(r.statements for r in requests) / len(requests)
        transactions = sum(r.transactions for r in requests) / len(requests)
        points.append(
            Point(endpoint.name, 1, sample, sample, statements, transactions, 0.5, (1, 0))
        )
    machine = report.Machine.here("none (SQLite)")
    text = report.render(points, {1: 2048}, None, machine, report.describe(data, 2, 2, 0))
    path = report.write(folder / "results", text, machine)
    chart.draw(points, path.with_suffix(".png"), "smoke")
    _assert_report(path, "sqlite")
