"""The benchmark's data set as plain rows: sites, patients and orders that look like real ones.

Orders carry what placement writes (lines, kits, the ``received`` event, external ids, stock
reservations at the demo warehouse), and some have moved on to ``processing`` since. Row tuples
follow the column lists below, so they can be bulk-copied as they are.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from kitdesk.domain import demo
from kitdesk.domain.orders.lifecycle import Status

FIRST_ID = 2001  # seeded sites and patients; the demo's own are 1234 and 5678
WAREHOUSE_ID = 1  # the demo's warehouse
HISTORY = timedelta(days=365)
ORDERABLE_ITEMS = [i[0] for i in demo.ITEMS if i[5]]
KIT_LINES = {k[0]: k[2] for k in demo.KITS}
PLAIN_KITS = [k[0] for k in demo.KITS if not k[3] and all(i in ORDERABLE_ITEMS for i, _ in k[2])]
LOANER_KITS = [k[0] for k in demo.KITS if k[3]]
SHIPPING = ["standard"] * 6 + ["expedited"] * 3 + ["overnight"]
FIRST_NAMES = ["Alex", "Sam", "Maria", "Wei", "Fatima", "John", "Priya", "Lucas", "Aiko", "Omar"]
LAST_NAMES = ["Smith", "Garcia", "Chen", "Okafor", "Novak", "Silva", "Khan", "Berg", "Rossi"]
ADDRESS = ("100 Main Street", "Springfield", "IL", "62701", "US")
ADDRESS_COLUMNS = [
    "address_line_one",
    "address_city",
    "address_state",
    "address_zip_code",
    "address_country",
]

SITE_COLUMNS = [
    "id",
    "account_id",
    "name",
    "active",
    "phone_number",
    "created_at",
    "updated_at",
    *ADDRESS_COLUMNS,
]
PATIENT_COLUMNS = [
    "id",
    "account_id",
    "site_id",
    "external_identifier",
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
    "phone_number",
    "sex",
    "archived",
    "enrolled",
    "created_at",
    "updated_at",
    *ADDRESS_COLUMNS,
]
ORDER_COLUMNS = [
    "id",
    "account_id",
    "patient_id",
    "site_id",
    "current_status",
    "shipping_option",
    "email_label",
    "external_order_ids",
    "fulfillment_site_id",
    "held_from",
    "two_way",
    "created_at",
    "updated_at",
]
LINE_COLUMNS = {
    "order_items": ["order_id", "position", "item_id", "count"],
    "order_kits": ["order_id", "position", "kit_id", "count"],
    "order_events": ["id", "order_id", "name", "event_timestamp"],
    "order_reservations": ["order_id", "item_id", "quantity"],
    "order_external_ids": ["order_id", "position", "account_id", "value"],
}

Row = tuple[object, ...]


def site_rows(account_id: int, count: int, now: datetime) -> list[Row]:
    """``count`` active sites of the account (ids from ``FIRST_ID``)."""
    return [
        (FIRST_ID + n, account_id, f"Clinic {n + 1}", True, "+1 217 555 0199", now, now, *ADDRESS)
        for n in range(count)
    ]


def patient_rows(account_id: int, site_ids: list[int], count: int, now: datetime) -> list[Row]:
    """``count`` patients of the account spread over ``site_ids`` (ids from ``FIRST_ID``)."""
    rows: list[Row] = []
    for n in range(count):
        ident = FIRST_ID + n
        first, last = FIRST_NAMES[n % len(FIRST_NAMES)], LAST_NAMES[n % len(LAST_NAMES)]
        rows.append(
            (
                ident,
                account_id,
                site_ids[n % len(site_ids)],
                f"bench-{ident}",
                first,
                last,
                date(1940 + n % 60, 1 + n % 12, 1 + n % 28),
                f"patient{ident}@example.com",
                "+1 217 555 0100",
                ["female", "male", "unknown"][n % 3],
                False,
                True,
                now,
                now,
                *ADDRESS,
            )
        )
    return rows


@dataclass
class OrderRows:
    """Every row of the seeded orders, and the units they hold reserved per item."""

    orders: list[Row] = field(default_factory=list)
    lines: dict[str, list[Row]] = field(default_factory=lambda: {t: [] for t in LINE_COLUMNS})
    reserved: Counter[int] = field(default_factory=Counter)


def order_rows(
    account_id: int, patient_ids: list[int], site_ids: list[int], count: int, now: datetime
) -> OrderRows:
    """``count`` orders (ids 1..count), oldest first, over the past year; one in ten to a site."""
    rng = random.Random(6)  # the same data set on every run
    out = OrderRows()
    start = now - HISTORY
    for order_id in range(1, count + 1):
        created = start + HISTORY * (order_id / (count + 1))
        to_site = rng.random() < 0.1
        patient = None if to_site else rng.choice(patient_ids)
        site = rng.choice(site_ids) if to_site else None
        processing = rng.random() < 0.4
        status = Status.PROCESSING if processing else Status.RECEIVED
        external = [f"ext-{order_id}-{k}" for k in range(rng.randint(1, 3))]
        out.orders.append(
            (
                order_id,
                account_id,
                patient,
                site,
                status.value,
                rng.choice(SHIPPING),
                False,
                external,
                WAREHOUSE_ID,
                None,
                False,
                created,
                created + timedelta(hours=1),
            )
        )
        _events(out, order_id, created, processing)
        for position, value in enumerate(external):
            out.lines["order_external_ids"].append((order_id, position, account_id, value))
        _content(out, rng, order_id, loaner_allowed=not to_site)
    return out


def _events(out: OrderRows, order_id: int, created: datetime, processing: bool) -> None:
    events = out.lines["order_events"]
    events.append((len(events) + 1, order_id, Status.RECEIVED.value, created))
    if processing:
        moved = created + timedelta(hours=1)
        events.append((len(events) + 1, order_id, Status.PROCESSING.value, moved))


def _content(out: OrderRows, rng: random.Random, order_id: int, *, loaner_allowed: bool) -> None:
    """One to four items and up to four kits (at most one loaner), with their reservations."""
    needs: Counter[int] = Counter()
    items = rng.sample(ORDERABLE_ITEMS, rng.randint(1, 4))
    kits = rng.sample(PLAIN_KITS, rng.randint(0, min(4, len(PLAIN_KITS))))
    if loaner_allowed and LOANER_KITS and rng.random() < 0.05:
        kits.append(LOANER_KITS[0])
    for position, item_id in enumerate(items):
        count = rng.randint(1, 3)
        out.lines["order_items"].append((order_id, position, item_id, count))
        needs[item_id] += count
    for position, kit_id in enumerate(kits):
        count = 1 if kit_id in LOANER_KITS else rng.randint(1, 2)
        out.lines["order_kits"].append((order_id, position, kit_id, count))
        for item_id, per_kit in KIT_LINES[kit_id]:
            needs[item_id] += per_kit * count
    for item_id in sorted(needs):
        out.lines["order_reservations"].append((order_id, item_id, needs[item_id]))
    out.reserved.update(needs)
