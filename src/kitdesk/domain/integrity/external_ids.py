"""Unique external order ids, for the accounts that ask for them.

``externalOrderIds`` may repeat by default (the Order Management Guide's own examples reuse
them). An account with ``unique_external_order_ids`` on gets one ``external_order_id_claims``
row per id it uses; the table's primary key (account_id, value) refuses a second order with the
same id inside the database, so two server processes placing such orders at once cannot both
win.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db import driver
from kitdesk.db.models import Account, ExternalOrderIdClaim, OrderExternalId
from kitdesk.domain.accounts import service as accounts
from kitdesk.domain.integrity.sql import upsert_insert
from kitdesk.errors import Conflict, FieldError

DUPLICATE = "duplicate_external_order_id"


def duplicate_message(value: str, order_id: int) -> str:
    """The 409 message: names the order that already carries the id."""
    return f"externalOrderId {value} is already used by order {order_id}"


_UNIQUE_IDS = select(Account.unique_external_order_ids).where(Account.id == bindparam("account_id"))


async def claim_for_order(
    session: AsyncSession,
    *,
    account_id: int,
    order_id: int,
    values: list[str],
    unique: bool | None = None,
) -> None:
    """Claim a new order's external ids when its account keeps them unique; 409 on reuse.

    Runs after the order's ``order_external_ids`` rows are written (see ``set_unique``).
    ``unique`` is the account's flag when the caller read it in the same transaction (else it is
    read here).
    """
    wanted = sorted(set(values))  # one order, one claim per id; a fixed order avoids deadlocks
    if not wanted:
        return
    if unique is None:
        flag = await driver.fetch(session, _UNIQUE_IDS, {"account_id": account_id})
        unique = bool(flag and flag[0][0])
    if not unique:
        return
    table = ExternalOrderIdClaim.__table__
    statement = (
        upsert_insert(session, table)
        .values([{"account_id": account_id, "value": v, "order_id": order_id} for v in wanted])
        .on_conflict_do_nothing(index_elements=["account_id", "value"])
        .returning(table.c.value)
    )
    claimed = set((await session.execute(statement)).scalars())
    taken = [v for v in wanted if v not in claimed]
    if taken:
        await _refuse(session, account_id=account_id, values=values, taken=taken)


async def _refuse(
    session: AsyncSession, *, account_id: int, values: list[str], taken: list[str]
) -> None:
    rows = await session.execute(
        select(ExternalOrderIdClaim.value, ExternalOrderIdClaim.order_id).where(
            ExternalOrderIdClaim.account_id == account_id, ExternalOrderIdClaim.value.in_(taken)
        )
    )
    owners = {value: order_id for value, order_id in rows}
    errors = [
        FieldError(f"externalOrderIds[{n}]", duplicate_message(value, owners[value]))
        for n, value in enumerate(values)
        if value in owners
    ]
    if errors:
        raise Conflict(code=DUPLICATE, message=errors[0].message, errors=errors)


async def set_unique(session: AsyncSession, *, account_id: int, unique: bool) -> Account:
    """Turn unique external order ids on or off for an account (operator action).

    Turning it on claims the ids of the account's existing orders (the oldest order keeps an id
    that already repeats); turning it off drops the claims.
    """
    if session.get_bind().dialect.name == "postgresql":
        # Waits for orders being placed right now and holds new ones back until this commits:
        # each such order either is seen by the claiming below or sees the setting on.
        await session.execute(text("LOCK TABLE order_external_ids IN SHARE ROW EXCLUSIVE MODE"))
    account = await accounts.set_unique_external_order_ids(
        session, account_id=account_id, unique=unique
    )
    if not unique:
        await session.execute(
            delete(ExternalOrderIdClaim).where(ExternalOrderIdClaim.account_id == account_id)
        )
        return account
    existing = (
        select(
            OrderExternalId.account_id, OrderExternalId.value, func.min(OrderExternalId.order_id)
        )
        .where(OrderExternalId.account_id == account_id)
        .group_by(OrderExternalId.account_id, OrderExternalId.value)
    )
    await session.execute(
        upsert_insert(session, ExternalOrderIdClaim.__table__)
        .from_select(["account_id", "value", "order_id"], existing)
        .on_conflict_do_nothing(index_elements=["account_id", "value"])
    )
    return account
