"""Site request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from kitdesk.domain.common import (
    Address,
    AddressIn,
    AddressPatch,
    CamelModel,
    Id,
    InputModel,
    Name,
    Phone,
    StrictBool,
    not_null,
)


class SiteRef(InputModel):
    """A reference to an existing site: only ``id`` is used, other Site fields are ignored."""

    id: Id = Field(description="Id of an existing site of the caller's account.")
    name: Any = None
    active: Any = None
    phone_number: Any = None
    address: Any = None


class SiteSummary(CamelModel):
    """A site as embedded in a patient."""

    id: int
    name: str
    active: bool


class SiteRead(CamelModel):
    """A customer site."""

    id: int
    name: str
    active: bool
    phone_number: str | None = None
    address: Address | None = None
    created_at: datetime
    updated_at: datetime


class SiteCreate(InputModel):
    """A new site. ``name`` is required; an address, when given, must be complete."""

    id: Id | None = Field(default=None, description="Ignored: Kitdesk assigns ids.")
    name: Name
    active: StrictBool = True
    phone_number: Phone | None = None
    address: AddressIn | None = None


class SiteUpdate(SiteCreate):
    """A full replacement of a site (PUT): absent optional fields are cleared."""


class SitePatch(InputModel):
    """Fields of a site to change (PATCH); absent fields stay as they are."""

    id: Id | None = Field(default=None, description="Optional; must match the id in the path.")
    name: Name | None = not_null()
    active: StrictBool | None = not_null()
    phone_number: Phone | None = None
    address: AddressPatch | None = None
