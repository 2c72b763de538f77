"""Return (RMA) statuses and the moves between them, as data.

This module is the only place return status names are spelled. It has no database and no web
framework.
"""

from __future__ import annotations

from enum import StrEnum


class ReturnStatus(StrEnum):
    """A return's ``currentStatus`` (also the ``name`` of the event that entered it)."""

    REQUESTED = "requested"
    LABEL_SENT = "labelSent"
    IN_TRANSIT = "inTransit"
    RECEIVED = "received"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


R = ReturnStatus

INITIAL = R.REQUESTED

MOVES: dict[ReturnStatus, tuple[ReturnStatus, ...]] = {
    R.REQUESTED: (R.LABEL_SENT, R.IN_TRANSIT, R.CANCELLED),
    R.LABEL_SENT: (R.IN_TRANSIT, R.CANCELLED),
    R.IN_TRANSIT: (R.RECEIVED,),
    R.RECEIVED: (R.COMPLETED,),
    R.COMPLETED: (),
    R.CANCELLED: (),
}

# Statuses in which the return still expects its devices: they may not go on another return.
OPEN = frozenset({R.REQUESTED, R.LABEL_SENT, R.IN_TRANSIT})


def allowed_moves(status: ReturnStatus) -> list[ReturnStatus]:
    """The statuses a return in ``status`` may move to next, in table order."""
    return list(MOVES[status])


def can_move(status: ReturnStatus, target: ReturnStatus) -> bool:
    """True when ``target`` is an allowed next status."""
    return target in MOVES[status]
