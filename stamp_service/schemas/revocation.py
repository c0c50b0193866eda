"""Revocation API contracts: withdraw, reduce, re-certify, recall, void, key compromise, reports."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from stamp_service.domain.certification import AuthorityLevel
from stamp_service.schemas.certificates import CertificateOut, CriteriaVersion, validity_after_signing
from stamp_service.schemas.common import Out, PageQuery, QueryDate, QueryModel, Strict
from stamp_service.schemas.lots import LotOut

DECISION_NUMBER = r"^[0-9]{1,6}/[0-9A-Za-zĐđ/-]{2,40}$"
KID = r"^[0-9a-fA-F]{8}$"


class DecisionIn(Strict):
    """The decision behind a state change: number, signing date and authority (all required)."""

    number: str = Field(pattern=DECISION_NUMBER, description='e.g. "3763/QĐ-UBND"')
    decided_on: date
    authority: str = Field(min_length=2, max_length=300, description="e.g. UBND tỉnh Hà Tĩnh")


def _reason() -> Any:
    return Field(min_length=3, max_length=2000, description="Why (kept in the audit log and shown on scans)")


class WithdrawalIn(Strict):
    decision: DecisionIn
    reason: str = _reason()


class ReductionIn(Strict):
    stars: int = Field(ge=1, le=4, description="Fewer stars than now; below 3 revokes every stamp")
    decision: DecisionIn
    reason: str = _reason()
    score: int | None = Field(None, ge=0, le=100, description="Must fall in the stars' band")
    authority_level: AuthorityLevel | None = Field(
        None, description="Defaults to the level that decides these stars on the decision date"
    )


class RecertificationIn(Strict):
    """A new certificate after re-evaluation (3-5 stars, fresh validity); supersedes the current one."""

    stars: int = Field(ge=3, le=5)
    score: int | None = Field(None, ge=0, le=100)
    criteria_version: CriteriaVersion
    authority_name: str = Field(min_length=2, max_length=300)
    authority_level: AuthorityLevel
    decision_number: str = Field(pattern=DECISION_NUMBER)
    signed_on: date
    valid_until: date | None = Field(None, description="Defaults to signed_on + 36 months")

    @model_validator(mode="after")
    def _validity_after_signing(self) -> RecertificationIn:
        validity_after_signing(self.signed_on, self.valid_until)
        return self


class RecallIn(Strict):
    """Recall or lift: a reason, and the decision when there is one (a recall may precede it)."""

    reason: str = _reason()
    decision: DecisionIn | None = None


class ReasonCode(StrEnum):
    LOST = "lost"
    SPOILED = "spoiled"
    COPIED = "copied"
    OTHER = "other"


class VoidIn(Strict):
    """Either one stamp by its printed ``serial``, or slots ``seq_from..seq_to`` of one request."""

    serial: str | None = Field(None, max_length=40, description="Printed serial, e.g. 028T-5CY4-TQKF-FX")
    request_id: int | None = Field(None, ge=1)
    seq_from: int | None = Field(None, ge=1)
    seq_to: int | None = Field(None, ge=1)
    reason_code: ReasonCode
    reason: str = _reason()
    decision: DecisionIn | None = None

    @model_validator(mode="after")
    def _one_target(self) -> VoidIn:
        by_range = self.request_id is not None or self.seq_from is not None or self.seq_to is not None
        if (self.serial is None) == (not by_range):
            raise ValueError("give either serial, or request_id with seq_from (and seq_to)")
        if by_range:
            if self.request_id is None or self.seq_from is None:
                raise ValueError("a range needs request_id and seq_from")
            if self.seq_to is not None and self.seq_to < self.seq_from:
                raise ValueError("seq_to must not be below seq_from")
        return self


class CompromiseIn(Strict):
    reason: str = _reason()
    replace: bool = Field(True, description="If the key is active, a new key takes over at once")


class RotationIn(Strict):
    retire_kid: str = Field(
        pattern=KID, description="The active key to replace; a repeat after it was replaced is a no-op"
    )
    note: str = Field("", max_length=300)
    force: bool = Field(
        False,
        description=(
            "Activate at once: the oldest pending key even if it was published for less than the "
            "publish period, or a new key when none is pending (offline scanners then answer "
            "'not genuine' for its stamps until their next bundle). Without it, a pending key "
            "published on the signing host (`stamp-service keys publish`) long enough is required."
        ),
    )


# -- responses -------------------------------------------------------------------------------------


class CertificateActionOut(Out):
    changed: bool = Field(description="False when the action had already been done (nothing changed)")
    certificate: CertificateOut
    previous: CertificateOut | None = None
    stopped_requests: list[int] = Field(default_factory=list)


class LotRecallOut(Out):
    changed: bool
    lot: LotOut
    stopped_requests: list[int] = Field(default_factory=list)


class VoidOut(Out):
    id: int
    request_id: int
    seq_from: int
    seq_to: int
    reason_code: str
    reason: str
    decision: dict[str, Any] | None
    voided_by: int | None
    voided_at: datetime


class VoidActionOut(Out):
    changed: bool
    voids: list[VoidOut] = Field(description="The new void, or the existing ones covering the range")


class KeyOut(Out):
    kid: str
    state: str
    created_at: datetime
    activated_at: datetime | None
    retired_at: datetime | None
    compromised_at: datetime | None
    note: str


class KeyActionOut(Out):
    changed: bool
    key: KeyOut
    active: KeyOut | None = Field(None, description="The key signing new stamps after the action")


class ExpiringQuery(PageQuery):
    days: int = Field(30, ge=0, le=366)
    province: str | None = Field(None, pattern=r"^[0-9]{2}$")


class ExpiringOut(Out):
    certificate_id: int
    product_id: int
    product_name: str
    producer_id: int
    producer_name: str
    province_code: str
    stars: int
    decision_number: str
    valid_until: date
    days_left: int


class RevocationReportQuery(PageQuery):
    """Filters of the revocation reports (not the consumer reports of schemas.verification)."""

    province: str | None = Field(None, pattern=r"^[0-9]{2}$")
    since: QueryDate | None = Field(None, description="Decision (or void) date on or after")
    until: QueryDate | None = Field(None, description="Decision (or void) date on or before")


class VoidReportQuery(RevocationReportQuery):
    reason_code: ReasonCode | None = None
    request_id: int | None = Field(None, ge=1, le=2**31 - 1)


class RevokedProductOut(Out):
    product_id: int
    product_name: str
    producer_id: int
    producer_name: str
    province_code: str
    certificate_id: int
    cause: str = Field(description="stars_withdrawn or stars_below_three")
    stars: int
    decision_number: str
    decided_on: date | None


class RecalledLotOut(Out):
    lot_id: int
    lot_code: str
    product_id: int
    product_name: str
    producer_id: int
    province_code: str
    recall: dict[str, Any]
    decided_on: date | None


class VoidRangeOut(VoidOut):
    product_id: int
    lot_id: int
    producer_id: int
    province_code: str


class HistoryEventOut(Out):
    at: datetime
    action: str
    entity: str
    entity_id: str
    actor: str
    reason: str | None
    decision: dict[str, Any] | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class ProductHistoryOut(Out):
    product_id: int
    product_name: str
    current_certificate: CertificateOut | None
    certificates: list[CertificateOut]
    recalled_lots: list[LotOut]
    events: list[HistoryEventOut]


class EmptyQuery(QueryModel):
    pass
