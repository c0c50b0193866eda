"""Stamp request, auto-approval policy and print-file API contracts."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field, computed_field

from stamp_service.domain.digital_link import StampForm
from stamp_service.schemas.common import Out, PageQuery, QueryModel, Strict

MAX_ID = 2**31 - 1
MAX_STAMPS = 10_000_000  # the largest lot quantity; a request can never be larger


class RequestState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    ISSUING = "issuing"
    ISSUED = "issued"
    STOPPED = "stopped"


class StampRequestIn(Strict):
    lot_id: int = Field(ge=1, le=MAX_ID)
    quantity: int = Field(gt=0, le=MAX_STAMPS, description="Stamps wanted (the lot's quantity plus a spare)")
    with_pin: bool = Field(False, description="Print a scratch PIN on every stamp")
    form: StampForm = Field(
        StampForm.OPAQUE,
        description=(
            "opaque: the compact stamp URL (QR version 7, 20 mm); digital_link: GS1 Digital Link "
            "(/01/GTIN/10/lot/21/serial, read by checkout scanners; needs a GTIN, a lot code of GS1 "
            "character set 82 and a code of at least 25 mm)"
        ),
    )


class ApproveIn(Strict):
    quantity: int | None = Field(None, gt=0, le=MAX_STAMPS, description="Fewer than requested; default all")
    reason: str | None = Field(None, max_length=1000)


class RejectIn(Strict):
    reason: str = Field(min_length=3, max_length=1000)


class Progress(Out):
    state: RequestState
    issued_count: int
    quantity_approved: int | None
    stop_reason: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def percent(self) -> int:
        if not self.quantity_approved:
            return 0
        return self.issued_count * 100 // self.quantity_approved


class StampRequestOut(Out):
    id: int
    producer_id: int
    product_id: int
    lot_id: int
    certificate_id: int
    stars_at_request: int
    quantity_requested: int
    quantity_approved: int | None
    with_pin: bool
    form: StampForm
    state: RequestState
    requested_by: int | None
    decided_by: int | None
    decided_at: datetime | None
    decision_reason: str | None
    issued_count: int
    expiry_day: date | None
    stop_reason: str | None
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def progress(self) -> Progress:
        return Progress(
            state=self.state,
            issued_count=self.issued_count,
            quantity_approved=self.quantity_approved,
            stop_reason=self.stop_reason,
        )


class StampRequestQuery(PageQuery):
    state: RequestState | None = None
    lot_id: int | None = Field(None, ge=1, le=MAX_ID)
    producer_id: int | None = Field(None, ge=1, le=MAX_ID)


class PolicyIn(Strict):
    max_quantity: int = Field(gt=0, le=MAX_STAMPS, description="Requests up to this size are auto-approved")
    note: str | None = Field(None, max_length=500)


class PolicyOut(Out):
    producer_id: int
    max_quantity: int
    note: str | None
    set_by: int | None
    updated_at: datetime


# --- print files ----------------------------------------------------------------------------------


class PdfQuery(QueryModel):
    """A label-stock preset, optionally with some of its geometry changed (millimetres)."""

    preset: str | None = Field(None, max_length=40, pattern=r"^[a-z0-9.-]+$")
    label_width: float | None = Field(None, ge=5, le=297)
    label_height: float | None = Field(None, ge=5, le=297)
    columns: int | None = Field(None, ge=1, le=40)
    rows: int | None = Field(None, ge=1, le=60)
    h_gap: float | None = Field(None, ge=0, le=50)
    v_gap: float | None = Field(None, ge=0, le=50)
    margin_left: float | None = Field(None, ge=0, le=100)
    margin_top: float | None = Field(None, ge=0, le=100)
    crop_marks: bool | None = None


class ZplQuery(QueryModel):
    dpi: int = Field(203, description="203, 300 or 600")
    width_mm: float = Field(60.0, ge=15, le=120, description="60 x 40 holds everything; 50 x 30 no PIN")
    height_mm: float = Field(40.0, ge=15, le=200)
    ascii_text: bool = Field(True, description="Fold Vietnamese to ASCII for printer-resident fonts")


class StampImageQuery(QueryModel):
    width_mm: float = Field(50.0, ge=15, le=120)
    height_mm: float = Field(30.0, ge=15, le=200)
    dpi: int = Field(600, ge=72, le=1200, description="PNG only")


class PrintPresetOut(Out):
    """A label-stock preset, described for the request form (sizes in mm)."""

    name: str
    label_width: float
    label_height: float
    columns: int
    rows: int
    per_sheet: int
    die_cut: bool = Field(
        description="Pre-cut label stock (no crop marks); otherwise plain paper cut by hand"
    )
    crop_marks: bool
    page_clearance: float = Field(description="Smallest distance from ink to the page edge")
    code_mm: float | None = Field(description="Printed QR symbol side without a PIN; null: host too long")
    code_mm_with_pin: float | None = Field(description="With a scratch PIN; null: this stock cannot hold one")
    default: bool
    purpose: str
    preview_url: str | None = Field(description="PNG of one label as it will print (300 dpi)")
    preview_with_pin_url: str | None


class PreviewQuery(QueryModel):
    pin: bool = Field(False, description="The label of a request with scratch PINs")
