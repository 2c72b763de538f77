"""Capturing the SQL one request of each kind makes, from the service itself.

The capture server (``bench.capture_app``) writes every statement with its parameters as
literals between a request's start and end markers; requests are sent one at a time, each kind
once to warm up and then once for real.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.seed import DataSet
from bench.server import capture_server
from bench.traffic import ORDER_PATH, list_target, order_body

# Not statements of the request's own: transaction control and SQLite's connection pragmas.
CONTROL = ("BEGIN", "SAVEPOINT", "RELEASE", "PRAGMA", "COMMIT", "ROLLBACK")


@dataclass
class Captured:
    """What one HTTP request sent to the database, in order."""

    method: str
    target: str
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def statements(self) -> int:
        """SQL statements sent (an executemany counts once), transaction control left out."""
        return sum(
            1
            for e in self.events
            if e["kind"] == "sql" and not e["statements"][0].lstrip().upper().startswith(CONTROL)
        )

    @property
    def transactions(self) -> int:
        return sum(1 for e in self.events if e["kind"] == "begin")


@dataclass
class Capture:
    """One request of each kind, as the service ran it."""

    post: Captured
    new_order_id: int  # the id of the order that request created
    fetch: Captured
    fetch_order_id: int
    pages: list[Captured]  # pages 1..list_pages
    deep: Captured


def read_capture(path: Path) -> list[Captured]:
    """The capture file's requests, each with its statements and transaction boundaries."""
    requests: list[Captured] = []
    current: Captured | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        if entry["kind"] == "request":
            current = Captured(entry["method"], entry["target"])
            requests.append(current)
        elif entry["kind"] == "end":
            current = None
        elif current is not None:
            current.events.append(entry)
    return [r for r in requests if r.target.startswith(ORDER_PATH)]


def fetch_order_id(data: DataSet) -> int:
    """A seeded order from the middle of the table, for the fetch capture."""
    low, high = data.order_ids
    return low + (high - low) // 2 + 7


def capture(database_url: str, data: DataSet, folder: Path) -> Capture:
    """Run the capture server on the seeded database and record one request of each kind."""
    path = folder / "capture.jsonl"
    with capture_server(database_url, folder / "capture-server.log", path) as server:
        new_order_id = _send(server.base_url, data)
    requests = read_capture(path)
    pages = requests[-(data.list_pages + 2) : -2]
    capture = Capture(
        post=requests[1],
        new_order_id=new_order_id,
        fetch=requests[3],
        fetch_order_id=fetch_order_id(data),
        pages=pages,
        deep=requests[-1],
    )
    expected = [list_target(n) for n in range(1, data.list_pages + 1)]
    if [p.target for p in pages] != expected or capture.post.method != "POST":
        raise RuntimeError(f"the capture file does not hold the requests sent: {path}")
    return capture


def _send(base_url: str, data: DataSet) -> int:
    """Each kind twice (the first warms the server up), the list pages once after a warm-up;
    returns the id of the order the second POST created."""
    headers = {"Impilo-API-Key": data.key, "Content-Type": "application/json"}
    patient = str(data.patient_ids[0])
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:

        def call(method: str, target: str, body: str | None = None) -> dict[str, Any]:
            response = client.request(method, target, content=body)
            if response.status_code not in (200, 201):
                raise RuntimeError(f"{method} {target}: {response.status_code} {response.text}")
            result: dict[str, Any] = response.json()
            return result

        call("POST", ORDER_PATH, order_body(patient, "capture-0"))
        new_order_id = int(call("POST", ORDER_PATH, order_body(patient, "capture-1"))["id"])
        for _ in range(2):
            call("GET", f"{ORDER_PATH}/{fetch_order_id(data)}")
        call("GET", list_target(1))
        for page in range(1, data.list_pages + 1):
            call("GET", list_target(page))
        for _ in range(2):
            call("GET", list_target(data.deep_page))
    return new_order_id
