"""Account settings as the operator API shows and changes them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, StrictBool

from kitdesk.domain.common import CamelModel, InputModel


class AccountRead(CamelModel):
    """A customer or operator account and its settings."""

    id: int
    name: str
    kind: str = Field(description="customer or operator.")
    active: bool
    unique_external_order_ids: bool = Field(
        description="When true, no two of the account's orders may share an externalOrderId."
    )
    created_at: datetime


class AccountPatch(InputModel):
    """Settings to change; omitted fields stay as they are."""

    unique_external_order_ids: StrictBool | None = Field(
        default=None,
        description="Refuse (409 duplicate_external_order_id) a new order that reuses an "
        "externalOrderId of another order of this account.",
    )
