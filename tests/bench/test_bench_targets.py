"""The report's targets section judges the highest-concurrency points against the issue's bars."""

from __future__ import annotations

import dataclasses

from bench.loadgen import Sample
from bench.measure import Point

from bench import targets

NAMES = {
    "post": "POST /api/v3/order",
    "fetch": "GET /api/v3/order/{id}",
    "pages": "GET /api/v3/order?page=1..20&size=50",
    "deep": "GET /api/v3/order?page=2000&size=50",
}


def _point(kind: str, conns: int, rate: float, ceiling: float, p99: float) -> Point:
    return Point(
        endpoint=NAMES[kind],
        connections=conns,
        service=Sample(requests=int(rate * 10), seconds=10, p50_ms=1, p99_ms=p99, errors=0),
        ceiling=Sample(requests=int(ceiling * 10), seconds=10, p50_ms=1, p99_ms=1, errors=0),
        statements=5,
        transactions=1,
        cpu_per_1k=1,
    )


def _run(post: float, fetch: float, pages: float, deep: float) -> list[Point]:
    slow = [_point(k, 1, 1, 1000, 999) for k in NAMES]  # a lower concurrency is not judged
    return [
        *slow,
        _point("post", 16, post, 1000, 40),
        _point("fetch", 16, fetch, 1000, 25),
        _point("pages", 16, pages, 1000, 10),
        _point("deep", 16, deep, 1000, 10),
    ]


def _verdicts(points: list[Point]) -> dict[str, tuple[str, bool]]:
    conns, found = targets.check(points)
    assert conns == 16
    return {t.name: (t.measured, t.met) for t in found}


def test_each_target_is_met_or_missed_by_its_own_figure() -> None:
    verdicts = _verdicts(_run(post=500, fetch=240, pages=600, deep=100))

    assert verdicts == {
        "POST /api/v3/order: service ÷ ceiling": ("0.50", True),
        "POST /api/v3/order: p99": ("40.0 ms (ceiling 1.0 ms)", True),
        "GET /api/v3/order/{id}: service ÷ ceiling": ("0.24", False),
        "GET /api/v3/order/{id}: p99": ("25.0 ms (ceiling 1.0 ms)", False),
        "list page of 50: service ÷ ceiling": ("0.60", True),
        "deep page cost ÷ first pages' cost": ("6.0x", False),
    }


def test_the_section_lists_every_target_with_its_verdict() -> None:
    text = "\n".join(targets.lines(_run(post=400, fetch=300, pages=400, deep=200)))

    assert "## Targets (at 16 connections)" in text
    assert "| deep page cost ÷ first pages' cost | ≤ 5x | 2.0x | yes |" in text
    assert "| POST /api/v3/order: service ÷ ceiling | ≥ 0.50 | 0.40 | no |" in text


def test_a_p99_names_the_ceilings_own_and_how_the_connections_fell_between_the_workers() -> None:
    points = _run(post=500, fetch=240, pages=600, deep=100)
    points[-3] = dataclasses.replace(points[-3], split=(11, 5))  # the fetch at 16 connections

    verdicts = _verdicts(points)

    assert verdicts["GET /api/v3/order/{id}: p99"] == (
        "25.0 ms (ceiling 1.0 ms; 11/5 connections per worker)",
        False,
    )
    assert verdicts["POST /api/v3/order: p99"] == ("40.0 ms (ceiling 1.0 ms)", True)
