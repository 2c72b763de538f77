"""The return lifecycle table: every status and the moves it allows."""

from __future__ import annotations

from kitdesk.domain.returns.states import ReturnStatus, allowed_moves, can_move

R = ReturnStatus


def test_each_status_allows_exactly_the_documented_moves() -> None:
    assert {s.value: [m.value for m in allowed_moves(s)] for s in R} == {
        "requested": ["labelSent", "inTransit", "cancelled"],
        "labelSent": ["inTransit", "cancelled"],
        "inTransit": ["received"],
        "received": ["completed"],
        "completed": [],
        "cancelled": [],
    }


def test_a_return_cannot_be_cancelled_once_it_ships_or_go_backwards() -> None:
    assert not can_move(R.IN_TRANSIT, R.CANCELLED)
    assert not can_move(R.RECEIVED, R.IN_TRANSIT)
    assert not can_move(R.LABEL_SENT, R.REQUESTED)
    assert can_move(R.REQUESTED, R.IN_TRANSIT)
