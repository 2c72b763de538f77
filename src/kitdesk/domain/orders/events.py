"""The webhook events of an order: ``order.status`` and ``order.statusFull``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import Order
from kitdesk.domain.orders import views
from kitdesk.domain.webhooks.publish import publish


async def order_status_changed(
    session: AsyncSession, order: Order, *, loaded: bool = False
) -> None:
    """Queue the events of an order's latest status; ``loaded`` when ``order`` renders as is."""
    event_name = order.current_status

    async def short() -> dict[str, Any]:
        return {"orderId": order.id, "orderEventType": event_name}

    async def full() -> dict[str, Any]:
        if loaded:
            return views.jsonable(views.loaded_view(order))
        return views.jsonable(
            await views.order_view(session, account_id=order.account_id, order_id=order.id)
        )

    await publish(
        session,
        account_id=order.account_id,
        resource_key=f"order:{order.id}",
        payloads={"order.status": short, "order.statusFull": full},
    )
