"""The ``kitdesk`` command: items, kits and customer catalogs."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Cli, api_client


@pytest.fixture
def accounts(cli: Cli) -> Cli:
    """Customer 1 (Acme Clinic), customer 2 (Riverside) and operator 3."""
    cli.ok("accounts", "create", "Acme Clinic")
    cli.ok("accounts", "create", "Riverside")
    cli.ok("accounts", "create", "Kitdesk Logistics", "--operator")
    return cli


@pytest.fixture
def items(cli: Cli) -> Cli:
    """Items 1 (serialized monitor), 2 (counted strips), 3 (counted batteries)."""
    cli.ok("items", "create", "BP monitor", "--sku", "BP-1", "--identifier-type", "imei")
    cli.ok("items", "create", "Test strips", "--sku", "TS-1")
    cli.ok("items", "create", "Batteries", "--sku", "AAA-4")
    return cli


def test_items_are_created_and_listed(cli: Cli) -> None:
    assert cli.ok("items", "list") == ""
    out = cli.ok(
        "items", "create", "BP monitor", "--model", "BP-200", "--sku", "BP-1",
        "--manufacturer", "Acme Medical", "--identifier-type", "imei",
    )  # fmt: skip
    assert out == "item 1 created (sku BP-1)\n"
    out = cli.ok(
        "items", "create", "Pulse oximeter", "--identifier-type", "serial", "--not-orderable"
    )
    generated = out.removeprefix("item 2 created (sku ").removesuffix(")\n")
    assert generated.startswith("KD-")
    assert len(generated) == 11
    assert cli.ok("items", "list") == (
        f"1\tBP-1\timei\tBP monitor\n2\t{generated}\tserial\tPulse oximeter\tNOT ORDERABLE\n"
    )


def test_item_can_be_withdrawn_from_ordering_and_approved_again(items: Cli) -> None:
    assert items.ok("items", "set-orderable", "2", "false") == "item 2 orderable=False\n"
    assert "2\tTS-1\tcounted\tTest strips\tNOT ORDERABLE\n" in items.ok("items", "list")
    assert items.ok("items", "set-orderable", "2", "true") == "item 2 orderable=True\n"
    assert "2\tTS-1\tcounted\tTest strips\n" in items.ok("items", "list")


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["items", "create", "Thermometer", "--identifier-type", "barcode"],
            2,
            "invalid input: --identifier-type: Input should be 'simCardNumber', 'macAddress', "
            "'iccid', 'serial' or 'imei'",
        ),
        (
            ["items", "create", ""],
            2,
            "invalid input: NAME: String should have at least 1 character",
        ),
        (
            ["items", "create", "Scale", "--sku", "x" * 201],
            2,
            "invalid input: --sku: String should have at most 200 characters",
        ),
        (
            ["items", "create", "Strips again", "--sku", "TS-1"],
            4,
            "an item with sku TS-1 already exists",
        ),
        (["items", "set-orderable", "99", "true"], 3, "item 99 not found"),
    ],
)
def test_bad_item_input_is_a_one_line_error(
    items: Cli, args: list[str], code: int, message: str
) -> None:
    before = items.ok("items", "list")
    assert items.fails(*args, code=code) == f"error: {message}"
    assert items.ok("items", "list") == before


def test_kits_are_created_listed_and_archived(accounts: Cli, items: Cli) -> None:
    out = items.ok(
        "kits", "create", "Starter kit", "--item", "1:1", "--item", "3:2", "--account", "1"
    )
    assert out == "kit 1 created\n"
    assert items.ok("kits", "create", "Loaner kit", "--item", "1", "--loaner") == "kit 2 created\n"
    assert items.ok("kits", "list") == (
        "1\taccount 1\tStarter kit\t[1x1, 3x2]\n2\tshared\tLoaner kit\t[1x1] loaner\n"
    )
    assert items.ok("kits", "archive", "2") == "kit 2 archived\n"
    assert items.ok("kits", "list").endswith("2\tshared\tLoaner kit\t[1x1] loaner archived\n")
    assert items.ok("kits", "archive", "2", "--undo") == "kit 2 restored\n"
    assert items.ok("kits", "list").endswith("2\tshared\tLoaner kit\t[1x1] loaner\n")
    assert items.fails("kits", "archive", "99", code=3) == "error: kit 99 not found"


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--item", "abc"], 2, "--item takes ITEM_ID:COUNT, got 'abc'"),
        (["--item", "1:x"], 2, "--item takes ITEM_ID:COUNT, got '1:x'"),
        (["--item", "1:"], 2, "--item takes ITEM_ID:COUNT, got '1:'"),
        (["--item", "1:-2"], 2, "--item takes ITEM_ID:COUNT, got '1:-2'"),
        (["--item", "\u00b2:1"], 2, "--item takes ITEM_ID:COUNT, got '\u00b2:1'"),
        (
            ["--item", "1:0"],
            2,
            "invalid input: count in --item 1:0: Input should be greater than or equal to 1",
        ),
        (
            ["--item", "0:1"],
            2,
            "invalid input: item id in --item 0:1: Input should be greater than or equal to 1",
        ),
        (
            ["--item", "1", "--item", "99:2", "--item", "98"],
            2,
            "the kit names unknown items (item 99 not found; item 98 not found)",
        ),
        (["--item", "1", "--account", "99"], 2, "account 99 not found"),
        (["--item", "1", "--account", "3"], 2, "account 3 is not a customer account"),
    ],
)
def test_bad_kit_input_is_a_one_line_error(
    accounts: Cli, items: Cli, extra: list[str], code: int, message: str
) -> None:
    assert items.fails("kits", "create", "Broken kit", *extra, code=code) == f"error: {message}"
    assert items.ok("kits", "list") == ""


def test_catalog_grant_adds_each_item_once(accounts: Cli, items: Cli) -> None:
    assert items.ok("catalog", "grant", "--account", "1", "1", "2") == (
        "2 item(s) granted to account 1\n"
    )
    assert items.ok("catalog", "grant", "--account", "1", "2", "3", "3") == (
        "1 item(s) granted to account 1\n"
    )
    assert items.ok("catalog", "grant", "--account", "1", "1") == "0 item(s) granted to account 1\n"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--account", "1", "1", "99", "98"], 2, "unknown items: 99, 98"),
        (["--account", "99", "1"], 3, "account 99 not found"),
        (["--account", "3", "1"], 2, "account 3 is not a customer account"),
    ],
)
def test_catalog_grant_refuses_unknown_items_and_accounts(
    accounts: Cli, items: Cli, args: list[str], code: int, message: str
) -> None:
    assert items.fails("catalog", "grant", *args, code=code) == f"error: {message}"
    assert items.ok("catalog", "grant", "--account", "1", "1") == "1 item(s) granted to account 1\n"


def test_catalog_built_on_the_command_line_is_what_the_api_serves(
    accounts: Cli, items: Cli
) -> None:
    secret = items.ok("keys", "create", "--account", "2").splitlines()[1]
    items.ok("catalog", "grant", "--account", "2", "2", "3")
    items.ok("kits", "create", "Acme kit", "--item", "2:5", "--account", "1")
    items.ok("kits", "create", "Riverside kit", "--item", "2:5", "--item", "3", "--account", "2")
    items.ok("kits", "create", "Shared loaner", "--item", "1", "--loaner")
    with api_client(items.database_url) as client:
        headers = {"Impilo-API-Key": secret}
        listed = client.get("/api/v3/item", headers=headers).json()
        assert [(i["id"], i["sku"]) for i in listed["content"]] == [(2, "TS-1"), (3, "AAA-4")]
        assert client.get("/api/v3/item/1", headers=headers).status_code == 404
        kits = client.get("/api/v3/kit", headers=headers).json()["content"]
        lines = [[(line["item"]["id"], line["count"]) for line in k["kitItems"]] for k in kits]
        assert [(k["id"], k["name"], k["loaner"]) for k in kits] == [
            (2, "Riverside kit", False),
            (3, "Shared loaner", True),
        ]
        assert lines == [[(2, 5), (3, 1)], [(1, 1)]]
        assert client.get("/api/v3/kit/1", headers=headers).status_code == 404
