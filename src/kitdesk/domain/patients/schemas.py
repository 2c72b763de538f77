"""Patient request and response models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import EmailStr, Field

from kitdesk.domain.common import (
    Address,
    AddressIn,
    AddressPatch,
    CamelModel,
    Day,
    Id,
    InputModel,
    Name,
    Phone,
    StrictBool,
    not_null,
)
from kitdesk.domain.sites.schemas import SiteRef, SiteSummary

Sex = Literal["other", "female", "male", "unknown"]
PatientSort = Literal["firstName", "lastName", "patientId"]


class PatientRead(CamelModel):
    """A patient profile."""

    id: int
    external_identifier: str | None = None
    first_name: str
    last_name: str
    date_of_birth: date | None = None
    email: str | None = None
    phone_number: str | None = None
    archived: bool
    enrolled: bool
    sex: Sex | None = None
    address: Address | None = None
    site: SiteSummary | None = None
    created_at: datetime
    updated_at: datetime


class PatientCreate(InputModel):
    """A new patient: first and last name and a complete shipping address are required."""

    id: Id | None = Field(default=None, description="Ignored on create; must match on PUT.")
    first_name: Name
    last_name: Name
    address: AddressIn = Field(description="The patient's shipping address.")
    external_identifier: Name | None = Field(
        default=None, description="The customer's own id for the patient; unique per account."
    )
    date_of_birth: Day | None = Field(default=None, description="YYYY-MM-DD")
    email: EmailStr | None = None
    phone_number: Phone | None = None
    archived: StrictBool = False
    enrolled: StrictBool = True
    sex: Sex | None = None
    site: SiteRef | None = Field(default=None, description="The site responsible for the patient.")


class PatientUpdate(PatientCreate):
    """A full replacement of a patient (PUT): absent optional fields are cleared."""


class PatientPatch(InputModel):
    """Fields of a patient to change (PATCH): absent fields stay, ``null`` clears optional ones."""

    id: Id | None = Field(default=None, description="Optional; must match the id in the path.")
    first_name: Name | None = not_null()
    last_name: Name | None = not_null()
    address: AddressPatch | None = not_null()
    external_identifier: Name | None = None
    date_of_birth: Day | None = None
    email: EmailStr | None = None
    phone_number: Phone | None = None
    archived: StrictBool | None = not_null()
    enrolled: StrictBool | None = not_null()
    sex: Sex | None = None
    site: SiteRef | None = None


class PatientEmailLookup(InputModel):
    """Body of the fetch-by-email request."""

    email: EmailStr


class PatientRef(InputModel):
    """A reference to an existing patient: only ``id`` is used, other Patient fields are ignored."""

    id: Id = Field(description="Id of an existing patient of the caller's account.")
    external_identifier: Any = None
    first_name: Any = None
    last_name: Any = None
    date_of_birth: Any = None
    email: Any = None
    phone_number: Any = None
    archived: Any = None
    enrolled: Any = None
    sex: Any = None
    address: Any = None
    site: Any = None
