"""Registry API contracts: producers (products, certificates, lots, trace events follow)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from stamp_service.schemas.bodies import NO_NUL, Body
from stamp_service.schemas.common import Out, PageQuery


class LegalType(StrEnum):
    """DN, HTX, THT and household business (hộ kinh doanh)."""

    ENTERPRISE = "enterprise"
    COOPERATIVE = "cooperative"
    COOPERATIVE_GROUP = "cooperative_group"
    HOUSEHOLD = "household"


class ProducerIn(Body):
    name: str = Field(min_length=2, max_length=300)
    legal_type: LegalType
    registration_number: str | None = Field(None, pattern=r"^[0-9A-Za-z./-]{4,32}$")
    representative: str | None = Field(None, max_length=200)
    commune_code: str = Field(pattern=r"^[0-9]{1,8}$")
    street: str | None = Field(None, max_length=300)
    legacy_district: str | None = Field(
        None, max_length=200, description="District name for addresses recorded before 1/7/2025"
    )
    phone: str | None = Field(None, pattern=r"^\+?[0-9 .-]{6,20}$")
    email: str | None = Field(None, pattern=r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")
    gs1_company_prefix: str | None = Field(None, pattern=r"^893[0-9]{4,9}$")

    @model_validator(mode="after")
    def _registration_required(self) -> ProducerIn:
        if self.registration_number is None and self.legal_type is not LegalType.COOPERATIVE_GROUP:
            raise ValueError("registration_number is required except for a cooperative group (THT)")
        return self


class ProducerPatch(Body):
    representative: str | None = Field(None, max_length=200)
    phone: str | None = Field(None, pattern=r"^\+?[0-9 .-]{6,20}$")
    email: str | None = Field(None, pattern=r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")
    gs1_company_prefix: str | None = Field(None, pattern=r"^893[0-9]{4,9}$")


class ProducerOut(Out):
    id: int
    name: str
    legal_type: LegalType
    registration_number: str | None
    representative: str | None
    commune_code: str
    province_code: str
    street: str | None
    address_snapshot: dict[str, Any]
    phone: str | None
    email: str | None
    gs1_company_prefix: str | None
    created_at: datetime


class ProducerQuery(PageQuery):
    province: str | None = Field(None, pattern=r"^[0-9]{1,8}$")
    legal_type: LegalType | None = None
    q: str | None = Field(None, max_length=100, pattern=NO_NUL, description="Name contains")
