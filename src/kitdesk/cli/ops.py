"""Operator commands: warehouses, stock and moving orders through their lifecycle."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.cli.runtime import fail, parse, run_in_transaction
from kitdesk.db.models import Order
from kitdesk.domain.inventory import service as inventory
from kitdesk.domain.inventory.schemas import DeviceReceipt, FulfillmentSiteCreate, StockReceipt
from kitdesk.domain.orders import fulfillment, placement, queries
from kitdesk.domain.orders.fulfillment_schemas import OrderMove
from kitdesk.domain.orders.lifecycle import Status
from kitdesk.domain.orders.schemas import OrderCreate

warehouses_app = typer.Typer(help="Warehouses (fulfillment sites).", no_args_is_help=True)
stock_app = typer.Typer(help="Stock: receive units and devices, see levels.", no_args_is_help=True)
orders_app = typer.Typer(help="Work orders through their lifecycle.", no_args_is_help=True)


@warehouses_app.command("create")
def warehouses_create(code: str, name: str) -> None:
    """Add a warehouse."""
    data = parse(FulfillmentSiteCreate, {"code": code, "name": name})
    site = run_in_transaction(lambda s: inventory.create_fulfillment_site(s, data=data))
    typer.echo(f"warehouse {site.id} created ({site.code})")


@warehouses_app.command("list")
def warehouses_list() -> None:
    """List warehouses."""
    for site in run_in_transaction(inventory.list_fulfillment_sites):
        state = "" if site.active else "\tINACTIVE"
        typer.echo(f"{site.id}\t{site.code}\t{site.name}{state}")


@stock_app.command("receive")
def stock_receive(
    warehouse: Annotated[int, typer.Option(help="Warehouse id.")],
    item: Annotated[int, typer.Option(help="Item id (a counted item).")],
    quantity: Annotated[int, typer.Option(help="Units received.")],
) -> None:
    """Receive counted units of an item."""
    data = parse(
        StockReceipt,
        {"itemId": item, "quantity": quantity},
        names={"itemId": "--item", "quantity": "--quantity"},
    )
    run_in_transaction(lambda s: inventory.receive_stock(s, site_id=warehouse, data=data))
    typer.echo(f"received {quantity} of item {item} at warehouse {warehouse}")


CSV_COLUMNS = ("identifier", "serial", "imei", "iccid", "macaddress", "simcardnumber")


def _identifiers_from_csv(path: Path) -> list[str]:
    """Identifiers from a CSV file: the column named identifier/serial/imei..., else the first
    column of every row (a file without a header). Blank cells are skipped."""
    if not path.is_file():
        fail(f"no such file: {path}", 2)
    try:
        # utf-8-sig: spreadsheet programs often start the file with a byte-order mark.
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError:
        fail(f"{path} is not a UTF-8 text file", 2)
    except (OSError, csv.Error) as exc:
        fail(f"cannot read {path}: {exc}", 2)
    header = [h.strip().lower() for h in rows[0]] if rows else []
    column = next((i for i, h in enumerate(header) if h in CSV_COLUMNS), None)
    body = rows[1:] if column is not None else rows
    at = column or 0
    values = [r[at].strip() for r in body if len(r) > at and r[at].strip()]
    if not values:
        fail(f"no identifiers in {path}", 2)
    return values


@stock_app.command("receive-devices")
def stock_receive_devices(
    warehouse: Annotated[int, typer.Option(help="Warehouse id.")],
    item: Annotated[int, typer.Option(help="Item id (a serialized item).")],
    identifier: Annotated[list[str], typer.Option(help="One identifier, repeatable.")] = [],  # noqa: B006
    csv_file: Annotated[Path | None, typer.Option("--csv", help="CSV file of identifiers.")] = None,
) -> None:
    """Receive serialized devices, one per identifier (from options and/or a CSV file)."""
    values = list(identifier)
    if csv_file is not None:
        values += _identifiers_from_csv(csv_file)
    if not values:
        fail("give --identifier or --csv", 2)
    data = parse(
        DeviceReceipt,
        {"itemId": item, "identifiers": values},
        names={"itemId": "--item", "identifiers": "--identifier"},
    )
    devices = run_in_transaction(
        lambda s: inventory.receive_devices(s, site_id=warehouse, data=data)
    )
    typer.echo(f"received {len(devices)} device(s) of item {item} at warehouse {warehouse}")


@stock_app.command("show")
def stock_show(
    warehouse: Annotated[int | None, typer.Option(help="Only this warehouse.")] = None,
    item: Annotated[int | None, typer.Option(help="Only this item.")] = None,
) -> None:
    """On hand, reserved and available per warehouse and item."""
    levels = run_in_transaction(
        lambda s: inventory.stock_levels(s, site_id=warehouse, item_id=item)
    )
    typer.echo("warehouse\titem\ton_hand\treserved\tavailable\tname")
    for lv in levels:
        typer.echo(
            f"{lv.fulfillment_site_id}\t{lv.item.id}\t{lv.on_hand}\t{lv.reserved}"
            f"\t{lv.available}\t{lv.item.name}"
        )


def _lines(specs: list[str], kind: str) -> list[dict[str, object]]:
    lines: list[dict[str, object]] = []
    for spec in specs:
        ident, sep, count = spec.partition(":")
        if not ident.isdigit() or (sep and not count.isdigit()):
            fail(f"--{kind} takes ID:COUNT, got {spec!r}", 2)
        lines.append({kind: {"id": int(ident)}, "count": int(count or "1")})
    return lines


# Order fields as the options that set them, for error messages.
ORDER_OPTIONS = {
    "orderItems": "--item",
    "orderKits": "--kit",
    "patient": "--patient",
    "site": "--site",
    "shippingOption": "--shipping",
}


@orders_app.command("create")
def orders_create(
    account: Annotated[int, typer.Option(help="Customer account id.")],
    patient: Annotated[int | None, typer.Option(help="Recipient patient id.")] = None,
    site: Annotated[int | None, typer.Option(help="Recipient site id.")] = None,
    item: Annotated[list[str], typer.Option(help="ITEM_ID:COUNT, repeatable.")] = [],  # noqa: B006
    kit: Annotated[list[str], typer.Option(help="KIT_ID:COUNT, repeatable.")] = [],  # noqa: B006
    shipping: Annotated[str, typer.Option(help="standard, expedited, overnight or pickup.")] = (
        "standard"
    ),
) -> None:
    """Place an order for a customer, with the same rules as POST /api/v3/order."""
    body: dict[str, object] = {
        "orderItems": _lines(item, "item") or None,
        "orderKits": _lines(kit, "kit") or None,
        "shippingOption": shipping,
    }
    if patient is not None:
        body["patient"] = {"id": patient}
    if site is not None:
        body["site"] = {"id": site}
    data = parse(OrderCreate, body, names=ORDER_OPTIONS)
    order = run_in_transaction(
        lambda s: placement.place_order(s, account_id=account, data=data, key_prefix=None)
    )
    typer.echo(
        f"order {order.id} created ({order.current_status}) at warehouse "
        f"{order.fulfillment_site_id}"
    )


@orders_app.command("show")
def orders_show(order_id: int) -> None:
    """Print an order as the API shows it (JSON)."""

    async def work(session: AsyncSession) -> str:
        view = await queries.get_order(session, account_id=None, order_id=order_id)
        return to_json(view, indent=2).decode()

    typer.echo(run_in_transaction(work))


@orders_app.command("move")
def orders_move(
    order_id: int,
    status: Annotated[Status, typer.Argument(help="The status to move to.")],
    tracking: Annotated[
        list[str], typer.Option(help="CARRIER:NUMBER, repeatable (for shipped).")
    ] = [],  # noqa: B006
    note: Annotated[str | None, typer.Option(help="A note kept on the order.")] = None,
) -> None:
    """Move an order to its next status. Packing picks in-stock devices automatically."""
    numbers = []
    for spec in tracking:
        carrier, sep, value = spec.partition(":")
        if not sep or not carrier or not value:
            fail(f"--tracking takes CARRIER:NUMBER, got {spec!r}", 2)
        numbers.append({"carrier": carrier, "value": value})
    data = parse(
        OrderMove,
        {"status": status, "trackingNumbers": numbers or None, "note": note},
        names={"trackingNumbers": "--tracking", "note": "--note"},
    )

    async def work(session: AsyncSession) -> Order:
        order = await fulfillment.lock_order(session, order_id=order_id, account_id=None)
        await fulfillment.move(session, order, data)
        return order

    order = run_in_transaction(work)
    typer.echo(f"order {order.id} is now {order.current_status}")
