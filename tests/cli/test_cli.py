"""The ``kitdesk`` command: migrate, demo data, accounts and API keys."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from kitdesk.db.base import Base, utcnow
from kitdesk.db.engine import create_engine
from kitdesk.db.migrate import upgrade
from kitdesk.settings import Settings
from tests.cli.conftest import Cli, api_client

UNAUTHORIZED = "invalid, expired or deactivated API key"
KEY_LINE = re.compile(r"key (\d+) for account (\d+) \(prefix (kd_\S{9})\):\n(kd_\S+)\n")


async def _table_names(url: str) -> set[str]:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: c.dialect.get_table_names(c)))
    finally:
        await engine.dispose()


async def _drop_schema(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


async def _upgrade(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def empty_database_url(backend: str, database_url: str, tmp_path: Path) -> Iterator[str]:
    """A database without tables; PostgreSQL's is migrated again afterwards for later tests."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    asyncio.run(_drop_schema(database_url))
    try:
        yield database_url
    finally:
        asyncio.run(_upgrade(database_url))


def demo_keys(output: str) -> dict[str, str]:
    found = re.findall(
        r"^  (Demo customer|Second customer|Operator) (?:API )?key:\s+(\S+)$", output, re.M
    )
    return dict(found)


def issue_key(cli: Cli, *args: str) -> tuple[int, str, str]:
    """``keys create`` for account 1; returns the key id, its prefix and its secret."""
    output = cli.ok("keys", "create", "--account", "1", *args)
    match = KEY_LINE.fullmatch(output)
    assert match is not None, output
    key_id, _account, prefix, secret = match.groups()
    return int(key_id), prefix, secret


def test_migrate_brings_an_empty_database_to_the_latest_schema_and_can_run_again(
    empty_database_url: str,
) -> None:
    cli = Cli(empty_database_url)
    assert asyncio.run(_table_names(empty_database_url)) == set()
    assert cli.ok("migrate") == "database is up to date\n"
    tables = asyncio.run(_table_names(empty_database_url))
    assert tables == {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"}
    assert cli.ok("migrate") == "database is up to date\n"


def test_demo_prints_working_keys_and_refuses_a_second_time(database_url: str) -> None:
    cli = Cli(database_url)
    output = cli.ok("demo")
    assert output.startswith("Demo data loaded: customer 'Demo Clinic' (site 1234, patient 1234")
    assert output.endswith("These keys are shown once; Kitdesk keeps only their hashes.\n")
    keys = demo_keys(output)
    assert sorted(keys) == ["Demo customer", "Operator", "Second customer"]
    assert len(set(keys.values())) == 3

    line = cli.fails("demo", code=1)
    assert line == "error: the database already holds data; demo data not loaded"
    with api_client(database_url) as client:
        headers = {"Impilo-API-Key": keys["Demo customer"]}
        site = client.get("/api/v3/site/1234", headers=headers)
        assert site.status_code == 200
        assert site.json()["name"] == "Demo Clinic Main Office"
        items = client.get("/api/v3/item", headers={"Impilo-API-Key": keys["Second customer"]})
        assert [i["id"] for i in items.json()["content"]] == [1000, 1003]


def test_demo_uses_the_configured_demo_customer_key(cli: Cli) -> None:
    chosen = "kd_demo-key-chosen-by-the-operator"
    output = cli.ok("demo", env={"KITDESK_DEMO_API_KEY": chosen})
    assert f"  Demo customer API key:  {chosen}\n" in output
    with api_client(cli.database_url) as client:
        r = client.get("/api/v3/patient/1234", headers={"Impilo-API-Key": chosen})
        assert r.status_code == 200
        assert r.json()["externalIdentifier"] == "demo-1234"


def test_demo_with_a_too_short_configured_key_loads_nothing(cli: Cli) -> None:
    line = cli.fails("demo", code=2, env={"KITDESK_DEMO_API_KEY": "short"})
    assert line == "error: an API key must be at least 16 characters"
    assert cli.ok("accounts", "list") == ""
    assert "Demo customer API key" in cli.ok("demo")


def test_accounts_are_created_and_listed(cli: Cli) -> None:
    assert cli.ok("accounts", "list") == ""
    assert (
        cli.ok("accounts", "create", "Acme Clinic") == "account 1 created (customer: Acme Clinic)\n"
    )
    assert (
        cli.ok("accounts", "create", "  Kitdesk Logistics ", "--operator")
        == "account 2 created (operator: Kitdesk Logistics)\n"
    )
    assert (
        cli.ok("accounts", "list") == "1\tcustomer\tAcme Clinic\n2\toperator\tKitdesk Logistics\n"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "name must not be empty"),
        ("   ", "name must not be empty"),
        ("x" * 201, "name must be at most 200 characters"),
    ],
)
def test_account_name_must_be_given_and_fit(cli: Cli, name: str, message: str) -> None:
    assert cli.fails("accounts", "create", name, code=2) == f"error: {message}"
    assert cli.ok("accounts", "list") == ""


def test_key_is_printed_once_and_listed_only_by_prefix(cli: Cli) -> None:
    cli.ok("accounts", "create", "Acme Clinic")
    key_id, prefix, secret = issue_key(cli, "--name", "integration")
    assert (key_id, prefix) == (1, secret[:12])
    assert len(secret) == 46
    listing = cli.ok("keys", "list")
    assert listing == (
        f"1\taccount 1\t{prefix}...\tactive\texpires never\tlast used never\tintegration\n"
    )
    assert secret[12:] not in listing
    assert cli.ok("keys", "list", "--account", "1") == listing
    assert cli.ok("keys", "list", "--account", "2") == ""
    with api_client(cli.database_url) as client:
        assert client.get("/api/v3/item", headers={"Impilo-API-Key": secret}).status_code == 200
    assert "\tlast used 20" in cli.ok("keys", "list")


def test_key_expiry_in_days_is_stored_and_shown(cli: Cli) -> None:
    cli.ok("accounts", "create", "Acme Clinic")
    before = utcnow()
    issue_key(cli, "--expires-in-days", "30")
    listing = cli.ok("keys", "list")
    match = re.search(r"\texpires (\S+)\t", listing)
    assert match is not None, listing
    expires = datetime.fromisoformat(match.group(1))
    assert before + timedelta(days=30) <= expires <= utcnow() + timedelta(days=30)


@pytest.mark.parametrize("days", ["0", "-1", "36501"])
def test_key_expiry_must_be_a_sensible_number_of_days(cli: Cli, days: str) -> None:
    cli.ok("accounts", "create", "Acme Clinic")
    line = cli.fails("keys", "create", "--account", "1", "--expires-in-days", days, code=2)
    assert line == "error: --expires-in-days must be between 1 and 36500"
    assert cli.ok("keys", "list") == ""


def test_key_for_an_unknown_account_is_refused(cli: Cli) -> None:
    assert cli.fails("keys", "create", "--account", "99", code=3) == "error: account 99 not found"
    assert cli.ok("keys", "list") == ""


def test_deactivated_key_gets_401_from_the_api(cli: Cli) -> None:
    cli.ok("accounts", "create", "Acme Clinic")
    key_id, prefix, secret = issue_key(cli)
    _, _, spare = issue_key(cli)
    assert cli.ok("keys", "deactivate", str(key_id)) == f"key {key_id} ({prefix}...) deactivated\n"
    assert f"{prefix}...\tdeactivated\t" in cli.ok("keys", "list")
    with api_client(cli.database_url) as client:
        r = client.get("/api/v3/item", headers={"Impilo-API-Key": secret})
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        assert (r.json()["code"], r.json()["message"]) == ("unauthorized", UNAUTHORIZED)
        assert client.get("/api/v3/item", headers={"Impilo-API-Key": spare}).status_code == 200


def test_deactivating_an_unknown_key_is_an_error(cli: Cli) -> None:
    assert cli.fails("keys", "deactivate", "99", code=3) == "error: API key 99 not found"


def test_commands_on_a_database_that_was_never_migrated_fail_with_one_line(
    tmp_path: Path,
) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'never-migrated.db'}")
    line = cli.fails("accounts", "list", code=1)
    assert line == "error: database error: no such table: accounts"
    assert (
        cli.fails("keys", "deactivate", "1", code=1)
        == "error: database error: no such table: api_keys"
    )
