"""Operator commands: warehouses, stock and moving orders through their lifecycle."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.cli.runtime import run_in_transaction
from kitdesk.db.models import Order
from kitdesk.domain.inventory import service as inventory
from kitdesk.domain.inventory.schemas import DeviceReceipt, FulfillmentSiteCreate, StockReceipt
from kitdesk.domain.orders import fulfillment
from kitdesk.domain.orders.fulfillment_schemas import OrderMove, TrackingNumberIn
from kitdesk.domain.orders.lifecycle import Status

warehouses_app = typer.Typer(help="Warehouses (fulfillment sites).", no_args_is_help=True)
stock_app = typer.Typer(help="Stock: receive units and devices, see levels.", no_args_is_help=True)
orders_app = typer.Typer(help="Work orders through their lifecycle.", no_args_is_help=True)


@warehouses_app.command("create")
def warehouses_create(code: str, name: str) -> None:
    """Add a warehouse."""
    data = FulfillmentSiteCreate(code=code, name=name)
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
    data = StockReceipt(item_id=item, quantity=quantity)
    run_in_transaction(lambda s: inventory.receive_stock(s, site_id=warehouse, data=data))
    typer.echo(f"received {quantity} of item {item} at warehouse {warehouse}")


def _identifiers_from_csv(path: Path) -> list[str]:
    """Identifiers from a CSV file: the column named identifier/serial/imei, else the first."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return []
    header = [h.strip().lower() for h in rows[0]]
    names = ("identifier", "serial", "imei", "iccid", "macaddress", "simcardnumber")
    column = next((i for i, h in enumerate(header) if h in names), None)
    body = rows[1:] if column is not None else rows
    return [r[column or 0].strip() for r in body if r and r[column or 0].strip()]


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
        if not csv_file.is_file():
            typer.echo(f"error: no such file: {csv_file}", err=True)
            raise typer.Exit(2)
        values += _identifiers_from_csv(csv_file)
    if not values:
        typer.echo("error: give --identifier or --csv", err=True)
        raise typer.Exit(2)
    data = DeviceReceipt(item_id=item, identifiers=values)
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


@orders_app.command("move")
def orders_move(
    order_id: int,
    status: Annotated[Status, typer.Argument(help="The status to move to.")],
    tracking: Annotated[
        list[str], typer.Option(help="CARRIER:NUMBER, repeatable (for shipped).")
    ] = [],  # noqa: B006
) -> None:
    """Move an order to its next status. Packing picks in-stock devices automatically."""
    numbers = []
    for spec in tracking:
        carrier, sep, value = spec.partition(":")
        if not sep or not carrier or not value:
            typer.echo(f"error: --tracking takes CARRIER:NUMBER, got {spec!r}", err=True)
            raise typer.Exit(2)
        numbers.append(TrackingNumberIn(carrier=carrier, value=value))
    data = OrderMove(status=status, tracking_numbers=numbers or None)

    async def work(session: AsyncSession) -> Order:
        order = await fulfillment.lock_order(session, order_id=order_id, account_id=None)
        await fulfillment.move(session, order, data)
        return order

    order = run_in_transaction(work)
    typer.echo(f"order {order.id} is now {order.current_status}")
