"""Lot and trace-event API contracts."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field, field_validator, model_validator

from stamp_service.schemas.bodies import Body
from stamp_service.schemas.common import Out, PageQuery, QueryModel

# GS1 AI (10) allows 20 characters: keep lot codes usable in a GS1 Digital Link.
LOT_CODE = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,19}$"


class EventType(StrEnum):
    SOURCING = "sourcing"
    PROCESSING = "processing"
    TESTING = "testing"
    PACKING = "packing"
    STAMPING = "stamping"
    DISPATCH = "dispatch"


class OwnInputLot(Body):
    lot_id: int = Field(ge=1)


class SupplierInputLot(Body):
    """A raw material bought or harvested (Circular 02/2024: supplier, area, date)."""

    supplier: str = Field(min_length=2, max_length=300)
    lot_code: str | None = Field(None, min_length=1, max_length=64, description="The supplier's lot code")
    description: str | None = Field(None, max_length=500, description="What the material is")
    commune_code: str | None = Field(
        None,
        pattern=r"^[0-9]{1,8}$",
        description="Raw-material area: a current commune, ward or special zone of the reference list",
    )
    received_on: date | None = Field(None, description="Bought or harvested on; not after production")


class LotIn(Body):
    product_id: int = Field(ge=1)
    lot_code: str = Field(pattern=LOT_CODE)
    production_date: date
    expiry_date: date | None = None
    quantity: int = Field(gt=0, le=10_000_000)
    unit: str = Field("unit", min_length=1, max_length=32)
    place: str | None = Field(None, max_length=300)
    input_lots: list[OwnInputLot | SupplierInputLot] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _expiry_after_production(self) -> LotIn:
        if self.expiry_date is not None and self.expiry_date < self.production_date:
            raise ValueError("expiry_date must not be before production_date")
        return self


class Document(Body):
    name: str = Field(min_length=1, max_length=200)
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")

    @field_validator("sha256")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class TraceEventIn(Body):
    event_type: EventType
    occurred_at: AwareDatetime = Field(description="ISO 8601 with a UTC offset")
    place: str | None = Field(None, max_length=300)
    actor: str | None = Field(None, max_length=300)
    note: str | None = Field(None, max_length=2000)
    documents: list[Document] = Field(default_factory=list, max_length=20)
    corrects_seq: int | None = Field(None, ge=1, description="The earlier event this one corrects")


class StoredDocument(Out):
    """A checked, stored trace file: name it in the next event's ``documents`` as {name, sha256}."""

    name: str = Field(description="The file name shown on the public page")
    sha256: str = Field(description="SHA-256 of the stored bytes, computed by the service")
    media_type: str = Field(description="image/jpeg, image/png or application/pdf")
    size: int = Field(description="Bytes stored (images are re-encoded, so not the uploaded size)")
    url: str = Field(description="Where the public page opens the file")


class DocumentQuery(QueryModel):
    name: str | None = Field(None, max_length=200, description="The file's name (default: photo.jpg, ...)")


class TraceEventOut(Out):
    seq: int
    event_type: EventType
    occurred_at: datetime
    place: str | None
    actor: str | None
    note: str | None
    documents: list[dict[str, Any]]
    corrects_seq: int | None
    recorded_by: str
    created_at: datetime


class LotOut(Out):
    id: int
    product_id: int
    lot_code: str
    production_date: date
    expiry_date: date | None
    quantity: int
    unit: str
    place: str | None
    input_lots: list[dict[str, Any]]
    recall: dict[str, Any] | None
    created_at: datetime


class LotDetailOut(LotOut):
    events: list[TraceEventOut]


class LotQuery(PageQuery):
    product_id: int | None = Field(None, ge=1, le=2**31 - 1)
