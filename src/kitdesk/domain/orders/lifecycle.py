"""The order lifecycle as data: every status, every allowed move, and the rule that checks one.

This module is the only place order status names are spelled. It has no database and no web
framework, so the rules are unit-tested on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Status(StrEnum):
    """An order's ``currentStatus`` (also the ``name`` of the event that entered it)."""

    RECEIVED = "received"
    PROCESSING = "processing"
    PACKED = "packed"
    SHIPPED = "shipped"
    AVAILABLE_FOR_PICKUP = "availableForPickup"
    DELIVERED = "delivered"
    DELIVERY_EXCEPTION = "deliveryException"
    RETURNED_TO_SENDER = "returnedToSender"
    AWAITING_RETURN = "awaitingReturn"
    RETURN_RECEIVED = "returnReceived"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ON_HOLD = "onHold"


S = Status

INITIAL = S.RECEIVED
# The only status a client may send on create (as a literal type, for validation and OpenAPI).
InitialStatus = Literal["received"]

# Forward moves. onHold is handled apart: any status not in NO_HOLD may go on hold, and a held
# order may only go back to the status it left.
MOVES: dict[Status, tuple[Status, ...]] = {
    S.RECEIVED: (S.PROCESSING, S.AWAITING_RETURN, S.CANCELLED),
    S.PROCESSING: (S.PACKED, S.CANCELLED),
    S.PACKED: (S.SHIPPED, S.AVAILABLE_FOR_PICKUP, S.CANCELLED),
    S.SHIPPED: (S.DELIVERED, S.DELIVERY_EXCEPTION),
    S.DELIVERY_EXCEPTION: (S.SHIPPED, S.RETURNED_TO_SENDER),
    S.AVAILABLE_FOR_PICKUP: (S.DELIVERED,),
    S.DELIVERED: (S.COMPLETED, S.AWAITING_RETURN),
    S.AWAITING_RETURN: (S.RETURN_RECEIVED,),
    S.RETURN_RECEIVED: (S.COMPLETED,),
    S.COMPLETED: (),
    S.CANCELLED: (),
    S.RETURNED_TO_SENDER: (),
    S.ON_HOLD: (),
}

TERMINAL = frozenset({S.COMPLETED, S.CANCELLED, S.RETURNED_TO_SENDER})
NO_HOLD = TERMINAL | {S.ON_HOLD}
# A customer may cancel until the order is packed; the operator until it ships.
CUSTOMER_CANCELLABLE = frozenset({S.RECEIVED, S.PROCESSING})
OPERATOR_CANCELLABLE = frozenset({S.RECEIVED, S.PROCESSING, S.PACKED})
# Statuses in which the order's stock is still reserved at its fulfillment site.
RESERVED = frozenset({S.RECEIVED, S.PROCESSING, S.PACKED, S.ON_HOLD})


@dataclass(frozen=True)
class OrderFacts:
    """What the move rule needs to know about an order besides its status."""

    status: Status
    held_from: Status | None = None
    two_way: bool = False
    pickup: bool = False
    outbound: bool = True  # False for a return-only order: nothing ships out


def allowed_moves(facts: OrderFacts) -> list[Status]:
    """The statuses this order may move to next, in table order."""
    if facts.status is S.ON_HOLD:
        return [facts.held_from] if facts.held_from is not None else []
    moves = [m for m in MOVES[facts.status] if _condition_holds(facts, m)]
    if facts.status not in NO_HOLD:
        moves.append(S.ON_HOLD)
    return moves


def can_move(facts: OrderFacts, target: Status) -> bool:
    """True when ``target`` is an allowed next status."""
    return target in allowed_moves(facts)


def _condition_holds(facts: OrderFacts, target: Status) -> bool:
    if facts.status is S.RECEIVED:
        # A return-only order skips the outbound leg and waits for the goods to come back.
        return (
            facts.outbound
            if target is S.PROCESSING
            else (target is S.CANCELLED or not facts.outbound)
        )
    if facts.status is S.PACKED and target is S.SHIPPED:
        return not facts.pickup
    if facts.status is S.PACKED and target is S.AVAILABLE_FOR_PICKUP:
        return facts.pickup
    if facts.status is S.DELIVERED and target is S.COMPLETED:
        return not facts.two_way
    if facts.status is S.DELIVERED and target is S.AWAITING_RETURN:
        return facts.two_way
    return True


def table() -> list[dict[str, object]]:
    """The lifecycle as served at ``GET /api/v3/order-status``."""
    rows: list[dict[str, object]] = []
    holdable = [s.value for s in Status if s not in NO_HOLD]
    for status in Status:
        nxt = [m.value for m in MOVES[status]]
        if status not in NO_HOLD:
            nxt.append(S.ON_HOLD.value)
        rows.append(
            {
                "status": status.value,
                "terminal": status in TERMINAL,
                # A held order goes back only to the status it left, one of these.
                "next": holdable if status is S.ON_HOLD else nxt,
                "onlyBackToHeldStatus": status is S.ON_HOLD,
                "conditions": {
                    target.value: CONDITIONS[(status, target)]
                    for target in MOVES[status]
                    if (status, target) in CONDITIONS
                },
                "customerCancellable": status in CUSTOMER_CANCELLABLE,
            }
        )
    return rows


# Moves allowed only for some orders, in words (the rule itself is ``_condition_holds``).
CONDITIONS: dict[tuple[Status, Status], str] = {
    (S.RECEIVED, S.PROCESSING): "orders that ship something",
    (S.RECEIVED, S.AWAITING_RETURN): "return-only orders",
    (S.PACKED, S.SHIPPED): "shippingOption other than pickup",
    (S.PACKED, S.AVAILABLE_FOR_PICKUP): "shippingOption pickup",
    (S.DELIVERED, S.COMPLETED): "orders without a return leg",
    (S.DELIVERED, S.AWAITING_RETURN): "two-way orders",
}
