"""Contracts of the public verification API and of consumer reports."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from stamp_service.schemas.common import Out, PageQuery, QueryModel, Strict


class VerifyQuery(QueryModel):
    lang: Literal["vi", "en"] | None = None


class DecisionOut(BaseModel):
    number: str | None = None
    decided_on: date | None = None
    authority: str | None = None
    reason: str | None = None
    kind: str | None = Field(None, description="voids only: lost | spoiled | copied | other")


class FindingOut(BaseModel):
    cause: str
    since: date | None = None
    decision: DecisionOut | None = None


class ScansOut(BaseModel):
    count: int
    first_at: datetime | None = None
    clone_signals: list[str] = Field(default_factory=list, description="scans | places | span")


class StampOut(BaseModel):
    serial: str
    expiry_day: date | None
    stars_at_issue: int | None
    has_pin: bool


class VerifyOut(BaseModel):
    """The verdict first; the facts only for stamps this service issued."""

    verdict: Literal["genuine", "suspicious", "expired", "revoked", "not_genuine"]
    message: str = Field(description="the verdict in plain words, in the requested language")
    lang: Literal["vi", "en"]
    findings: list[FindingOut] = Field(default_factory=list)
    warnings: list[FindingOut] = Field(default_factory=list)
    stamp: StampOut | None = None
    scans: ScansOut | None = None
    facts: dict[str, Any] | None = Field(
        None, description="product, producer, lot (origin timeline), certificate"
    )


class ReportProblem(StrEnum):
    FAKE_STAMP = "fake_stamp"
    FAKE_GOODS = "fake_goods"
    EXPIRED_SOLD = "expired_sold"
    NO_STAMP = "no_stamp"
    RECALLED_SOLD = "recalled_sold"  # recalled goods still on sale (hàng bị thu hồi vẫn bán)
    OTHER = "other"


class ReportQuery(PageQuery):
    state: Literal["open", "closed"] | None = None


class ReportClose(Strict):
    note: str = Field(min_length=1, max_length=2000)


class ReportOut(Out):
    id: int
    serial: str | None
    verdict: str | None
    problem: str
    details: str | None
    shop_name: str | None
    place: str | None
    province_code: str | None
    contact: str | None
    state: str
    created_at: datetime
    closed_at: datetime | None
    closed_by: int | None
    close_note: str | None
