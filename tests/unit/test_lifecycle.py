"""The order lifecycle rule, on its own: no database, no web framework."""

from __future__ import annotations

from itertools import product

import pytest

from kitdesk.domain.orders import lifecycle
from kitdesk.domain.orders.lifecycle import OrderFacts, Status, allowed_moves, can_move

S = Status
HOLDABLE = [
    s for s in Status if s not in {S.COMPLETED, S.CANCELLED, S.RETURNED_TO_SENDER, S.ON_HOLD}
]
TERMINAL = [S.COMPLETED, S.CANCELLED, S.RETURNED_TO_SENDER]

# The moves of an ordinary order: ships out by carrier, nothing comes back.
PLAIN = {
    S.RECEIVED: [S.PROCESSING, S.CANCELLED, S.ON_HOLD],
    S.PROCESSING: [S.PACKED, S.CANCELLED, S.ON_HOLD],
    S.PACKED: [S.SHIPPED, S.CANCELLED, S.ON_HOLD],
    S.SHIPPED: [S.DELIVERED, S.DELIVERY_EXCEPTION, S.ON_HOLD],
    S.DELIVERY_EXCEPTION: [S.SHIPPED, S.RETURNED_TO_SENDER, S.ON_HOLD],
    S.AVAILABLE_FOR_PICKUP: [S.DELIVERED, S.ON_HOLD],
    S.DELIVERED: [S.COMPLETED, S.ON_HOLD],
    S.AWAITING_RETURN: [S.RETURN_RECEIVED, S.ON_HOLD],
    S.RETURN_RECEIVED: [S.COMPLETED, S.ON_HOLD],
    S.COMPLETED: [],
    S.CANCELLED: [],
    S.RETURNED_TO_SENDER: [],
}

# Every arrow of the design's lifecycle diagram, with the facts under which it applies.
ARROWS = [
    (S.RECEIVED, S.PROCESSING, OrderFacts(S.RECEIVED)),
    (S.RECEIVED, S.CANCELLED, OrderFacts(S.RECEIVED)),
    (S.PROCESSING, S.PACKED, OrderFacts(S.PROCESSING)),
    (S.PROCESSING, S.CANCELLED, OrderFacts(S.PROCESSING)),
    (S.PACKED, S.SHIPPED, OrderFacts(S.PACKED)),
    (S.PACKED, S.CANCELLED, OrderFacts(S.PACKED)),
    (S.PACKED, S.AVAILABLE_FOR_PICKUP, OrderFacts(S.PACKED, pickup=True)),
    (S.SHIPPED, S.DELIVERED, OrderFacts(S.SHIPPED)),
    (S.SHIPPED, S.DELIVERY_EXCEPTION, OrderFacts(S.SHIPPED)),
    (S.DELIVERY_EXCEPTION, S.SHIPPED, OrderFacts(S.DELIVERY_EXCEPTION)),
    (S.DELIVERY_EXCEPTION, S.RETURNED_TO_SENDER, OrderFacts(S.DELIVERY_EXCEPTION)),
    (S.AVAILABLE_FOR_PICKUP, S.DELIVERED, OrderFacts(S.AVAILABLE_FOR_PICKUP, pickup=True)),
    (S.DELIVERED, S.COMPLETED, OrderFacts(S.DELIVERED)),
    (S.DELIVERED, S.AWAITING_RETURN, OrderFacts(S.DELIVERED, two_way=True)),
    (S.AWAITING_RETURN, S.RETURN_RECEIVED, OrderFacts(S.AWAITING_RETURN, two_way=True)),
    (S.RETURN_RECEIVED, S.COMPLETED, OrderFacts(S.RETURN_RECEIVED, two_way=True)),
]


def test_status_names_are_the_camel_case_vocabulary() -> None:
    assert [s.value for s in Status] == [
        "received",
        "processing",
        "packed",
        "shipped",
        "availableForPickup",
        "delivered",
        "deliveryException",
        "returnedToSender",
        "awaitingReturn",
        "returnReceived",
        "completed",
        "cancelled",
        "onHold",
    ]


def test_a_new_order_starts_received() -> None:
    assert lifecycle.INITIAL is S.RECEIVED


@pytest.mark.parametrize(("source", "target", "facts"), ARROWS)
def test_every_arrow_of_the_lifecycle_is_an_allowed_move(
    source: Status, target: Status, facts: OrderFacts
) -> None:
    assert facts.status is source
    assert can_move(facts, target)


@pytest.mark.parametrize("status", list(PLAIN))
def test_an_ordinary_order_may_move_exactly_as_the_table_says(status: Status) -> None:
    assert allowed_moves(OrderFacts(status)) == PLAIN[status]


@pytest.mark.parametrize(("status", "target"), list(product(PLAIN, Status)))
def test_any_move_outside_the_table_is_illegal(status: Status, target: Status) -> None:
    assert can_move(OrderFacts(status), target) is (target in PLAIN[status])


@pytest.mark.parametrize(
    ("status", "target"),
    [
        (S.RECEIVED, S.SHIPPED),
        (S.RECEIVED, S.RECEIVED),
        (S.PROCESSING, S.RECEIVED),
        (S.PACKED, S.DELIVERED),
        (S.SHIPPED, S.CANCELLED),
        (S.SHIPPED, S.PACKED),
        (S.DELIVERED, S.CANCELLED),
        (S.AVAILABLE_FOR_PICKUP, S.SHIPPED),
        (S.AWAITING_RETURN, S.COMPLETED),
        (S.DELIVERY_EXCEPTION, S.DELIVERED),
    ],
)
def test_skipping_ahead_going_back_or_late_cancelling_is_illegal(
    status: Status, target: Status
) -> None:
    for facts in _every_variant(status):
        assert not can_move(facts, target)


def _every_variant(status: Status) -> list[OrderFacts]:
    return [
        OrderFacts(status, two_way=two_way, pickup=pickup, outbound=outbound)
        for two_way, pickup, outbound in product((False, True), repeat=3)
    ]


@pytest.mark.parametrize("status", HOLDABLE)
def test_every_open_status_may_go_on_hold(status: Status) -> None:
    for facts in _every_variant(status):
        assert can_move(facts, S.ON_HOLD)


@pytest.mark.parametrize("status", HOLDABLE)
def test_a_held_order_returns_only_to_the_status_it_left(status: Status) -> None:
    held = OrderFacts(S.ON_HOLD, held_from=status)
    assert allowed_moves(held) == [status]
    for target in Status:
        assert can_move(held, target) is (target is status)


def test_a_held_order_whatever_its_facts_cannot_be_cancelled_or_held_again() -> None:
    for two_way, pickup in product((False, True), repeat=2):
        held = OrderFacts(S.ON_HOLD, held_from=S.PACKED, two_way=two_way, pickup=pickup)
        assert not can_move(held, S.CANCELLED)
        assert not can_move(held, S.ON_HOLD)
        assert not can_move(held, S.SHIPPED)


def test_a_held_order_that_does_not_know_where_it_came_from_cannot_move() -> None:
    assert allowed_moves(OrderFacts(S.ON_HOLD)) == []


@pytest.mark.parametrize("status", TERMINAL)
def test_terminal_statuses_allow_no_move_at_all(status: Status) -> None:
    for facts in _every_variant(status):
        assert allowed_moves(facts) == []
    assert status in lifecycle.TERMINAL


def test_only_completed_cancelled_and_returned_to_sender_are_terminal() -> None:
    assert frozenset(TERMINAL) == lifecycle.TERMINAL


def test_a_pickup_order_is_made_available_for_pickup_instead_of_shipped() -> None:
    pickup = OrderFacts(S.PACKED, pickup=True)
    assert allowed_moves(pickup) == [S.AVAILABLE_FOR_PICKUP, S.CANCELLED, S.ON_HOLD]
    assert not can_move(pickup, S.SHIPPED)


def test_a_carrier_order_cannot_be_made_available_for_pickup() -> None:
    assert not can_move(OrderFacts(S.PACKED, pickup=False), S.AVAILABLE_FOR_PICKUP)


def test_a_picked_up_order_is_delivered() -> None:
    assert allowed_moves(OrderFacts(S.AVAILABLE_FOR_PICKUP, pickup=True)) == [
        S.DELIVERED,
        S.ON_HOLD,
    ]


def test_a_delivered_two_way_order_awaits_its_return_instead_of_completing() -> None:
    two_way = OrderFacts(S.DELIVERED, two_way=True)
    assert allowed_moves(two_way) == [S.AWAITING_RETURN, S.ON_HOLD]
    assert not can_move(two_way, S.COMPLETED)


def test_a_delivered_one_way_order_completes_and_awaits_no_return() -> None:
    assert not can_move(OrderFacts(S.DELIVERED), S.AWAITING_RETURN)
    assert can_move(OrderFacts(S.DELIVERED), S.COMPLETED)


def test_a_return_only_order_goes_from_received_straight_to_awaiting_return() -> None:
    return_only = OrderFacts(S.RECEIVED, two_way=True, outbound=False)
    assert allowed_moves(return_only) == [S.AWAITING_RETURN, S.CANCELLED, S.ON_HOLD]
    assert not can_move(return_only, S.PROCESSING)


def test_an_order_that_ships_out_does_not_skip_to_awaiting_return() -> None:
    assert not can_move(OrderFacts(S.RECEIVED, two_way=True), S.AWAITING_RETURN)


def test_cancellation_is_possible_only_before_shipping() -> None:
    cancellable = [s for s in PLAIN if can_move(OrderFacts(s), S.CANCELLED)]
    assert cancellable == [S.RECEIVED, S.PROCESSING, S.PACKED]
    assert frozenset({S.RECEIVED, S.PROCESSING}) == lifecycle.CUSTOMER_CANCELLABLE
    assert frozenset(cancellable) == lifecycle.OPERATOR_CANCELLABLE


def test_the_served_table_lists_every_status_once_with_its_next_statuses() -> None:
    rows = {row["status"]: row for row in lifecycle.table()}
    assert list(rows) == [s.value for s in Status]
    assert rows["received"]["next"] == ["processing", "awaitingReturn", "cancelled", "onHold"]
    assert rows["packed"]["next"] == ["shipped", "availableForPickup", "cancelled", "onHold"]
    assert rows["delivered"]["next"] == ["completed", "awaitingReturn", "onHold"]
    assert rows["onHold"]["next"] == [s.value for s in HOLDABLE]
    assert rows["onHold"]["onlyBackToHeldStatus"] is True
    assert rows["packed"]["conditions"] == {
        "shipped": "shippingOption other than pickup",
        "availableForPickup": "shippingOption pickup",
    }
    for status in TERMINAL:
        assert rows[status.value] == {
            "status": status.value,
            "terminal": True,
            "next": [],
            "onlyBackToHeldStatus": False,
            "conditions": {},
            "customerCancellable": False,
        }
    assert [s for s, row in rows.items() if row["customerCancellable"]] == [
        "received",
        "processing",
    ]


def test_the_literal_types_name_real_statuses() -> None:
    from typing import get_args

    from kitdesk.domain.devices.states import DeviceStatus, InspectionResult
    from kitdesk.domain.orders.lifecycle import INITIAL, InitialStatus

    assert get_args(InitialStatus) == (INITIAL.value,)
    assert set(get_args(InspectionResult)) == {DeviceStatus.IN_STOCK, DeviceStatus.RETIRED}
