"""Reading orders: one order's view and a filtered page of views (see ``views``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, get_args

from sqlalchemy import BigInteger, Select, bindparam, exists, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from kitdesk.db import driver
from kitdesk.db.models import Order, OrderExternalId
from kitdesk.domain.accounts.service import key_account, key_lookup_with
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
        (
            item
            for row in found
            for item in view_statements.typed_rows(row[-2], view_statements.ITEMS_TEXTS)
        ),
        key=view_statements.ITEMS_ORDER,
    )
    parts = sorted(
        (
            part
            for row in found
            for part in view_statements.typed_rows(row[-1], view_statements.PARTS_TEXTS)
        ),
        key=view_statements.PARTS_ORDER,
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
    # Deferred join: the page's ids come from the index alone, so a deep page skips ids, not
    # whole orders joined to their patients and sites.
    page_ids = list(
        await session.scalars(
            ids.order_by(*_page_order(sort, page.sort_descending))
            .offset(page.offset)
            .limit(page.size)
        )
    )
    found = await views.load_views(session, page_ids, account_id=account_id)
    content = [found[i] for i in page_ids if i in found]
    audit.record(
        session, action="order.list", resource_type="order", resource_ids=[o["id"] for o in content]
    )
    return _page_view(content, page, total)


def _page_order(sort: OrderSort, descending: bool) -> list[Any]:
    column = Order.id if sort == "id" else Order.created_at
    return [column.desc(), Order.id.desc()] if descending else [column.asc(), Order.id.asc()]


def _page_view(content: list[View], page: PageRequest, total: int) -> View:
    return {
        "content": content,
        "page": page.page,
        "size": page.size,
        "total": total,
        "first": page.page == 1,
        "last": page.page * page.size >= total,
    }


def _keyed_page(sort: OrderSort, descending: bool) -> Select[Any]:
    account = key_account()
    # Only the columns the order needs: sorted by id, the page comes from the index alone.
    columns = [Order.id] if sort == "id" else [Order.id, Order.created_at]
    page = (
        select(*columns)
        .where(Order.account_id == account)
        .order_by(*_page_order(sort, descending))
        .offset(bindparam("offset", type_=BigInteger))
        .limit(bindparam("size", type_=BigInteger))
        .subquery("page")
    )
    total = select(func.count()).select_from(Order).where(Order.account_id == account)
    on_page = page.c.id if sort == "id" else page.c.created_at
    order = [on_page.desc(), page.c.id.desc()] if descending else [on_page.asc(), page.c.id.asc()]
    return key_lookup_with([total.scalar_subquery(), page.c.id], page, true()).order_by(*order)


# An unfiltered page of the orders of an API key's account on PostgreSQL, in one statement (per
# sort and direction): the key lookup (parameter ``digest``), the number of the account's orders
# and the ids of the page (parameters ``offset`` and ``size``), one row per id in the page's
# order (one row with no id for a page past the end; no row for an unknown key). Each row holds
# the key's ``KEY_COLUMNS`` values, then the total, then the id. The total and the ids must be
# dropped unless the key passes ``check_key``.
KEYED_PAGES: dict[tuple[OrderSort, bool], Select[Any]] = {
    (sort, descending): _keyed_page(sort, descending)
    for sort in get_args(OrderSort)
    for descending in (False, True)
}


async def keyed_page_view(
    connection: AsyncConnection,
    *,
    account_id: int,
    page: PageRequest,
    found: Sequence[Sequence[Any]],
) -> View:
    """The page of order views a ``KEYED_PAGES`` statement found (``found``: its rows after the
    key's values) for ``account_id``, the key's account once the key passed ``check_key``; its
    audit entry is written first, on ``connection``, in autocommit."""
    total = int(found[0][0])
    page_ids = [row[1] for row in found if row[1] is not None]
    views_found = await views.load_views(connection, page_ids, account_id=account_id)
    content = [views_found[i] for i in page_ids if i in views_found]
    entry = audit.entry(
        action="order.list", resource_type="order", resource_ids=[o["id"] for o in content]
    )
    # Written before any of the page is sent: if it fails, the request fails with it.
    await driver.execute_many(connection, audit.write_entry_statement(), [entry])
    return _page_view(content, page, total)


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
