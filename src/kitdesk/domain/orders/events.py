"""The webhook events of an order: ``order.status`` and ``order.statusFull``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import Order
from kitdesk.domain.orders import views
from kitdesk.domain.webhooks.publish import publish


async def order_status_changed(session: AsyncSession, order: Order) -> None:
    """Queue the events of an order's latest status."""
    await publish_order_status(
        session, account_id=order.account_id, order_id=order.id, status=order.current_status
    )


async def publish_order_status(
    session: AsyncSession,
    *,
    account_id: int,
    order_id: int,
    status: str,
    view: views.View | None = None,
    subscribers: Sequence[tuple[str, int]] | None = None,
) -> None:
    """Queue the events of an order's status ``status``; ``view`` is the order's current view
    when the caller has it (else it is read, and only if someone subscribes to it), and
    ``subscribers`` the account's subscriptions when the caller read them (see ``publish``)."""

    async def short() -> dict[str, Any]:
        return {"orderId": order_id, "orderEventType": status}

    async def full() -> dict[str, Any]:
        current = view
        if current is None:
            current = await views.order_view(session, account_id=account_id, order_id=order_id)
        return views.jsonable(current)

    await publish(
        session,
        account_id=account_id,
        resource_key=f"order:{order_id}",
        payloads={"order.status": short, "order.statusFull": full},
        subscribers=subscribers,
    )
