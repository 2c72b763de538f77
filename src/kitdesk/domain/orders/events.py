"""The webhook events of an order: ``order.status`` and ``order.statusFull``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import Order
from kitdesk.domain.orders import views
from kitdesk.domain.webhooks.publish import PayloadFactory, publish
from kitdesk.jsontext import render


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

    async def read_view() -> views.View:
        return await views.order_view(session, account_id=account_id, order_id=order_id)

    await publish(
        session,
        account_id=account_id,
        resource_key=resource_key(order_id),
        payloads=status_payloads(order_id, status, view, read_view),
        subscribers=subscribers,
    )


def resource_key(order_id: int) -> str:
    """The outbox's name of an order: its events reach a subscriber in the order queued."""
    return f"order:{order_id}"


def status_payloads(
    order_id: int,
    status: str,
    view: views.View | None,
    read_view: Callable[[], Awaitable[views.View]] | None = None,
) -> dict[str, PayloadFactory]:
    """The payload factories of an order's status events, ``order.status`` first: the short
    one, and the order's view (``view``, else ``read_view()``) for ``order.statusFull``."""

    async def short() -> dict[str, Any]:
        return {"orderId": order_id, "orderEventType": status}

    async def full() -> dict[str, Any]:
        current = view
        if current is None:
            if read_view is None:
                raise ValueError("order.statusFull needs the order's view or a way to read it")
            current = await read_view()
        return views.jsonable(current)

    return {"order.status": short, "order.statusFull": full}


def status_payload_texts(
    order_id: int, status: str, view: views.View
) -> dict[str, Callable[[], Awaitable[str]]]:
    """``status_payloads`` written as JSON text (``jsontext.render``), for a statement that
    queues the events itself: the view goes straight to text, with no JSON-ready copy."""

    async def short() -> str:
        return render({"orderId": order_id, "orderEventType": status}).decode()

    async def full() -> str:
        return render(view).decode()

    return {"order.status": short, "order.statusFull": full}
