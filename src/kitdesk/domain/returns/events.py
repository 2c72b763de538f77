"""The webhook event of a return: ``return.statusFull`` (the whole return)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from kitdesk.db.models import Return
from kitdesk.domain.returns.queries import return_loader, to_read, tracking_numbers
from kitdesk.domain.webhooks.publish import publish


async def return_status_changed(session: AsyncSession, ret: Return) -> None:
    """Queue ``return.statusFull`` for a return's latest status."""

    async def full() -> dict[str, Any]:
        await session.flush()
        loaded = await session.scalar(
            select(Return)
            .options(*return_loader())
            .where(Return.id == ret.id)
            .execution_options(populate_existing=True)
        )
        assert loaded is not None
        tracking = await tracking_numbers(session, [ret.id])
        return to_read(loaded, tracking[ret.id]).model_dump(mode="json", by_alias=True)

    await publish(
        session,
        account_id=ret.account_id,
        resource_key=f"return:{ret.id}",
        payloads={"return.statusFull": full},
    )
