"""The issue's targets, checked against one run's points at its highest concurrency."""

from __future__ import annotations

from dataclasses import dataclass

from bench.measure import Point


@dataclass(frozen=True)
class Target:
    """One target: what is asked, what the run measured, and whether that meets it."""

    name: str
    wanted: str
    measured: str
    met: bool


def _at(points: list[Point], prefix: str, connections: int) -> Point | None:
    for p in points:
        if p.connections == connections and p.endpoint.startswith(prefix):
            return p
    return None


def check(points: list[Point]) -> tuple[int, list[Target]]:
    """The targets at the run's highest concurrency (16 in a full run)."""
    if not points:
        return 0, []
    conns = max(p.connections for p in points)
    post = _at(points, "POST /api/v3/order", conns)
    fetch = _at(points, "GET /api/v3/order/{id}", conns)
    pages = _at(points, "GET /api/v3/order?page=1..", conns)
    deep = next(
        (
            p
            for p in points
            if p.connections == conns
            and p.endpoint.startswith("GET /api/v3/order?page=")
            and p is not pages
        ),
        None,
    )
    found: list[Target] = []
    if post is not None:
        found += _ratio_and_p99("POST /api/v3/order", post, 0.50, 50.0)
    if fetch is not None:
        found += _ratio_and_p99("GET /api/v3/order/{id}", fetch, 0.25, 20.0)
    if pages is not None:
        found.append(
            Target(
                "list page of 50: service ÷ ceiling",
                "≥ 0.50",
                f"{pages.ratio:.2f}",
                pages.ratio >= 0.50,
            )
        )
    if pages is not None and deep is not None and deep.service.rate:
        cost = pages.service.rate / deep.service.rate  # time per deep page ÷ per first pages
        found.append(
            Target("deep page cost ÷ first pages' cost", "≤ 5x", f"{cost:.1f}x", cost <= 5.0)
        )
    return conns, found


def _ratio_and_p99(name: str, p: Point, ratio: float, p99_ms: float) -> list[Target]:
    return [
        Target(f"{name}: service ÷ ceiling", f"≥ {ratio:.2f}", f"{p.ratio:.2f}", p.ratio >= ratio),
        Target(
            f"{name}: p99",
            f"≤ {p99_ms:g} ms",
            f"{p.service.p99_ms:.1f} ms ({_beside(p)})",
            p.service.p99_ms <= p99_ms,
        ),
    ]


def _beside(p: Point) -> str:
    # What a p99 is read beside: the ceiling's own p99 (PostgreSQL alone on the same SQL and
    # concurrency, which a service cannot beat), and how the load generator's connections fell
    # between the workers.
    beside = f"ceiling {p.ceiling.p99_ms:.1f} ms"
    if p.split:
        beside += f"; {'/'.join(map(str, p.split))} connections per worker"
    return beside


def lines(points: list[Point]) -> list[str]:
    """The targets as a Markdown section."""
    conns, found = check(points)
    if not found:
        return []
    out = [
        f"## Targets (at {conns} connections)",
        "",
        "| target | wanted | measured | met |",
        "|---|---|---|---|",
    ]
    out += [f"| {t.name} | {t.wanted} | {t.measured} | {'yes' if t.met else 'no'} |" for t in found]
    return [*out, ""]
