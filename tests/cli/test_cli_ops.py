"""The operator's commands: warehouses, stock and orders, run on the demo data.

Demo accounts: operator 1, Demo Clinic 2 (site 1234, patient 1234), Riverside 3. Warehouse 1
(MAIN) holds 200 devices of items 1000-1002 and counted items 1003 and 1005.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, api_client
from tests.conftest import TEST_KEYS

DEMO_CUSTOMER = "2"
STOCK_HEADER = "warehouse\titem\ton_hand\treserved\tavailable\tname\n"


@pytest.fixture
def demo(demo_database_url: str) -> Cli:
    """``kitdesk`` on a database holding the demo data."""
    return Cli(demo_database_url)


def stock_row(cli: Cli, warehouse: int, item: int) -> str:
    out = cli.ok("stock", "show", "--warehouse", str(warehouse), "--item", str(item))
    header, *rows = out.splitlines(keepends=True)
    assert header == STOCK_HEADER
    assert len(rows) == 1
    return rows[0]


def create_order(cli: Cli, *args: str) -> int:
    out = cli.ok("orders", "create", "--account", DEMO_CUSTOMER, *args)
    found = re.fullmatch(r"order (\d+) created \(received\) at warehouse 1\n", out)
    assert found, out
    return int(found.group(1))


def test_warehouses_are_created_and_listed(demo: Cli) -> None:
    assert demo.ok("warehouses", "list") == "1\tMAIN\tMain warehouse\n"
    assert demo.ok("warehouses", "create", "EAST-1", "East depot") == (
        "warehouse 2 created (EAST-1)\n"
    )
    assert demo.ok("warehouses", "list") == "1\tMAIN\tMain warehouse\n2\tEAST-1\tEast depot\n"
    line = demo.fails("warehouses", "create", "EAST-1", "Again", code=4)
    assert line == "error: a warehouse with code EAST-1 exists"


@pytest.mark.parametrize(
    ("code", "name", "message"),
    [
        (
            "",
            "Nameless code",
            "error: invalid input: code: String should have at least 1 character",
        ),
        ("X" * 33, "Long", "error: invalid input: code: String should have at most 32 characters"),
        ("W2", " ", "error: invalid input: name: Value error, must not be blank"),
    ],
)
def test_a_warehouse_with_a_bad_code_or_name_is_one_line_error(
    demo: Cli, code: str, name: str, message: str
) -> None:
    assert demo.fails("warehouses", "create", code, name, code=2) == message
    assert demo.ok("warehouses", "list") == "1\tMAIN\tMain warehouse\n"


def test_counted_stock_is_received_and_shown(demo: Cli) -> None:
    demo.ok("warehouses", "create", "EAST", "East depot")
    out = demo.ok("stock", "receive", "--warehouse", "2", "--item", "1003", "--quantity", "40")
    assert out == "received 40 of item 1003 at warehouse 2\n"
    assert stock_row(demo, 2, 1003) == "2\t1003\t40\t0\t40\tGlucose test strips (50)\n"
    everything = demo.ok("stock", "show")
    assert everything.startswith(STOCK_HEADER + "1\t1000\t200\t0\t200\tBlood pressure monitor\n")
    assert everything.endswith("2\t1003\t40\t0\t40\tGlucose test strips (50)\n")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--item", "1000", "--quantity", "1"], 2, "error: item 1000 is serialized: receive its "
         "units as devices (serialized items are received as devices)"),
        (["--item", "4242", "--quantity", "1"], 2, "error: item 4242 not found"),
        (["--item", "1003", "--quantity", "0"], 2,
         "error: invalid input: --quantity: Input should be greater than or equal to 1"),
        (["--item", "1003", "--quantity", "1", "--warehouse", "9"], 3,
         "error: fulfillment site 9 not found"),
    ],
)  # fmt: skip
def test_a_bad_stock_receipt_is_one_line_error(
    demo: Cli, args: list[str], code: int, message: str
) -> None:
    base = [] if "--warehouse" in args else ["--warehouse", "1"]
    assert demo.fails("stock", "receive", *base, *args, code=code) == message
    assert stock_row(demo, 1, 1003) == "1\t1003\t100000\t0\t100000\tGlucose test strips (50)\n"


def test_devices_are_received_from_options(demo: Cli) -> None:
    out = demo.ok(
        "stock", "receive-devices", "--warehouse", "1", "--item", "1001",
        "--identifier", "WS-NEW-1", "--identifier", "WS-NEW-2",
    )  # fmt: skip
    assert out == "received 2 device(s) of item 1001 at warehouse 1\n"
    assert stock_row(demo, 1, 1001) == "1\t1001\t202\t0\t202\tWeight scale\n"


@pytest.mark.parametrize(
    "content",
    [
        "serial\nWS-CSV-1\nWS-CSV-2\n\nWS-CSV-3\n",
        "WS-CSV-1\nWS-CSV-2\nWS-CSV-3\n",
        "\ufeffSerial,lot\r\nWS-CSV-1,L1\r\nWS-CSV-2,L1\r\nWS-CSV-3,L2\r\n",
        "lot,serial\nL1,WS-CSV-1\nL1,WS-CSV-2\nL2,WS-CSV-3\n",
    ],
    ids=["header", "headerless", "excel", "second column"],
)
def test_devices_are_received_from_a_csv_file(demo: Cli, tmp_path: Path, content: str) -> None:
    path = tmp_path / "serials.csv"
    path.write_text(content, encoding="utf-8")
    out = demo.ok(
        "stock", "receive-devices", "--warehouse", "1", "--item", "1001",
        "--csv", str(path), "--identifier", "WS-OPT-1",
    )  # fmt: skip
    assert out == "received 4 device(s) of item 1001 at warehouse 1\n"
    with api_client(demo.database_url) as client:
        r = client.post(
            "/api/v3/ops/fulfillment-site/1/devices",
            headers={"Impilo-API-Key": TEST_KEYS.operator},
            json={"itemId": 1001, "identifiers": ["WS-CSV-1", "WS-CSV-3", "WS-OPT-1"]},
        )
    assert r.status_code == 400
    assert [e["field"] for e in r.json()["errors"]] == [
        "identifiers[0]",
        "identifiers[1]",
        "identifiers[2]",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "error: no such file: {path}"),
        ("", "error: no identifiers in {path}"),
        ("serial\n", "error: no identifiers in {path}"),
        (b"\xff\xfeW\x00S\x00", "error: {path} is not a UTF-8 text file"),
    ],
    ids=["missing", "empty", "header only", "not utf-8"],
)
def test_a_csv_without_identifiers_is_one_line_error(
    demo: Cli, tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "serials.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    line = demo.fails(
        "stock", "receive-devices", "--warehouse", "1", "--item", "1001", "--csv", str(path),
        code=2,
    )  # fmt: skip
    assert line == message.format(path=path)
    assert stock_row(demo, 1, 1001) == "1\t1001\t200\t0\t200\tWeight scale\n"


def test_duplicate_devices_are_one_line_error_naming_each(demo: Cli) -> None:
    line = demo.fails(
        "stock", "receive-devices", "--warehouse", "1", "--item", "1000",
        "--identifier", "IMEI-1000-000001", "--identifier", "N1", "--identifier", "N1",
        code=2,
    )  # fmt: skip
    assert line == (
        "error: some identifiers cannot be received (a device with imei IMEI-1000-000001 "
        "already exists; N1 appears twice in this receipt)"
    )
    line = demo.fails("stock", "receive-devices", "--warehouse", "1", "--item", "1000", code=2)
    assert line == "error: give --identifier or --csv"


def test_orders_are_created_for_a_patient_and_for_a_site(demo: Cli) -> None:
    first = create_order(demo, "--patient", "1234", "--item", "1003:5", "--kit", "1000")
    second = create_order(demo, "--site", "1234", "--item", "1000:2", "--shipping", "overnight")
    assert second == first + 1
    assert stock_row(demo, 1, 1000) == "1\t1000\t200\t3\t197\tBlood pressure monitor\n"
    assert stock_row(demo, 1, 1003) == "1\t1003\t100000\t5\t99995\tGlucose test strips (50)\n"
    shown = json.loads(demo.ok("orders", "show", str(second)))
    assert shown["site"]["id"] == 1234
    assert shown["patient"] is None
    assert shown["shippingOption"] == "overnight"
    assert [(line["item"]["id"], line["count"]) for line in shown["orderItems"]] == [(1000, 2)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--patient", "1234", "--item", "abc"], "error: --item takes ID:COUNT, got 'abc'"),
        (["--patient", "1234", "--item", "1003:"], "error: --item takes ID:COUNT, got '1003:'"),
        (["--patient", "1234", "--kit", "1000:x"], "error: --kit takes ID:COUNT, got '1000:x'"),
        (["--patient", "1234", "--item", "1003:0"],
         "error: invalid input: --item: Input should be greater than or equal to 1"),
        (["--item", "1003:1"], "error: patient or site required"),
        (["--patient", "1234", "--item", "1000:999"], "error: insufficient_inventory"),
    ],
)  # fmt: skip
def test_a_bad_order_is_one_line_error(demo: Cli, args: list[str], message: str) -> None:
    line = demo.fails("orders", "create", "--account", DEMO_CUSTOMER, *args, code=2)
    assert line == message
    assert stock_row(demo, 1, 1003) == "1\t1003\t100000\t0\t100000\tGlucose test strips (50)\n"


def test_an_order_is_moved_from_received_to_delivered(demo: Cli) -> None:
    order = create_order(demo, "--patient", "1234", "--item", "1000:1", "--item", "1003:2")
    for status, extra in (
        ("processing", []),
        ("packed", []),
        ("shipped", ["--tracking", "UPS:1Z999AA10123456784"]),
        ("delivered", ["--note", "Left with a neighbour"]),
    ):
        out = demo.ok("orders", "move", str(order), status, *extra)
        assert out == f"order {order} is now {status}\n"
    shown = json.loads(demo.ok("orders", "show", str(order)))
    assert shown["currentStatus"] == "delivered"
    assert [e["name"] for e in shown["orderEvents"]] == [
        "received",
        "processing",
        "packed",
        "shipped",
        "delivered",
    ]
    assert shown["trackingNumbers"] == [{"carrier": "UPS", "value": "1Z999AA10123456784"}]
    assert [n["note"] for n in shown["orderNotes"]] == ["Left with a neighbour"]
    [device] = shown["devices"]
    assert device["currentStatus"] == "withPatient"
    assert stock_row(demo, 1, 1000) == "1\t1000\t199\t0\t199\tBlood pressure monitor\n"
    with api_client(demo.database_url) as client:
        seen = client.get(f"/api/v3/order/{order}", headers={"Impilo-API-Key": TEST_KEYS.customer})
    assert seen.json() == shown


def test_an_illegal_or_malformed_move_is_one_line_error(demo: Cli) -> None:
    order = create_order(demo, "--patient", "1234", "--item", "1003:1")
    line = demo.fails("orders", "move", str(order), "shipped", code=4)
    assert line == (
        f"error: order {order} is received; it can move to: processing, cancelled, onHold"
    )
    demo.ok("orders", "move", str(order), "processing")
    demo.ok("orders", "move", str(order), "packed")
    line = demo.fails("orders", "move", str(order), "shipped", code=2)
    assert line == (
        "error: shipping needs at least one tracking number "
        "(at least one tracking number is required)"
    )
    line = demo.fails("orders", "move", str(order), "shipped", "--tracking", "1Z999", code=2)
    assert line == "error: --tracking takes CARRIER:NUMBER, got '1Z999'"
    line = demo.fails("orders", "move", "99999", "processing", code=3)
    assert line == "error: order 99999 not found"
    assert demo.fails("orders", "show", "99999", code=3) == "error: order 99999 not found"
    shown = json.loads(demo.ok("orders", "show", str(order)))
    assert shown["currentStatus"] == "packed"
