"""Helpers for the operator's warehouse and stock endpoints."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import FulfillmentSite
from tests.conftest import Api

OPS = "/api/v3/ops"
CONTENT_JSON = "application/json"


def warehouse(api: Api, op: str, code: str, name: str | None = None) -> int:
    """Create a warehouse; returns its id."""
    r = api.post(f"{OPS}/fulfillment-site", key=op, json={"code": code, "name": name or code})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def receive(api: Api, op: str, site_id: int, item_id: int, quantity: int) -> Any:
    """Receive counted units."""
    return api.post(
        f"{OPS}/fulfillment-site/{site_id}/stock",
        key=op,
        json={"itemId": item_id, "quantity": quantity},
    )


def receive_devices(api: Api, op: str, site_id: int, item_id: int, identifiers: list[str]) -> Any:
    """Receive serialized units, one per identifier."""
    return api.post(
        f"{OPS}/fulfillment-site/{site_id}/devices",
        key=op,
        json={"itemId": item_id, "identifiers": identifiers},
    )


def level(api: Api, op: str, site_id: int, item_id: int) -> tuple[int, int, int] | None:
    """(onHand, reserved, available) of one item at one warehouse, or None without a stock row."""
    r = api.get(f"{OPS}/stock", key=op, params={"fulfillmentSiteId": site_id, "itemId": item_id})
    assert r.status_code == 200, r.text
    rows = r.json()
    if not rows:
        return None
    assert len(rows) == 1
    return rows[0]["onHand"], rows[0]["reserved"], rows[0]["available"]


def set_active(api: Api, site_id: int, active: bool) -> None:
    """Open or close a warehouse (there is no endpoint for it yet)."""

    async def change(session: AsyncSession) -> None:
        await session.execute(
            update(FulfillmentSite).where(FulfillmentSite.id == site_id).values(active=active)
        )

    api.call(change)
