"""Certificate API contracts."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from stamp_service.domain.certification import AuthorityLevel, CertificateStatus
from stamp_service.schemas.bodies import Body
from stamp_service.schemas.common import Out, PageQuery


class CriteriaVersion(StrEnum):
    """The criteria decisions of ``domain.certification.CRITERIA_VERSIONS`` (a test keeps them equal)."""

    QD_1048_2019 = "1048/QĐ-TTg"
    QD_148_2023 = "148/QĐ-TTg"


def validity_after_signing(signed_on: date, valid_until: date | None) -> None:
    """Every body that sets a validity: ``valid_until`` (the last valid day) after signing."""
    if valid_until is not None and valid_until <= signed_on:
        raise ValueError("valid_until must be after signed_on")


class CertificateIn(Body):
    product_id: int = Field(ge=1)
    stars: int = Field(ge=3, le=5, description="Only 3-5 stars are certified; reductions are issue 5's")
    score: int | None = Field(None, ge=0, le=100, description="Must fall in the stars' band")
    criteria_version: CriteriaVersion
    authority_name: str = Field(min_length=2, max_length=300)
    authority_level: AuthorityLevel
    decision_number: str = Field(
        pattern=r"^[0-9]{1,6}/[0-9A-Za-zĐđ/-]{2,40}$", description='e.g. "1234/QĐ-UBND"'
    )
    signed_on: date
    valid_until: date | None = Field(None, description="Defaults to signed_on + 36 months")
    supersedes_id: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _validity_after_signing(self) -> CertificateIn:
        validity_after_signing(self.signed_on, self.valid_until)
        return self


class CertificateOut(Out):
    id: int
    product_id: int
    stars: int
    score: int | None
    criteria_version: str
    authority_name: str
    authority_level: AuthorityLevel
    decision_number: str
    signed_on: date
    valid_until: date
    supersedes_id: int | None
    state: str = Field(description="Recorded decision state: active, superseded or withdrawn")
    status: CertificateStatus = Field(
        description="Computed for today: valid, expired, withdrawn, superseded, below_three (under 3 stars)"
    )
    withdrawal: dict[str, Any] | None
    created_at: datetime


class CertificateQuery(PageQuery):
    product_id: int | None = Field(None, ge=1, le=2**31 - 1)
    state: CertificateStatus | None = Field(None, description="Computed status today")
