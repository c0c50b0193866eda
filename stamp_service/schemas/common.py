"""Base models for request bodies, queries and responses."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Strict(BaseModel):
    """Base of every request body: unknown fields and wrong JSON types are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


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
