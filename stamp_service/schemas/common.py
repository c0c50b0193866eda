"""Base models for request bodies, queries and responses."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

T = TypeVar("T")
NO_NUL = r"^[^\x00]*$"


# Business dates must fit the stamp format's u16 day number (1970 + 65,535 days = 2149-06-06),
# and extreme years overflow when converted to UTC: reject them as input errors.
EARLIEST = date(1900, 1, 1)
LATEST = date(2148, 12, 31)


class FieldValueError(ValueError):
    """A model-level check that knows which field is wrong (``web.api`` reports that field)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _insane(value: Any, path: str) -> FieldValueError | None:
    """The first value PostgreSQL or the stamp format cannot hold, as an error naming its field."""
    if isinstance(value, str):
        return FieldValueError(path, "text must not contain NUL characters") if "\x00" in value else None
    if isinstance(value, datetime | date):
        day = value.date() if isinstance(value, datetime) else value
        if not EARLIEST <= day <= LATEST:
            return FieldValueError(path, f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}")
        return None
    if isinstance(value, BaseModel):
        value = {k: getattr(value, k) for k in type(value).model_fields}
    if isinstance(value, dict):
        for key, item in value.items():
            found = _insane(key, path) or _insane(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _insane(item, f"{path}.{index}")
            if found:
                return found
    return None


class Strict(BaseModel):
    """Base of every request body: unknown fields, wrong JSON types, NUL characters and
    out-of-range dates are errors.

    PostgreSQL cannot store U+0000 in text, and a year-1 datetime with a +10:00
    offset overflows on conversion to UTC: both are validation errors here
    instead of driver errors (500s) later.
    """

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    # An *after* validator: a *before* one would make strict JSON parsing see Python
    # strings and refuse ISO dates.
    @model_validator(mode="after")
    def _storable(self) -> Strict:
        problem = _insane(self, "")
        if problem:
            raise problem
        return self


class QueryModel(BaseModel):
    """Base of query-string models: values arrive as strings; unknown parameters are errors.

    Out-of-range dates and NUL characters are errors here as in bodies (a ``since`` of
    0001-01-01 overflowed to year 10000 in the query and answered 500).
    """

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _storable(self) -> QueryModel:
        problem = _insane(self, "")
        if problem:
            raise problem
        return self


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


# A day in a query string: only the ISO form the document states (pydantic's lax parsing
# would also read "0" or "1700000000" as Unix timestamps).
QueryDate = Annotated[date, BeforeValidator(_iso_day)]

_ISO_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*")


def _iso_moment(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_MOMENT.fullmatch(value):
        raise ValueError("a time is written YYYY-MM-DDTHH:MM:SS with an offset")
    return value


# A date and time in a query string, in ISO 8601 with its offset only (not a Unix timestamp).
QueryMoment = Annotated[AwareDatetime, BeforeValidator(_iso_moment)]


class Out(BaseModel):
    """Base of response models, filled from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class PageQuery(QueryModel):
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(50, ge=1, le=200)


class Page(BaseModel, Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int
