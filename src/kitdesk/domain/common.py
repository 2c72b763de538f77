"""Schema building blocks shared by every resource: camelCase models, ids, text, paging."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt
from pydantic.alias_generators import to_camel

MAX_ID = 2**63 - 1
MAX_PAGE_SIZE = 250
DEFAULT_PAGE_SIZE = 15
MAX_PAGE = 10_000_000


def _no_control_chars(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
Count = Annotated[StrictInt, Field(ge=1, le=100_000)]


_Clean = AfterValidator(_no_control_chars)
# Bounded strings without NUL characters, named by their limits.
Name = Annotated[str, Field(min_length=1, max_length=200, strict=True), _Clean]
ShortText = Annotated[str, Field(max_length=200, strict=True), _Clean]
Text100 = Annotated[str, Field(min_length=1, max_length=100, strict=True), _Clean]
Text32 = Annotated[str, Field(min_length=1, max_length=32, strict=True), _Clean]
Phone = Annotated[str, Field(max_length=64, strict=True), _Clean]
Note = Annotated[str, Field(max_length=500, strict=True), _Clean]
LongText = Annotated[str, Field(min_length=1, max_length=5000, strict=True), _Clean]
Email = Annotated[str, Field(max_length=320, strict=True), _Clean]


class CamelModel(BaseModel):
    """Response models: camelCase on the wire, built from plain attributes."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class InputModel(BaseModel):
    """Request models: camelCase on the wire and unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


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


def write_address(row: Any, address: dict[str, Any] | None, *, merge: bool = False) -> None:
    """Store an address (snake_case keys) in a row's ``address_*`` columns."""
    for f in ADDRESS_FIELDS:
        if merge and (address is None or f not in address):
            continue
        setattr(row, f"address_{f}", None if address is None else address.get(f))


__all__ = [
    "Address",
    "AddressIn",
    "AddressPatch",
    "CamelModel",
    "Count",
    "Id",
    "InputModel",
    "Page",
    "PageRequest",
    "StrictBool",
    "date",
    "datetime",
    "make_page",
    "to_camel",
]
