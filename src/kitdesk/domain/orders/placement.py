"""Placing an order: every create-order rule, then one write."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from kitdesk.db.models import (
    CatalogEntry,
    Item,
    Kit,
    KitItem,
    Order,
    OrderEvent,
    OrderItem,
    OrderKit,
    OrderNote,
    OrderReservation,
    Patient,
    Site,
)
from kitdesk.domain.audit import recorder as audit
from kitdesk.domain.integrity import external_ids
from kitdesk.domain.inventory import service as inventory
from kitdesk.domain.orders import insertion, lifecycle
from kitdesk.domain.orders.events import order_status_changed
from kitdesk.domain.orders.schemas import OrderCreate
from kitdesk.domain.returns.service import build_return
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


# Constant statements, built once: placing an order is the busiest write.
_PATIENT = (
    select(Patient)
    .options(joinedload(Patient.site))
    .where(Patient.id == bindparam("patient_id"), Patient.account_id == bindparam("account_id"))
)
_SITE = select(Site).where(
    Site.id == bindparam("site_id"), Site.account_id == bindparam("account_id")
)
_ITEMS = (
    select(Item)
    .join(
        CatalogEntry,
        (CatalogEntry.item_id == Item.id) & (CatalogEntry.account_id == bindparam("account_id")),
    )
    .where(Item.id.in_(bindparam("ids", expanding=True)))
)
# Kits with their lines and items in one statement (joined, so the rows need .unique()).
_KITS = (
    select(Kit)
    .options(joinedload(Kit.kit_items).joinedload(KitItem.item))
    .where(
        Kit.id.in_(bindparam("ids", expanding=True)),
        (Kit.account_id == bindparam("account_id")) | Kit.account_id.is_(None),
    )
)


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


@dataclass
class _Resolved:
    patient: Patient | None = None
    site: Site | None = None
    items: dict[int, Item] = field(default_factory=dict)
    kits: dict[int, Kit] = field(default_factory=dict)


async def place_order(
    session: AsyncSession, *, account_id: int, data: OrderCreate, key_prefix: str | None = None
) -> Order:
    """Validate and create an order; it starts ``received`` with a ``received`` event."""
    # Every rule runs before anything is refused, so one response names every bad field; rules
    # about a referenced row simply skip references that did not resolve.
    problems = _Problems()
    _check_shape(data, problems)
    resolved = await _resolve(session, account_id, data, problems)
    _check_rules(data, resolved, problems)
    problems.raise_if_any()
    needs = units_needed(data, resolved)
    # When no warehouse holds the goods, the order is refused before anything is written.
    candidates = await inventory.warehouses_for(session, needs=needs) if needs else []
    order = _build(account_id, data, resolved, key_prefix)
    order.fulfillment_site_id = candidates[0] if candidates else None
    order.two_way = _has_returns(data)
    order.reservations = [
        OrderReservation(item_id=item_id, quantity=quantity)
        for item_id, quantity in sorted(needs.items())
    ]
    await insertion.insert_order(session, account_id=account_id, order=order)
    await external_ids.claim_for_order(
        session, account_id=account_id, order_id=order.id, values=order.external_order_ids
    )
    if order.two_way:
        order.returns = [
            await build_return(
                session,
                account_id=account_id,
                patient=resolved.patient,
                site=resolved.site,
                devices=data.return_devices or [],
                items=data.return_items or [],
                packed_kits=data.return_packed_kits or [],
                shipping_option=data.shipping_option,
                email_label=data.email_label,
                related_order_id=order.id,
                two_way=True,
            )
        ]
    audit.record(session, action="order.create", resource_type="order", resource_id=order.id)
    await order_status_changed(session, order, loaded=not order.two_way)
    if needs:
        # The reservation comes last, just before the commit: every order for the same goods
        # waits on these stock rows' locks, so they are held for two statements and the commit,
        # not for the whole placement. A warehouse emptied meanwhile is passed over for the next
        # one; when none is left the request fails and its transaction (everything above) is
        # rolled back, so a refused order still writes nothing.
        site_id = await inventory.reserve(session, needs=needs, candidates=candidates)
        if site_id != order.fulfillment_site_id:
            order.fulfillment_site_id = site_id  # written by the session's flush at commit
    return order


def units_needed(data: OrderCreate, r: _Resolved) -> dict[int, int]:
    """Units of each item the order ships: its items, plus its kits expanded to their items."""
    needs: Counter[int] = Counter()
    for line in data.order_items or []:
        needs[line.item.id] += line.count
    for kline in data.order_kits or []:
        for entry in r.kits[kline.kit.id].kit_items:
            needs[entry.item_id] += entry.count * kline.count
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


async def _resolve(
    session: AsyncSession, account_id: int, data: OrderCreate, p: _Problems
) -> _Resolved:
    """Load every referenced row in a fixed number of queries, naming the unknown ones."""
    r = _Resolved()
    await _resolve_recipient(session, account_id, data, r, p)
    item_ids = [line.item.id for line in data.order_items or []]
    if item_ids:
        rows = await session.scalars(_ITEMS, {"ids": item_ids, "account_id": account_id})
        r.items = {i.id: i for i in rows}
        for n, ident in enumerate(item_ids):
            if ident not in r.items:
                p.add("unknown_item", f"item {ident} not found", f"orderItems[{n}].item.id")
    kit_ids = [line.kit.id for line in data.order_kits or []]
    if kit_ids:
        rows_k = (await session.scalars(_KITS, {"ids": kit_ids, "account_id": account_id})).unique()
        r.kits = {k.id: k for k in rows_k}
        for n, ident in enumerate(kit_ids):
            if ident not in r.kits:
                p.add("unknown_kit", f"kit {ident} not found", f"orderKits[{n}].kit.id")
    return r


async def _resolve_recipient(
    session: AsyncSession, account_id: int, data: OrderCreate, r: _Resolved, p: _Problems
) -> None:
    if data.patient is not None:
        r.patient = await session.scalar(
            _PATIENT, {"patient_id": data.patient.id, "account_id": account_id}
        )
        if r.patient is None:
            p.add("unknown_patient", f"patient {data.patient.id} not found", "patient.id")
    if data.site is not None:
        r.site = await session.scalar(_SITE, {"site_id": data.site.id, "account_id": account_id})
        if r.site is None:
            p.add("unknown_site", f"site {data.site.id} not found", "site.id")


def _check_rules(data: OrderCreate, r: _Resolved, p: _Problems) -> None:
    """Business rules on the rows that resolved (unknown references are already named)."""
    if r.patient is not None and r.patient.archived:
        p.add("patient_archived", f"patient {r.patient.id} is archived", "patient.id")
    if r.site is not None and not r.site.active:
        p.add("site_inactive", f"site {r.site.id} is not active", "site.id")
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


def _check_kits(data: OrderCreate, r: _Resolved, p: _Problems) -> None:
    loaners: list[int] = []
    for n, kline in enumerate(data.order_kits or []):
        kit = r.kits.get(kline.kit.id)
        if kit is None:
            continue
        where = f"orderKits[{n}]"
        if kit.archived:
            p.add("kit_archived", f"kit {kit.id} is archived", f"{where}.kit.id")
        for entry in kit.kit_items:
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


def _build(account_id: int, data: OrderCreate, r: _Resolved, key_prefix: str | None) -> Order:
    """The new order with every collection set, so it renders without a reload."""
    return Order(
        account_id=account_id,
        patient=r.patient,
        site=r.site,
        current_status=lifecycle.INITIAL.value,
        shipping_option=data.shipping_option,
        email_label=data.email_label,
        external_order_ids=list(data.external_order_ids or []),
        order_items=[
            OrderItem(position=n, item=r.items[line.item.id], count=line.count)
            for n, line in enumerate(data.order_items or [])
        ],
        order_kits=[
            OrderKit(position=n, kit=r.kits[line.kit.id], count=line.count)
            for n, line in enumerate(data.order_kits or [])
        ],
        order_events=[OrderEvent(name=lifecycle.INITIAL.value)],
        order_notes=[
            OrderNote(note=note.note, created_by_key_prefix=key_prefix)
            for note in data.order_notes or []
        ],
        tracking_numbers=[],
        packed_kits=[],
        order_devices=[],
        returns=[],
    )
