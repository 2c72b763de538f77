"""The ``kitdesk`` command: serve, migrate, demo data and the operator's catalog and accounts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
import uvicorn

from kitdesk import logs
from kitdesk.cli import ops, supervisor
from kitdesk.cli.runtime import fail, parse, run, run_in_transaction
from kitdesk.cli.worker import worker as worker_command
from kitdesk.db.engine import create_engine, create_session_factory, session_scope
from kitdesk.db.migrate import upgrade
from kitdesk.domain import demo
from kitdesk.domain.accounts import service as accounts
from kitdesk.domain.catalog import service as catalog
from kitdesk.domain.catalog.schemas import ItemCreate, KitCreate, KitLineIn
from kitdesk.domain.common import MAX_ID
from kitdesk.settings import Settings

# Longest key lifetime --expires-in-days accepts (a hundred years).
MAX_KEY_DAYS = 36_500
KIT_LINE = re.compile(r"([0-9]+)(?::([0-9]+))?")

app = typer.Typer(help="Kitdesk: order management for RPM device logistics.", no_args_is_help=True)
accounts_app = typer.Typer(help="Customer and operator accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (shown once, stored hashed).", no_args_is_help=True)
items_app = typer.Typer(help="The global item catalog.", no_args_is_help=True)
kits_app = typer.Typer(help="Kits: named bundles of items.", no_args_is_help=True)
catalog_app = typer.Typer(help="Which items each customer may order.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
app.add_typer(items_app, name="items")
app.add_typer(kits_app, name="kits")
app.add_typer(catalog_app, name="catalog")
app.add_typer(ops.warehouses_app, name="warehouses")
app.add_typer(ops.stock_app, name="stock")
app.add_typer(ops.orders_app, name="orders")
app.command("worker")(worker_command)


def _migrate(settings: Settings) -> None:
    async def main() -> None:
        engine = create_engine(settings)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    run(main)


def _load_demo(settings: Settings) -> demo.DemoKeys | None:
    async def main() -> demo.DemoKeys | None:
        engine = create_engine(settings)
        try:
            async with session_scope(create_session_factory(engine)) as session:
                if await demo.has_data(session):
                    return None
                return await demo.load(
                    session,
                    customer_key=settings.demo_api_key,
                    operator_key=settings.demo_operator_key,
                )
        finally:
            await engine.dispose()

    return run(main)


def _print_demo_keys(keys: demo.DemoKeys) -> None:
    typer.echo("Demo data loaded: customer 'Demo Clinic' (site 1234, patient 1234, items and")
    typer.echo("kits 1000-1005), a second customer and an operator account.")
    typer.echo(f"  Demo customer API key:  {keys.customer}")
    typer.echo(f"  Second customer key:    {keys.other_customer}")
    typer.echo(f"  Operator key:           {keys.operator}")
    typer.echo("These keys are shown once; Kitdesk keeps only their hashes.")


@app.command()
def migrate() -> None:
    """Upgrade the database to the latest schema."""
    _migrate(Settings())
    typer.echo("database is up to date")


@app.command("demo")
def load_demo() -> None:
    """Load the demo data into an empty database and print the demo keys."""
    settings = Settings()
    _migrate(settings)
    keys = _load_demo(settings)
    if keys is None:
        fail("the database already holds data; demo data not loaded", 1)
    _print_demo_keys(keys)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(help="API worker processes.")] = 1,
    round_robin: Annotated[
        bool,
        typer.Option(
            "--round-robin/--shared-socket",
            help="With several workers: Kitdesk's supervisor accepts connections and hands "
            "them to the workers in turn, or uvicorn's workers accept from one shared socket.",
        ),
    ] = True,
    demo_data: Annotated[
        bool, typer.Option("--demo/--no-demo", help="Load demo data into an empty database.")
    ] = True,
) -> None:
    """Migrate, load demo data into an empty database, and serve the API."""
    settings = Settings()
    _migrate(settings)
    if demo_data:
        keys = _load_demo(settings)
        if keys is not None:
            _print_demo_keys(keys)
        elif settings.demo_api_key:
            typer.echo(
                "database already holds data; KITDESK_DEMO_API_KEY only applies to a first start"
            )
    config: dict[str, Any] = {
        "app": "kitdesk.api.app:create_app_from_env",
        "factory": True,
        "log_level": settings.log_level,
        "access_log": False,
    }
    host, port = host or settings.host, port or settings.port
    if workers > 1 and round_robin and supervisor.supported():
        logs.configure(settings)
        supervisor.Supervisor(config, host, port, workers).run()
        return
    uvicorn.run(
        **config,
        host=host,
        port=port,
        workers=workers,
        # A worker importing Kitdesk on a busy host without bytecode caches can take longer than
        # uvicorn's default 5 s to answer its first health check, and would be killed in a loop.
        timeout_worker_healthcheck=60,
    )


# --- accounts and keys ----------------------------------------------------------------------


@accounts_app.command("create")
def accounts_create(
    name: str,
    operator: Annotated[bool, typer.Option(help="Create an operator account.")] = False,
) -> None:
    """Create a customer (or operator) account and print its id."""
    account = run_in_transaction(
        lambda s: accounts.create_account(s, name=name, kind="operator" if operator else "customer")
    )
    typer.echo(f"account {account.id} created ({account.kind}: {account.name})")


@accounts_app.command("list")
def accounts_list() -> None:
    """List every account."""
    for a in run_in_transaction(accounts.list_accounts):
        unique = " unique-external-order-ids" if a.unique_external_order_ids else ""
        typer.echo(f"{a.id}\t{a.kind}\t{a.name}{unique}")


@keys_app.command("create")
def keys_create(
    account: Annotated[int, typer.Option(help="Account id.", min=1, max=MAX_ID)],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
    expires_in_days: Annotated[
        int | None, typer.Option(help=f"Expire after this many days (1 to {MAX_KEY_DAYS}).")
    ] = None,
) -> None:
    """Issue an API key; it is printed once and never again."""
    expires = None
    if expires_in_days is not None:
        if not 1 <= expires_in_days <= MAX_KEY_DAYS:
            fail(f"--expires-in-days must be between 1 and {MAX_KEY_DAYS}", 2)
        expires = datetime.now(UTC) + timedelta(days=expires_in_days)
    issued = run_in_transaction(
        lambda s: accounts.create_key(s, account_id=account, name=name, expires_at=expires)
    )
    typer.echo(f"key {issued.key.id} for account {account} (prefix {issued.key.prefix}):")
    typer.echo(issued.secret)


@keys_app.command("list")
def keys_list(
    account: Annotated[
        int | None, typer.Option(help="Only this account's keys.", min=1, max=MAX_ID)
    ] = None,
) -> None:
    """List keys by prefix, with expiry, state and last use."""
    for k in run_in_transaction(lambda s: accounts.list_keys(s, account_id=account)):
        state = "deactivated" if k.deactivated_at else "active"
        expires = k.expires_at.isoformat() if k.expires_at else "never"
        used = k.last_used_at.isoformat() if k.last_used_at else "never"
        typer.echo(
            f"{k.id}\taccount {k.account_id}\t{k.prefix}...\t{state}"
            f"\texpires {expires}\tlast used {used}\t{k.name}"
        )


@keys_app.command("deactivate")
def keys_deactivate(key_id: Annotated[int, typer.Argument(min=1, max=MAX_ID)]) -> None:
    """Deactivate a key: requests with it get 401 from now on."""
    key = run_in_transaction(lambda s: accounts.deactivate_key(s, key_id=key_id))
    typer.echo(f"key {key.id} ({key.prefix}...) deactivated")


# --- catalog --------------------------------------------------------------------------------


@items_app.command("create")
def items_create(
    name: str,
    model: Annotated[str | None, typer.Option()] = None,
    sku: Annotated[str | None, typer.Option(help="Generated when omitted.")] = None,
    manufacturer: Annotated[str | None, typer.Option()] = None,
    identifier_type: Annotated[
        str | None,
        typer.Option(
            help="serial, imei, iccid, macAddress or simCardNumber for serialized devices."
        ),
    ] = None,
    orderable: Annotated[bool, typer.Option("--orderable/--not-orderable")] = True,
) -> None:
    """Add an item to the global catalog."""
    data = parse(
        ItemCreate,
        {
            "name": name,
            "model": model,
            "sku": sku,
            "manufacturer": manufacturer,
            "deviceIdentifierType": identifier_type,
            "orderable": orderable,
        },
        names={
            "name": "NAME",
            "model": "--model",
            "sku": "--sku",
            "manufacturer": "--manufacturer",
            "deviceIdentifierType": "--identifier-type",
        },
    )
    item = run_in_transaction(lambda s: catalog.create_item(s, data=data))
    typer.echo(f"item {item.id} created (sku {item.sku})")


@items_app.command("list")
def items_list() -> None:
    """List every item."""
    for i in run_in_transaction(catalog.list_all_items):
        kind = i.device_identifier_type or "counted"
        flag = "" if i.orderable else "\tNOT ORDERABLE"
        typer.echo(f"{i.id}\t{i.sku}\t{kind}\t{i.name}{flag}")


@items_app.command("set-orderable")
def items_set_orderable(
    item_id: Annotated[int, typer.Argument(min=1, max=MAX_ID)],
    orderable: Annotated[bool, typer.Argument()],
) -> None:
    """Approve an item for ordering (true) or withdraw it (false)."""
    run_in_transaction(
        lambda s: catalog.set_item_orderable(s, item_id=item_id, orderable=orderable)
    )
    typer.echo(f"item {item_id} orderable={orderable}")


@kits_app.command("create")
def kits_create(
    name: str,
    item: Annotated[list[str], typer.Option(help="ITEM_ID:COUNT, repeatable.")],
    loaner: Annotated[bool, typer.Option(help="A loaner kit (comes back).")] = False,
    account: Annotated[
        int | None, typer.Option(help="Owning customer; omit for a shared kit.")
    ] = None,
) -> None:
    """Create a kit from existing items."""
    data = parse(
        KitCreate,
        {
            "name": name,
            "kitItems": [_kit_line(spec) for spec in item],
            "loaner": loaner,
            "accountId": account,
        },
        names={"name": "NAME", "kitItems": "--item", "accountId": "--account"},
    )
    kit = run_in_transaction(lambda s: catalog.create_kit(s, data=data))
    typer.echo(f"kit {kit.id} created")


def _kit_line(spec: str) -> KitLineIn:
    """One ``--item ITEM_ID[:COUNT]`` of a new kit (the count defaults to 1)."""
    match = KIT_LINE.fullmatch(spec)
    if match is None:
        fail(f"--item takes ITEM_ID:COUNT, got {spec!r}", 2)
    ident, count = match.groups()
    return parse(
        KitLineIn,
        {"item": {"id": int(ident)}, "count": int(count or "1")},
        names={"item": f"item id in --item {spec}", "count": f"count in --item {spec}"},
    )


@kits_app.command("list")
def kits_list() -> None:
    """List every kit with its lines."""
    for k in run_in_transaction(catalog.list_all_kits):
        lines = ", ".join(f"{line.item_id}x{line.count}" for line in k.kit_items)
        owner = f"account {k.account_id}" if k.account_id else "shared"
        flags = (" loaner" if k.loaner else "") + (" archived" if k.archived else "")
        typer.echo(f"{k.id}\t{owner}\t{k.name}\t[{lines}]{flags}")


@kits_app.command("archive")
def kits_archive(
    kit_id: Annotated[int, typer.Argument(min=1, max=MAX_ID)],
    undo: Annotated[bool, typer.Option(help="Bring the kit back.")] = False,
) -> None:
    """Archive a kit so it can no longer be ordered."""
    run_in_transaction(lambda s: catalog.set_kit_archived(s, kit_id=kit_id, archived=not undo))
    typer.echo(f"kit {kit_id} {'restored' if undo else 'archived'}")


@catalog_app.command("grant")
def catalog_grant(
    account: Annotated[int, typer.Option(help="Customer account id.", min=1, max=MAX_ID)],
    item_ids: Annotated[list[int], typer.Argument(help="Item ids to grant.", min=1, max=MAX_ID)],
) -> None:
    """Put items in a customer's catalog."""
    added = run_in_transaction(
        lambda s: catalog.grant_items(s, account_id=account, item_ids=item_ids)
    )
    typer.echo(f"{added} item(s) granted to account {account}")


if __name__ == "__main__":
    app()
