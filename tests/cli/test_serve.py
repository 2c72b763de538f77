"""``kitdesk serve`` really starts: a server process that answers the guide's first example."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

DEMO_KEY = "kd_serve-test-demo-customer-key"
# Long enough for a cold start (migrations, demo data) on a busy machine; only bounds the wait.
START_DEADLINE_SECONDS = 60

# The Order Management Guide's "Create Patient Order Example", unchanged.
GUIDE_PATIENT_ORDER = {
    "externalOrderIds": ["xyz_123_0", "xyz_123_1", "xyz_123_2", "xyz_123_3"],
    "patient": {"id": 1234, "sex": "unknown"},
    "orderItems": [
        {"item": {"id": 1000}, "count": 10},
        {"item": {"id": 1001}, "count": 10},
        {"item": {"id": 1002}, "count": 10},
        {"item": {"id": 1003}, "count": 10},
    ],
    "orderKits": [
        {"kit": {"id": 1000}, "count": 10},
        {"kit": {"id": 1001}, "count": 10},
        {"kit": {"id": 1002}, "count": 10},
        {"kit": {"id": 1003}, "count": 10},
    ],
    "shippingOption": "standard",
}


@dataclass
class Server:
    """A running ``kitdesk serve`` process and where its output goes."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_live(server: Server) -> None:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"kitdesk serve exited early:\n{server.output()}")
        try:
            if httpx.get(f"{server.base_url}/livez", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"kitdesk serve did not answer /livez:\n{server.output()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """``kitdesk serve`` on a free port and a new SQLite file; stopped whatever the test does."""
    port = _free_port()
    env = {
        **os.environ,
        "KITDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "KITDESK_DEMO_API_KEY": DEMO_KEY,
        "KITDESK_HOST": "127.0.0.1",
    }
    command = [str(Path(sys.executable).parent / "kitdesk"), "serve", "--port", str(port)]
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=tmp_path
        )
    try:
        yield Server(process=process, base_url=f"http://127.0.0.1:{port}", log=log)
    finally:
        _stop(process)


def test_serve_starts_with_demo_data_and_takes_the_guides_patient_order(server: Server) -> None:
    _wait_until_live(server)
    assert f"  Demo customer API key:  {DEMO_KEY}\n" in server.output()

    response = httpx.post(
        f"{server.base_url}/api/v3/order",
        headers={"Impilo-API-Key": DEMO_KEY, "Content-Type": "application/json"},
        json=GUIDE_PATIENT_ORDER,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["patient"]["id"] == 1234
    assert order["externalOrderIds"] == GUIDE_PATIENT_ORDER["externalOrderIds"]
    assert order["currentStatus"] == "received"
    assert httpx.get(f"{server.base_url}/api/v3/order", timeout=30).status_code == 401
