"""The rows an order view is assembled from, read from the database or taken from ORM objects.

``views`` reads them with ``view_statements``; ``from_loaded`` lays out an order already in
memory (a new order, with every relationship its view needs loaded) the same way, so both
render through the same code and neither reloads what it has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kitdesk.db.models import Device, Item, Kit, Order, Patient
from kitdesk.domain.orders import view_statements as sql

Row = Sequence[Any]


@dataclass
class ViewRows:
    """The rows of each statement of ``view_statements``, in its column layout."""

    orders: Sequence[Row] = field(default_factory=list)
    items: Sequence[Row] = field(default_factory=list)
    parts: Sequence[Row] = field(default_factory=list)


def _values(obj: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    if obj is None:
        return (None,) * len(names)
    # A loaded column's value sits in the instance's __dict__, where the ORM's attribute would
    # read it from (at several times the cost); one that is not loaded goes through the ORM.
    loaded = obj.__dict__
    try:
        return tuple([loaded[name] for name in names])
    except KeyError:
        return tuple(getattr(obj, name) for name in names)


def _item(item: Item) -> tuple[Any, ...]:
    return (*_values(item, sql.ITEM_COLUMNS), *_values(item.manufacturer, ("id", "name")))


def _line(kind: int, owner: int, line: Any) -> tuple[Any, ...]:
    padding = (None,) * (sql.ITEM_WIDTH - sql.DEVICE)
    return (kind, owner, line.position, line.count, None, *_item(line.item), *padding)


def _part(kind: int, owner: int, sort: int, *values: Any, position: int = 0) -> tuple[Any, ...]:
    # label, value, moment, ref, ref2, flag, flag2; absent ones are None.
    return (kind, owner, sort, position, *values, *(None,) * (7 - len(values)))


def from_loaded(order: Order) -> ViewRows:
    """The view rows of an order whose relationships are loaded (as ``place_order`` leaves it)."""
    patient: Patient | None = order.patient
    return ViewRows(
        orders=[
            (
                *_values(order, sql.ORDER_COLUMNS),
                *_values(patient, sql.PATIENT_COLUMNS),
                *_values(patient.site if patient else None, sql.SUMMARY_COLUMNS),
                *_values(order.site, sql.SITE_COLUMNS),
            )
        ],
        items=_items(order),
        parts=_parts(order),
    )


def _items(order: Order) -> list[tuple[Any, ...]]:
    kits: dict[int, Kit] = {k.kit.id: k.kit for k in order.order_kits}
    kits.update((k.kit.id, k.kit) for k in order.packed_kits)
    legs = order.returns[:1]
    return [
        *(_line(sql.ORDERED_ITEM, order.id, line) for line in order.order_items),
        *(_line(sql.KIT_LINE, kit.id, line) for kit in kits.values() for line in kit.kit_items),
        *(_line(sql.RETURNED_ITEM, leg.id, line) for leg in legs for line in leg.items),
        *(_device(order.id, od.packed_kit_id, od.device) for od in order.order_devices),
    ]


def _device(order_id: int, packed_kit_id: int | None, device: Device) -> tuple[Any, ...]:
    return (
        sql.ORDER_DEVICE,
        order_id,
        device.id,
        None,
        packed_kit_id,
        *_item(device.item),
        *_values(device, sql.DEVICE_COLUMNS),
        *_values(device.current_patient, sql.DEVICE_PATIENT_COLUMNS),
        *_values(device.site, sql.SUMMARY_COLUMNS),
    )


def _kit(kit: Kit) -> tuple[Any, ...]:
    # label, value, moment, ref, ref2 (set by the caller), flag, flag2.
    return (kit.name, None, None, kit.id)


def _parts(order: Order) -> list[tuple[Any, ...]]:
    o = order.id
    rows = [
        *(_part(sql.EVENT, o, e.id, e.name, None, e.event_timestamp) for e in order.order_events),
        *(_part(sql.NOTE, o, n.id, n.note, None, n.created_at) for n in order.order_notes),
        *(_part(sql.TRACKING, o, t.id, t.carrier, t.value) for t in order.tracking_numbers),
        *(
            _part(sql.ORDERED_KIT, o, k.position, *_kit(k.kit), k.count, *_flags(k.kit))
            for k in order.order_kits
        ),
        *(
            _part(sql.PACKED_KIT, o, p.position, *_kit(p.kit), p.id, *_flags(p.kit))
            for p in order.packed_kits
        ),
    ]
    for od in order.order_devices:
        d = od.device
        rows += [_part(sql.DEVICE_IDENTIFIER, d.id, i.id, i.type, i.value) for i in d.identifiers]
        rows += [
            _part(
                sql.DEVICE_EVENT,
                d.id,
                e.id,
                e.type,
                None,
                e.event_timestamp,
                e.order_id,
                e.return_id,
            )
            for e in d.events
        ]
    leg = order.returns[0] if order.returns else None
    if leg is not None:
        rows.append(_part(sql.RETURN_LEG, o, leg.id))
        rows += [
            _part(
                sql.RETURN_DEVICE,
                o,
                leg.id,
                *(None,) * 3,
                d.device_id,
                d.packed_kit_id,
                position=d.position,
            )
            for d in leg.devices
        ]
        rows += [
            _part(
                sql.RETURN_PACKED_KIT, o, leg.id, *(None,) * 3, k.packed_kit_id, position=k.position
            )
            for k in leg.packed_kits
        ]
    return rows


def _flags(kit: Kit) -> tuple[bool, bool]:
    return kit.archived, kit.loaner
