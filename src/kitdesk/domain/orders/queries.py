"""Reading orders: one order's view and a filtered page of views (see ``views``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import Order, OrderExternalId
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.common import PageRequest
from kitdesk.domain.orders import view_statements, views
from kitdesk.domain.orders.lifecycle import Status
from kitdesk.domain.orders.schemas import OrderSort
from kitdesk.domain.orders.views import View


@dataclass(frozen=True)
class OrderFilters:
    """Filters of the order list; empty lists and None mean 'any'."""

    ids: list[int] = field(default_factory=list)
    patient_ids: list[int] = field(default_factory=list)
    site_ids: list[int] = field(default_factory=list)
    external_order_id: str | None = None
    statuses: list[Status] = field(default_factory=list)
    created_at_min: datetime | None = None
    created_at_max: datetime | None = None


async def get_order(session: AsyncSession, *, account_id: int | None, order_id: int) -> View:
    """The view of one of the account's orders, or 404; audited as a read.

    ``account_id`` must always be given; None (any account) is for operator callers only.
    """
    view = await views.order_view(session, account_id=account_id, order_id=order_id)
    audit.record(session, action="order.read", resource_type="order", resource_id=order_id)
    return view


def keyed_fetch_params(*, digest: str, order_id: int) -> dict[str, Any]:
    """The parameters of ``view_statements.KEYED_ONE`` for a fetch of ``order_id`` with the key
    whose hash is ``digest``: the read's audit entry included, and ``now``, the time the key is
    judged at, which ``check_key`` must be given too (``now=params["now"]``)."""
    entry = audit.entry(action="order.read", resource_type="order", resource_id=order_id)
    params = {view_statements.AUDIT_PREFIX + k: v for k, v in entry.items()}
    return {**params, "digest": digest, "id": order_id, "now": entry["occurred_at"]}


def keyed_order_view(order_id: int, found: Sequence[Sequence[Any]]) -> View:
    """The view of ``order_id`` from the values ``view_statements.KEYED_ONE`` read after the
    key's (``found``: none when the key's account has no such order), or 404. Only for a key
    that passed ``check_key``."""
    order = [row[:-2] for row in found]
    items = sorted(
        (item for row in found for item in row[-2] or ()), key=view_statements.ITEMS_ORDER
    )
    parts = sorted(
        (part for row in found for part in row[-1] or ()), key=view_statements.PARTS_ORDER
    )
    return views.one_view(order_id, order, items, parts)


def _scoped(query: Select[Any], account_id: int | None) -> Select[Any]:
    return query if account_id is None else query.where(Order.account_id == account_id)


async def list_orders(
    session: AsyncSession,
    *,
    account_id: int | None,
    filters: OrderFilters,
    page: PageRequest,
    sort: OrderSort = "id",
) -> View:
    """One page of the account's order views, as ``Page[OrderRead]`` serializes it.

    Of every account when ``account_id`` is None.
    """
    ids = _filtered(_scoped(select(Order.id), account_id), filters)
    total = await session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    column = Order.id if sort == "id" else Order.created_at
    order_by = (
        [column.desc(), Order.id.desc()] if page.sort_descending else [column.asc(), Order.id.asc()]
    )
    # Deferred join: the page's ids come from the index alone, so a deep page skips ids, not
    # whole orders joined to their patients and sites.
    page_ids = list(
        await session.scalars(ids.order_by(*order_by).offset(page.offset).limit(page.size))
    )
    found = await views.load_views(session, page_ids, account_id=account_id)
    content = [found[i] for i in page_ids if i in found]
    audit.record(
        session, action="order.list", resource_type="order", resource_ids=[o["id"] for o in content]
    )
    return {
        "content": content,
        "page": page.page,
        "size": page.size,
        "total": total,
        "first": page.page == 1,
        "last": page.page * page.size >= total,
    }


def _filtered(query: Select[Any], f: OrderFilters) -> Select[Any]:
    if f.ids:
        query = query.where(Order.id.in_(f.ids))
    if f.patient_ids:
        query = query.where(Order.patient_id.in_(f.patient_ids))
    if f.site_ids:
        query = query.where(Order.site_id.in_(f.site_ids))
    if f.statuses:
        query = query.where(Order.current_status.in_([s.value for s in f.statuses]))
    if f.external_order_id is not None:
        query = query.where(
            exists().where(
                OrderExternalId.order_id == Order.id,
                OrderExternalId.account_id == Order.account_id,
                OrderExternalId.value == f.external_order_id,
            )
        )
    if f.created_at_min is not None:
        query = query.where(Order.created_at >= f.created_at_min)
    if f.created_at_max is not None:
        query = query.where(Order.created_at <= f.created_at_max)
    return query
