"""Base models for request bodies, queries and responses."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

T = TypeVar("T")
NO_NUL = r"^[^\x00]*$"


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Strict(BaseModel):
    """Base of every request body: unknown fields, wrong JSON types and NUL characters are errors.

    PostgreSQL cannot store U+0000 in text, so a NUL anywhere is a validation
    error here instead of a driver error (a 500) later.
    """

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    # An *after* validator: a *before* one would make strict JSON parsing see Python
    # strings and refuse ISO dates.
    @model_validator(mode="after")
    def _no_nul(self) -> Strict:
        if _has_nul(self.model_dump()):
            raise ValueError("text must not contain NUL characters")
        return self


class QueryModel(BaseModel):
    """Base of query-string models: values arrive as strings; unknown parameters are errors."""

    model_config = ConfigDict(extra="forbid")


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
