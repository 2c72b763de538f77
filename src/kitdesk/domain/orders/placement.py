"""Placing an order: every create-order rule, then one write.

Placing an order is Kitdesk's busiest write, so it works on plain rows from start to end: the
patient or site, the items and the kits are read by constant Core statements (``new_rows``) in
the column layout of the order view, the order is written with one INSERT per table, and its
view is assembled from those same rows (``views.assemble``) for the answer and the webhook
payload. No ORM object is built, so nothing is loaded twice or walked at commit. A two-way
order's return leg is the exception: the return service works on ORM objects, and the view of
such an order is read back once its return is written.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import joinedload
from sqlalchemy.sql import ClauseElement

from kitdesk.db import driver
from kitdesk.db.base import utcnow
from kitdesk.db.models import Account, Patient, Site
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.integrity import external_ids
from kitdesk.domain.inventory import service as inventory
from kitdesk.domain.orders import events, lifecycle, new_rows, view_rows, views
from kitdesk.domain.orders import view_statements as sql
from kitdesk.domain.orders.events import publish_order_status
from kitdesk.domain.orders.schemas import OrderCreate
from kitdesk.domain.returns.service import build_return
from kitdesk.domain.webhooks import outbox
from kitdesk.domain.webhooks.publish import wanted_events
from kitdesk.errors import FieldError, Invalid

# Documented messages, verbatim.
MSG_RECIPIENT = "patient or site required"
MSG_CONTENT = (
    "Order must contain at least one of: orderItems, orderKits, returnItems, returnDevices, "
    "or returnPackedKits"
)
MSG_SHIPPING_FOR_RETURNS = (
    "shippingOption is required when emailLabel is false and return items are included"
)
MSG_NON_ORDERABLE = "Order contains Items that are marked as non-orderable. Order cannot be placed."


@dataclass
class _Problems:
    """Rule violations collected so that one response names every bad field."""

    first: tuple[str, str] | None = None
    errors: list[FieldError] = field(default_factory=list)

    def add(self, code: str, message: str, field_name: str, detail: str | None = None) -> None:
        if self.first is None:
            self.first = (code, message)
        self.errors.append(FieldError(field_name, detail or message))

    def raise_if_any(self) -> None:
        if self.first is not None:
            code, message = self.first
            raise Invalid(code=code, message=message, errors=self.errors)


@dataclass(frozen=True)
class PlacedOrder:
    """A new order: its id, status and warehouse, and its view (the API's answer)."""

    id: int
    current_status: str
    fulfillment_site_id: int | None
    view: views.View


async def place_order(
    session: AsyncSession,
    *,
    account_id: int,
    data: OrderCreate,
    key_prefix: str | None = None,
    commit: bool = False,
    references: new_rows.References | None = None,
) -> PlacedOrder:
    """Validate and create an order; it starts ``received`` with a ``received`` event.

    ``commit``: the caller's transaction ends with the order (the caller commits right after,
    writing nothing more). On PostgreSQL the reservation and the commit then go to the database
    together, so the stock rows are not kept locked while the worker comes back to commit.

    ``references``: what the order refers to, when the caller read it with the API key
    (``new_rows.keyed_references`` with ``reference_ids``); else it is read here.
    """
    resolved = await _resolve(session, account_id, data, references)
    plan = _plan(data, resolved, account_id=account_id, key_prefix=key_prefix)
    order, needs, candidates = plan.order, plan.needs, plan.candidates
    written = await new_rows.write(session, order, plan.audit_entry)
    order_id = written.order_id
    await external_ids.claim_for_order(
        session,
        account_id=account_id,
        order_id=order_id,
        values=order.external_order_ids,
        unique=written.unique_external_ids,
    )
    if plan.two_way:
        await _open_return_leg(session, account_id, order_id, data, resolved)
        view = await views.order_view(session, account_id=account_id, order_id=order_id)
    else:
        view = _new_view(order_id, order, resolved)
    await publish_order_status(
        session,
        account_id=account_id,
        order_id=order_id,
        status=order.current_status,
        view=view,
        subscribers=resolved.subscribers,
    )
    # Audit entries recorded meanwhile (a two-way order's return) are written now rather than
    # at the commit: nothing is left to send between the reservation and the commit.
    await audit.write_pending(session)
    site_id = order.fulfillment_site_id
    if needs:
        # The reservation comes last, just before the commit: every order for the same goods
        # waits on these stock rows' locks, so they are held for one statement (two on SQLite)
        # and the commit, not for the whole placement. A warehouse emptied meanwhile is passed
        # over for the next one; when none is left the request fails and its transaction
        # (everything above) is rolled back, so a refused order still writes nothing.
        if commit and not plan.two_way and driver.is_postgresql(session):
            site_id = await _reserve_and_commit(
                session, order, order_id, needs, candidates, plan.created_at
            )
        else:
            site_id = await inventory.reserve(session, needs=needs, candidates=candidates)
            if site_id != order.fulfillment_site_id:
                await new_rows.move_to_warehouse(session, order_id, site_id, at=plan.created_at)
    return PlacedOrder(order_id, order.current_status, site_id, view)


async def place_order_in_one_message(
    connection: AsyncConnection,
    *,
    account_id: int,
    data: OrderCreate,
    key_prefix: str | None,
    references: new_rows.References,
) -> PlacedOrder | None:
    """PostgreSQL: place an order on a connection in autocommit, in one round trip, when the
    order allows it; None (nothing done) when it does not, for ``place_order`` to place it.

    ``references``: as ``new_rows.keyed_references`` read them with ``draw_order_id``, the
    account's rule on external ids and the new order's id included. Two statements travel in
    one message and one transaction (``driver.run_in_one_message``): the first writes the order
    with all its rows, its audit entry and its webhook events (``_writing_statement``), the
    second reserves its stock at one warehouse (``inventory.reservation``). They commit as a
    whole or not at all. When the warehouse falls short, nothing is written and the next
    warehouse is tried, each time with the order written for that warehouse. The rules are
    those of ``place_order``, checked the same way, before anything is written.

    The reservation is the second statement so that every order for the same goods, which
    queues on the warehouse's reservation lock and its stock rows until the commit, waits only
    for the reservation and the commit of the one ahead: the order's rows, their foreign-key
    checks included, are written before the locks are taken. pgbench, one warehouse, 16
    connections: the write's foreign-key checks were a fifth of the queue's time when the two
    were one statement (543-549 orders/s with them, 665-695 without).

    The orders it does not take: a two-way order (its return leg is built on ORM objects), an
    account that keeps external ids unique (claims that may refuse the order with a 409), an
    order the read drew no id for, an order that reserves nothing, and an order with a value no
    SQL literal can carry (a NUL character).
    """
    resolved = await _resolve(connection, account_id, data, references)
    plan = _plan(data, resolved, account_id=account_id, key_prefix=key_prefix)
    order = plan.order
    if (
        plan.two_way
        or not plan.needs
        or order.id is None
        or references.unique_external_ids is not False
    ):
        return None
    view = _new_view(order.id, order, resolved)
    outbox_params = await _queued_events(order.id, order, view, resolved, plan.created_at)
    writing = _writing_statement(with_events=bool(outbox_params))
    for site_id in plan.candidates:
        order.fulfillment_site_id = site_id
        written = new_rows.write_params(order, plan.audit_entry) | outbox_params
        reserve = inventory.reservation(plan.needs, site_id=site_id, at=plan.created_at)
        try:
            refused = await driver.run_in_one_message(
                connection,
                [(writing, written), reserve],
                declined=lambda error: inventory.fell_short(error) or _became_unique(error),
            )
        except driver.NoLiteral:
            return None  # a value no literal carries: nothing was sent
        if refused is None:
            return PlacedOrder(order.id, order.current_status, site_id, view)
        if _became_unique(refused):
            return None  # nothing was written: the session's way claims the ids
        # The warehouse fell short and nothing was written: the next one.
    raise Invalid(code=inventory.INSUFFICIENT, message=inventory.INSUFFICIENT)


async def _queued_events(
    order_id: int,
    order: new_rows.NewOrder,
    view: views.View,
    resolved: new_rows.References,
    at: datetime,
) -> dict[str, Any]:
    """The parameters of the outbox rows a new order queues (none: no subscriber wants them),
    the same events ``publish_order_status`` queues through a session."""
    payloads = events.status_payload_texts(order_id, order.current_status, view)
    wanted = await wanted_events(payloads, resolved.subscribers)
    if not wanted:
        return {}
    return outbox.queue_params(
        account_id=order.account_id,
        resource_key=events.resource_key(order_id),
        events=wanted,
        at=at,
    )


@functools.cache
def _writing_statement(*, with_events: bool) -> Select[Any]:
    """PostgreSQL: a new order's rows and audit entry (``new_rows.WRITE_CTES``) written, with its
    webhook events when ``with_events`` (``outbox.QUEUE_CTES``), in one statement that fails
    with nothing written if the account keeps external ids unique (``_ids_still_repeatable``).
    PostgreSQL runs every data-modifying CTE whether the query reads it or not."""
    ctes = (*new_rows.WRITE_CTES, *(outbox.QUEUE_CTES if with_events else ()))
    return select(new_rows.NEW_ORDER_ID, _ids_still_repeatable()).add_cte(*ctes)


# What the writing statement says when the account began keeping external ids unique after the
# read that sent the order this way (an error of its own making: nothing is written).
UNIQUE_IDS_MARKER = "kitdesk: external ids became unique"


def _ids_still_repeatable() -> Any:
    """0, or the statement fails (``_became_unique``) when the order has external ids and its
    account now keeps them unique. The operator's switch (``external_ids.set_unique``) locks
    the order_external_ids table until it commits; the statement's INSERT there waits for that
    lock before the statement takes its snapshot, so it reads the switch's outcome."""
    has_ids = func.cardinality(bindparam("external_id_value", type_=ARRAY(String))) > 0
    # The message names the account, so PostgreSQL cannot cast it while planning.
    refusal = literal(f"{UNIQUE_IDS_MARKER} for account ") + cast(Account.id, String)
    outcome = case((Account.unique_external_order_ids & has_ids, refusal), else_=literal("0"))
    return (
        select(cast(outcome, Integer))
        .where(Account.id == bindparam("account_id"))
        .scalar_subquery()
    )


def _became_unique(error: BaseException) -> bool:
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    return getattr(error, "sqlstate", None) == "22P02" and UNIQUE_IDS_MARKER in str(error)


@dataclass
class _Plan:
    """A valid new order, as written: its rows, its audit entry, what it reserves and where."""

    order: new_rows.NewOrder
    audit_entry: dict[str, Any]
    needs: dict[int, int]
    candidates: list[int]
    two_way: bool
    created_at: datetime


def _plan(
    data: OrderCreate, resolved: new_rows.References, *, account_id: int, key_prefix: str | None
) -> _Plan:
    """Check every rule (``Invalid`` names every bad field at once), then lay out the order."""
    # Every rule runs before anything is refused, so one response names every bad field; rules
    # about a referenced row simply skip references that did not resolve.
    problems = _Problems()
    _check_shape(data, problems)
    _check_references(data, resolved, problems)
    _check_rules(data, resolved, problems)
    problems.raise_if_any()
    needs = units_needed(data, resolved)
    # When no warehouse holds the goods, the order is refused before anything is written.
    candidates = inventory.warehouses_from(resolved.stock, needs=needs) if needs else []
    now = utcnow()
    order = new_rows.NewOrder(
        account_id=account_id,
        patient_id=None if resolved.patient is None else resolved.patient[0],
        site_id=None if resolved.site is None else resolved.site[0],
        current_status=lifecycle.INITIAL.value,
        shipping_option=data.shipping_option,
        email_label=data.email_label,
        external_order_ids=list(data.external_order_ids or []),
        fulfillment_site_id=candidates[0] if candidates else None,
        two_way=_has_returns(data),
        created_at=now,
        item_lines=[(line.item.id, line.count) for line in data.order_items or []],
        kit_lines=[(line.kit.id, line.count) for line in data.order_kits or []],
        notes=[note.note for note in data.order_notes or []],
        note_author=key_prefix,
        reservations=sorted(needs.items()),
        id=resolved.order_id,
    )
    entry = audit.entry(action="order.create", resource_type="order")
    return _Plan(order, entry, needs, candidates, order.two_way, now)


def _new_view(order_id: int, order: new_rows.NewOrder, resolved: new_rows.References) -> views.View:
    """A new one-way order's view, laid out from what was written and read (nothing read back)."""
    return views.assemble(
        view_rows.for_new_order(
            order_id,
            order,
            patient=resolved.patient,
            site=resolved.site,
            items=resolved.items,
            kits=resolved.kits,
        )
    )[order_id]


async def _reserve_and_commit(
    session: AsyncSession,
    order: new_rows.NewOrder,
    order_id: int,
    needs: dict[int, int],
    candidates: list[int],
    now: datetime,
) -> int:
    """PostgreSQL: reserve at the first candidate that has the goods, committing with it."""
    for site_id in candidates:
        # An order reserved elsewhere than the warehouse it was written with records the move
        # in the same round trip, before the commit.
        then: list[tuple[ClauseElement, Mapping[str, Any]]] = []
        if site_id != order.fulfillment_site_id:
            then.append(new_rows.move_statement(order_id, site_id, at=now))
        if await inventory.reserve_and_commit(session, needs=needs, site_id=site_id, then=then):
            return site_id
    raise Invalid(code=inventory.INSUFFICIENT, message=inventory.INSUFFICIENT)


async def _open_return_leg(
    session: AsyncSession, account_id: int, order_id: int, data: OrderCreate, r: new_rows.References
) -> None:
    # The return service works on ORM objects: the recipient is loaded as one here (a two-way
    # order only).
    patient = site = None
    if r.patient is not None:
        patient = await session.get(Patient, r.patient[0], options=[joinedload(Patient.site)])
    if r.site is not None:
        site = await session.get(Site, r.site[0])
    await build_return(
        session,
        account_id=account_id,
        patient=patient,
        site=site,
        devices=data.return_devices or [],
        items=data.return_items or [],
        packed_kits=data.return_packed_kits or [],
        shipping_option=data.shipping_option,
        email_label=data.email_label,
        related_order_id=order_id,
        two_way=True,
    )


def units_needed(data: OrderCreate, r: new_rows.References) -> dict[int, int]:
    """Units of each item the order ships: its items, plus its kits expanded to their items."""
    needs: Counter[int] = Counter()
    for line in data.order_items or []:
        needs[line.item.id] += line.count
    for kline in data.order_kits or []:
        for entry in r.kits[kline.kit.id].lines:
            needs[entry.item.id] += entry.count * kline.count
    return dict(needs)


def _check_shape(data: OrderCreate, p: _Problems) -> None:
    if data.patient is None and data.site is None:
        p.add("patient_or_site_required", MSG_RECIPIENT, "patient")
    if data.patient is not None and data.site is not None:
        msg = "an order goes to exactly one recipient: give patient or site, not both"
        p.add("patient_and_site", msg, "patient")
        p.errors.append(FieldError("site", msg))
    if not data.order_items and not data.order_kits and not _has_returns(data):
        p.add("order_content_required", MSG_CONTENT, "orderItems")
    if _has_returns(data) and not data.email_label and data.shipping_option is None:
        p.add("shipping_option_required", MSG_SHIPPING_FOR_RETURNS, "shippingOption")
    _no_duplicates([line.item.id for line in data.order_items or []], "orderItems", "item", p)
    _no_duplicates([line.kit.id for line in data.order_kits or []], "orderKits", "kit", p)


def _has_returns(data: OrderCreate) -> bool:
    return bool(data.return_devices or data.return_items or data.return_packed_kits)


def _no_duplicates(ids: list[int], list_name: str, kind: str, p: _Problems) -> None:
    seen: set[int] = set()
    for n, ident in enumerate(ids):
        if ident in seen:
            msg = f"{kind} {ident} appears more than once in {list_name}; give it once with a count"
            p.add(f"duplicate_{kind}", msg, f"{list_name}[{n}].{kind}.id")
        seen.add(ident)


def reference_ids(data: OrderCreate) -> dict[str, Any]:
    """The ids an order refers to, as ``new_rows.references`` takes them."""
    return {
        "patient_id": None if data.patient is None else data.patient.id,
        "site_id": None if data.site is None else data.site.id,
        "item_ids": [line.item.id for line in data.order_items or []],
        "kit_ids": [line.kit.id for line in data.order_kits or []],
    }


async def _resolve(
    executor: AsyncSession | AsyncConnection,
    account_id: int,
    data: OrderCreate,
    known: new_rows.References | None = None,
) -> new_rows.References:
    """Every referenced row, read in one statement unless ``known``."""
    if known is not None:
        return known
    return await new_rows.references(executor, account_id=account_id, **reference_ids(data))


def _check_references(data: OrderCreate, r: new_rows.References, p: _Problems) -> None:
    """Name every reference that did not resolve (unknown, or another account's)."""
    ids = reference_ids(data)
    item_ids, kit_ids = ids["item_ids"], ids["kit_ids"]
    if data.patient is not None and r.patient is None:
        p.add("unknown_patient", f"patient {data.patient.id} not found", "patient.id")
    if data.site is not None and r.site is None:
        p.add("unknown_site", f"site {data.site.id} not found", "site.id")
    for n, ident in enumerate(item_ids):
        if ident not in r.items:
            p.add("unknown_item", f"item {ident} not found", f"orderItems[{n}].item.id")
    for n, ident in enumerate(kit_ids):
        if ident not in r.kits:
            p.add("unknown_kit", f"kit {ident} not found", f"orderKits[{n}].kit.id")


_PATIENT_ARCHIVED = sql.PATIENT_COLUMNS.index("archived")
_SITE_ACTIVE = sql.SITE_COLUMNS.index("active")


def _check_rules(data: OrderCreate, r: new_rows.References, p: _Problems) -> None:
    """Business rules on the rows that resolved (unknown references are already named)."""
    if r.patient is not None and r.patient[_PATIENT_ARCHIVED]:
        p.add("patient_archived", f"patient {r.patient[0]} is archived", "patient.id")
    if r.site is not None and not r.site[_SITE_ACTIVE]:
        p.add("site_inactive", f"site {r.site[0]} is not active", "site.id")
    for n, line in enumerate(data.order_items or []):
        item = r.items.get(line.item.id)
        if item is not None and not item.orderable:
            p.add(
                "non_orderable_items",
                MSG_NON_ORDERABLE,
                f"orderItems[{n}].item.id",
                f"item {line.item.id} is not orderable",
            )
    _check_kits(data, r, p)


def _check_kits(data: OrderCreate, r: new_rows.References, p: _Problems) -> None:
    loaners: list[int] = []
    for n, kline in enumerate(data.order_kits or []):
        kit = r.kits.get(kline.kit.id)
        if kit is None:
            continue
        where = f"orderKits[{n}]"
        if kit.archived:
            p.add("kit_archived", f"kit {kit.id} is archived", f"{where}.kit.id")
        for entry in kit.lines:
            if not entry.item.orderable:
                p.add(
                    "item_not_orderable",
                    "item_not_orderable",
                    f"{where}.kit.id",
                    f"kit {kit.id} contains item {entry.item.id}, which is not orderable",
                )
        if kit.loaner:
            loaners.append(n)
            if kline.count > 1:
                p.add("qty_over_one_loaner_kit", "qty_over_one_loaner_kit", f"{where}.count")
            if data.site is not None:
                p.add("no_loaner_kit_to_site", "no_loaner_kit_to_site", f"{where}.kit.id")
            if _has_returns(data):
                p.add("no_returns_with_loaner_kit", "no_returns_with_loaner_kit", f"{where}.kit.id")
    for n in loaners[1:]:
        p.add("max_one_loaner_kit", "max_one_loaner_kit", f"orderKits[{n}].kit.id")
