"""Schema building blocks shared by every resource: camelCase models, ids, text, paging."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
)
from pydantic.alias_generators import to_camel

from kitdesk.errors import FieldError, Invalid

MAX_ID = 2**63 - 1
MAX_PAGE_SIZE = 250
DEFAULT_PAGE_SIZE = 15
MAX_PAGE = 10_000_000


MSG_NUL = "must not contain NUL characters"
MSG_SURROGATE = "must not contain unpaired surrogate characters"
_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_control_chars(value: str) -> str:
    if "\x00" in value:
        raise ValueError(MSG_NUL)
    return value


def _hostile_text(value: Any) -> str | None:
    """Why a value holds text no database column can store (NUL, unpaired surrogates), if so."""
    if isinstance(value, str):
        if "\x00" in value:
            return MSG_NUL
        return MSG_SURROGATE if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        items: Any = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        items = value
    else:
        return None
    return next((why for why in map(_hostile_text, items) if why is not None), None)


def _integral(value: Any) -> Any:
    # JSON has one number type: 5.0 is the integer 5 (as JSON Schema says), 5.5 stays invalid.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: Any) -> Any:
    # Pydantic would also take numbers (as Unix timestamps) and midnight datetimes; a calendar
    # date is only ever "YYYY-MM-DD" on the wire.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


_ISO_MOMENT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)?"
    r"([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?"
)


def _iso_moment(value: Any) -> Any:
    # Pydantic would also take numbers ("0.5") as Unix timestamps: on the wire a moment is an
    # ISO-8601 date and time only.
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_MOMENT.fullmatch(value)):
        return value
    raise ValueError("must be an ISO-8601 date and time, e.g. 2026-01-31T09:30:00Z")


Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID), BeforeValidator(_integral)]
Count = Annotated[StrictInt, Field(ge=1, le=100_000), BeforeValidator(_integral)]


_Clean = AfterValidator(_no_control_chars)
_Filled = AfterValidator(_not_blank)
# Bounded strings without NUL characters, named by their limits. Those with a minimum length are
# required values, so whitespace alone does not count either.
Name = Annotated[str, Field(min_length=1, max_length=200, strict=True), _Clean, _Filled]
ShortText = Annotated[str, Field(max_length=200, strict=True), _Clean]
Text100 = Annotated[str, Field(min_length=1, max_length=100, strict=True), _Clean, _Filled]
Text32 = Annotated[str, Field(min_length=1, max_length=32, strict=True), _Clean, _Filled]
Phone = Annotated[str, Field(max_length=64, strict=True), _Clean]
Note = Annotated[str, Field(max_length=500, strict=True), _Clean]
LongText = Annotated[str, Field(min_length=1, max_length=5000, strict=True), _Clean, _Filled]
Email = Annotated[str, Field(max_length=320, strict=True), _Clean]
# A calendar date, accepted only as "YYYY-MM-DD".
Day = Annotated[date, BeforeValidator(_iso_day)]
# A moment, accepted only as an ISO-8601 date and time (with or without an offset).
Timestamp = Annotated[datetime, BeforeValidator(_iso_moment)]


class CamelModel(BaseModel):
    """Response models: camelCase on the wire, built from plain attributes."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


def _absent_not_null(schema: dict[str, Any]) -> None:
    options = [o for o in schema.pop("anyOf", []) if o.get("type") != "null"]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options
    schema.pop("default", None)


def not_null() -> Any:
    """A PATCH field that may be left out but not sent as null: the document offers no null
    (the service refuses it, naming the field)."""
    return Field(default=None, json_schema_extra=_absent_not_null)


class InputModel(BaseModel):
    """Request models: camelCase on the wire and unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        # Every field, whatever its type (even ignored ones): a NUL or lone surrogate in any
        # string is refused here, so none can reach a database that cannot store it.
        why = _hostile_text(value)
        if why is not None:
            raise ValueError(why)
        return value


T = TypeVar("T")


class Page(CamelModel, Generic[T]):
    """The page envelope of every list."""

    content: list[T]
    page: int = Field(description="Current page number; the first page is 1.")
    size: int = Field(description="Page size (default 15, maximum 250).")
    total: int = Field(description="Number of objects matching the request, across all pages.")
    first: bool
    last: bool


@dataclass(frozen=True)
class PageRequest:
    """Which slice of a list the caller asked for."""

    page: int = 1
    size: int = DEFAULT_PAGE_SIZE
    sort_descending: bool = False

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def make_page(items: list[T], *, request: PageRequest, total: int) -> Page[T]:
    """Wrap one page of results in the envelope."""
    return Page[T](
        content=items,
        page=request.page,
        size=request.size,
        total=total,
        first=request.page == 1,
        last=request.page * request.size >= total,
    )


class Address(CamelModel):
    """A postal address as returned."""

    line_one: str | None = None
    line_two: str | None = None
    line_three: str | None = None
    city: str | None = None
    state: str | None = None
    zip_code: str | None = None
    country: str | None = None
    note: str | None = None


class AddressIn(InputModel):
    """A full address: line one, city, state, zip code and country are required."""

    line_one: Name
    line_two: ShortText | None = None
    line_three: ShortText | None = None
    city: Text100
    state: Text100
    zip_code: Text32
    country: Text100
    note: Note | None = None


class AddressPatch(InputModel):
    """Address fields to change; absent fields stay as they are."""

    line_one: Name | None = None
    line_two: ShortText | None = None
    line_three: ShortText | None = None
    city: Text100 | None = None
    state: Text100 | None = None
    zip_code: Text32 | None = None
    country: Text100 | None = None
    note: Note | None = None


ADDRESS_FIELDS = (
    "line_one",
    "line_two",
    "line_three",
    "city",
    "state",
    "zip_code",
    "country",
    "note",
)


def read_address(row: Any) -> Address | None:
    """The address stored in a row's ``address_*`` columns, or None when it has none."""
    values = {f: getattr(row, f"address_{f}") for f in ADDRESS_FIELDS}
    if all(v is None for v in values.values()):
        return None
    return Address(**values)


REQUIRED_ADDRESS_FIELDS = ("line_one", "city", "state", "zip_code", "country")


def write_address(row: Any, address: dict[str, Any] | None) -> None:
    """Store an address (snake_case keys) in a row's ``address_*`` columns."""
    for f in ADDRESS_FIELDS:
        setattr(row, f"address_{f}", None if address is None else address.get(f))


def merged_address(row: Any, changes: dict[str, Any] | None) -> dict[str, Any] | None:
    """A row's address with a PATCH applied: present fields replace, absent ones stay."""
    if changes is None:
        return None
    current = {f: getattr(row, f"address_{f}") for f in ADDRESS_FIELDS}
    return current | changes


def address_patch_errors(
    row: Any, changes: dict[str, Any] | None, *, required: bool
) -> list[FieldError]:
    """Why an address PATCH cannot apply: the result must be complete, or (if optional) absent."""
    if changes is None:
        return [FieldError("address", "cannot be null")] if required else []
    merged = merged_address(row, changes) or {}
    if not required and all(v is None for v in merged.values()):
        return []
    errors = []
    for f in REQUIRED_ADDRESS_FIELDS:
        if f in changes and changes[f] is None:
            errors.append(FieldError(f"address.{to_camel(f)}", "cannot be null"))
        elif merged[f] is None:
            errors.append(FieldError(f"address.{to_camel(f)}", "is required"))
    return errors


def check_body_id(body_id: int | None, path_id: int) -> None:
    """An ``id`` in a PUT or PATCH body may be left out, but must otherwise match the path."""
    if body_id is not None and body_id != path_id:
        raise Invalid(
            code="id_mismatch",
            message="id in the body does not match the id in the path",
            errors=[FieldError("id", "does not match the id in the path")],
        )


def invalid_input(errors: list[FieldError]) -> Invalid:
    """The 400 for bad fields found by a service, worded like a request validation error."""
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
    return Invalid(code="invalid_request", message=f"invalid request: {summary}", errors=errors)


__all__ = [
    "Address",
    "AddressIn",
    "AddressPatch",
    "CamelModel",
    "Count",
    "Day",
    "Id",
    "InputModel",
    "Page",
    "PageRequest",
    "StrictBool",
    "Timestamp",
    "date",
    "datetime",
    "make_page",
    "to_camel",
]
