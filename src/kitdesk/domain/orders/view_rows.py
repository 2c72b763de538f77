"""The rows an order view is assembled from, read from the database or laid out for a new order.

``views`` reads them with ``view_statements``; ``for_new_order`` lays out an order just placed
the same way, from the rows placement read and the values it wrote, so both render through the
same code and a new order is not read back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kitdesk.domain.orders import view_statements as sql
from kitdesk.domain.orders.new_rows import ItemRow, KitRow, NewOrder

Row = Sequence[Any]


@dataclass
class ViewRows:
    """The rows of each statement of ``view_statements``, in its column layout."""

    orders: Sequence[Row] = field(default_factory=list)
    items: Sequence[Row] = field(default_factory=list)
    parts: Sequence[Row] = field(default_factory=list)


_NO_PATIENT = (None,) * (len(sql.PATIENT_COLUMNS) + len(sql.SUMMARY_COLUMNS))
_NO_SITE = (None,) * len(sql.SITE_COLUMNS)
_NO_DEVICE = (None,) * (sql.ITEM_WIDTH - sql.DEVICE)


def _line(kind: int, owner: int, position: int, count: int, item: ItemRow) -> tuple[Any, ...]:
    return (kind, owner, position, count, None, *item.row, *_NO_DEVICE)


def _part(kind: int, owner: int, sort: int, *values: Any) -> tuple[Any, ...]:
    # kind, owner, sort, position, then label, value, moment, ref, ref2, flag, flag2.
    return (kind, owner, sort, 0, *values, *(None,) * (7 - len(values)))


def for_new_order(
    order_id: int,
    order: NewOrder,
    *,
    patient: Row | None,
    site: Row | None,
    items: Mapping[int, ItemRow],
    kits: Mapping[int, KitRow],
) -> ViewRows:
    """The view rows of an order just written (no return leg, no devices, no tracking yet).

    ``patient`` is a ``new_rows.PATIENT`` row, ``site`` a ``new_rows.SITE`` row.
    """
    now = order.created_at
    head = (
        order_id,
        order.account_id,
        order.external_order_ids,
        order.current_status,
        order.shipping_option,
        order.email_label,
        now,
        now,
    )
    ordered_kits = [(kits[kit_id], count) for kit_id, count in order.kit_lines]
    return ViewRows(
        orders=[(*head, *(patient or _NO_PATIENT), *(site or _NO_SITE))],
        items=[
            *(
                _line(sql.ORDERED_ITEM, order_id, n, count, items[item_id])
                for n, (item_id, count) in enumerate(order.item_lines)
            ),
            *(
                _line(sql.KIT_LINE, kit.id, line.position, line.count, line.item)
                for kit, _ in ordered_kits
                for line in kit.lines
            ),
        ],
        parts=[
            _part(sql.EVENT, order_id, 0, order.current_status, None, now),
            *(_part(sql.NOTE, order_id, n, note, None, now) for n, note in enumerate(order.notes)),
            *(
                _part(
                    sql.ORDERED_KIT,
                    order_id,
                    n,
                    kit.name,
                    None,
                    None,
                    kit.id,
                    count,
                    kit.archived,
                    kit.loaner,
                )
                for n, (kit, count) in enumerate(ordered_kits)
            ),
        ],
    )
