"""Product API contracts."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field, field_validator

from stamp_service.domain.certification import CertificateStatus
from stamp_service.domain.gs1 import check_gtin
from stamp_service.schemas.bodies import NO_NUL, Body
from stamp_service.schemas.common import Out, PageQuery

GROUP_CODE = r"^[0-9]+(\.[0-9]+){0,3}$"
COMMUNE_CODE = r"^[0-9]{1,8}$"


class ProductIn(Body):
    producer_id: int = Field(ge=1)
    name: str = Field(min_length=2, max_length=300)
    short_name: str = Field(min_length=2, max_length=40, description="Printed on labels")
    group_code: str = Field(pattern=GROUP_CODE, description="A category or group of the product_groups list")
    subgroup_code: str | None = Field(None, pattern=GROUP_CODE, description="A descendant of group_code")
    gtin: str | None = Field(None, description="GTIN-8/12/13/14 with a valid check digit")
    brand: str | None = Field(None, max_length=200)
    standards: list[str] = Field(default_factory=list, max_length=20, description='e.g. "TCCS 01:2020/HTXPT"')
    self_declaration_ref: str | None = Field(None, max_length=200)
    raw_material_communes: list[str] = Field(default_factory=list, max_length=50)
    description: str | None = Field(None, max_length=5000)
    image_url: str | None = Field(None, max_length=500, pattern=r"^https://[^\s/?#]+[^\s]*$")

    @field_validator("gtin")
    @classmethod
    def _gtin(cls, value: str | None) -> str | None:
        return None if value is None else check_gtin(value)

    @field_validator("standards")
    @classmethod
    def _standards(cls, value: list[str]) -> list[str]:
        cleaned = [s.strip() for s in value]
        if any(not s or len(s) > 100 for s in cleaned):
            raise ValueError("each standard is 1 to 100 characters")
        return cleaned

    @field_validator("raw_material_communes")
    @classmethod
    def _communes(cls, value: list[str]) -> list[str]:
        if any(not c.isascii() or not c.isdigit() or len(c) > 8 for c in value):
            raise ValueError("commune codes are 1 to 8 digits")
        return list(dict.fromkeys(value))


class CurrentCertificate(Out):
    id: int
    stars: int
    decision_number: str
    signed_on: date
    valid_until: date
    status: CertificateStatus


class ProductOut(Out):
    id: int
    producer_id: int
    name: str
    short_name: str | None
    group_code: str
    subgroup_code: str | None
    gtin: str | None
    brand: str | None
    standards: list[str]
    self_declaration_ref: str | None
    raw_material_communes: list[str]
    description: str | None
    image_url: str | None
    uploaded_image: str | None = Field(None, description="Path of the uploaded image, if any")
    current_certificate: CurrentCertificate | None = None
    created_at: datetime


class ProductImageOut(Out):
    product_id: int
    media_type: str
    size: int
    sha256: str
    url: str


class ProductQuery(PageQuery):
    producer_id: int | None = Field(None, ge=1, le=2**31 - 1)
    province: str | None = Field(None, pattern=COMMUNE_CODE, description="The producer's province code")
    group: str | None = Field(None, pattern=GROUP_CODE, description="Group code; matches its descendants")
    stars: int | None = Field(None, ge=1, le=5, description="Stars of the current certificate")
    certificate_state: str | None = Field(
        None,
        pattern=r"^(valid|expired|withdrawn|below_three|none)$",
        description="Status of the current certificate today: valid, expired, withdrawn, below_three "
        "(reduced below 3 stars) or none",
    )
    q: str | None = Field(None, max_length=100, pattern=NO_NUL, description="Name contains")
