"""Print files of issued stamps: PDF sheets, CSV manifest, ZPL, and one stamp as SVG or PNG.

Only the owning producer and admins download them (an inspector is Forbidden,
another producer gets NotFound). Only a fully ``issued`` request is printable,
and only while its product may carry stamps today (a withdrawn or expired
certificate or a recalled lot refuses the download: those stamps would verify
as revoked). Voided slots are left out. Every download is audited and committed
*before* the first byte is streamed, so a download that is cut off is still on
record. PINs are derived again here (never stored) and appear only in these files.

Everything the renderer could refuse (sheet geometry, printer settings) is
checked before the audit entry, so a bad parameter is a clean 422.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stamp_service.crypto import pins
from stamp_service.crypto.keyring import KeyRing
from stamp_service.domain import digital_link, serials
from stamp_service.domain.access import Principal, Role, require_read, require_role
from stamp_service.domain.certification import local_today
from stamp_service.domain.digital_link import StampForm
from stamp_service.domain.stamp_format import StampClaims, stamp_url
from stamp_service.errors import Conflict, NotFound, ValidationFailed
from stamp_service.render.labels import LabelData
from stamp_service.render.layout import DEFAULT_PADDING, plan_label, qr_printed_size, sample_label
from stamp_service.render.pdf import SheetLayout, layout_for
from stamp_service.render.qr import version_for
from stamp_service.render.zpl import ZplOptions, label_zpl
from stamp_service.services import audit, minting
from stamp_service.services.lookup import by_id
from stamp_service.services.scope import owner_of
from stamp_service.storage.models.registry import Lot, Product
from stamp_service.storage.models.stamps import Stamp, StampRequest, StampVoid

BATCH = 1000
_STAMP_COLUMNS = (
    Stamp.serial,
    Stamp.seq,
    Stamp.kid,
    Stamp.product_id,
    Stamp.lot_id,
    Stamp.expiry_day,
    Stamp.signature,
)


@dataclass(frozen=True)
class LabelSource:
    """Everything needed to turn one request's stamps into ``LabelData`` lazily."""

    request_id: int
    count: int
    voids: tuple[tuple[int, int], ...]
    stars: int
    product_name: str
    base_url: str
    with_pin: bool
    lot_code: str | None = None
    expiry: date | None = None
    # GTIN and lot code for requests printed in the GS1 Digital Link form, else None.
    digital_link: tuple[str, str] | None = None

    def host(self) -> str:
        return print_host(self.base_url)


def print_host(base_url: str) -> str:
    """The host printed on labels (lower case reads better for people)."""
    return base_url.split("://", 1)[1].lower()


@dataclass(frozen=True)
class Download:
    request: StampRequest
    labels: LabelSource


def _printable(session: Session, actor: Principal, request: StampRequest, today: date | None) -> None:
    require_read(actor, owner_of(session, request.producer_id), "stamp request")
    if request.state != "issued":
        raise Conflict(
            f"stamp request {request.id} is {request.state}: print files exist once it is fully issued",
            state=request.state,
            issued_count=request.issued_count,
        )
    blocker = minting.issuing_blocker(session, request.product_id, request.lot_id, today or local_today())
    if blocker is not None:
        raise blocker


def _label_source(session: Session, request: StampRequest, base_url: str) -> LabelSource:
    voids = tuple(
        (v.seq_from, v.seq_to)
        for v in session.scalars(select(StampVoid).where(StampVoid.request_id == request.id))
    )
    voided = sum(min(b, request.issued_count) - a + 1 for a, b in voids if a <= request.issued_count)
    product = session.get(Product, request.product_id)
    lot = session.get(Lot, request.lot_id) if request.lot_id is not None else None
    cert = minting.current_certificate(session, request.product_id)
    assert product is not None and cert is not None  # _printable checked the certificate
    return LabelSource(
        request_id=request.id,
        count=max(0, request.issued_count - voided),
        voids=voids,
        stars=cert.stars,
        product_name=product.short_name or product.name,
        base_url=base_url,
        with_pin=request.with_pin,
        lot_code=lot.lot_code if lot is not None else None,
        expiry=lot.expiry_date if lot is not None else None,
        digital_link=_digital_link(session, request, product),
    )


def _digital_link(session: Session, request: StampRequest, product: Product) -> tuple[str, str] | None:
    if request.form != StampForm.DIGITAL_LINK or not product.gtin:
        return None
    lot = session.get(Lot, request.lot_id)
    assert lot is not None
    return product.gtin, lot.lot_code


def open_download(
    session: Session,
    actor: Principal,
    request_id: int,
    *,
    fmt: str,
    base_url: str,
    options: dict[str, Any] | None = None,
    fits: Callable[[LabelData], object] | None = None,
    today: date | None = None,
    layout: SheetLayout | None = None,
) -> Download:
    """Check access and printability, audit the download and commit; the caller then streams.

    `fits` renders a sample label of this request (its host, with or without PIN) and raises
    ValidationFailed when the chosen label size cannot hold it, so that nothing fails mid-stream.
    Raises Forbidden (inspector), NotFound, Conflict (not fully issued), RuleViolation,
    ValidationFailed (also: a Digital Link request on labels too small for its larger code).
    """
    require_role(actor, Role.ADMIN, Role.PRODUCER)
    request = by_id(session, StampRequest, request_id)
    if request is None:
        raise NotFound("no such stamp request")
    _printable(session, actor, request, today)
    source = _label_source(session, request, base_url)
    if fits is not None:
        fits(sample_label(source.host(), pin=source.with_pin))
    if layout is not None:
        _check_code_size(source, layout)
    audit.record(
        session,
        actor,
        action="stamps.download",
        entity="stamp_request",
        entity_id=request.id,
        after={"format": fmt, "labels": source.count, "with_pin": request.with_pin, "options": options or {}},
    )
    session.commit()
    return Download(request, source)


def iter_labels(
    sessions: Callable[[], Session], source: LabelSource, keyring: KeyRing
) -> Iterator[LabelData]:
    """The request's printable stamps in slot order, read ``BATCH`` rows at a time (flat memory).

    Each batch is read in a session of its own that is closed before a label is yielded: a stream
    runs after its request has ended and may be slow or cut off by the client, so it must never
    hold a transaction (or a pooled connection) open between batches.
    """
    last = 0
    host = source.host()
    while True:
        with sessions() as session:
            rows = session.execute(
                select(*_STAMP_COLUMNS)
                .where(Stamp.request_id == source.request_id, Stamp.seq > last)
                .order_by(Stamp.seq)
                .limit(BATCH)
            ).all()
        if not rows:
            return
        for row in rows:
            if not any(a <= row.seq <= b for a, b in source.voids):
                yield _label(row, source, host, keyring)
        last = rows[-1].seq


def _label(row: Any, source: LabelSource, host: str, keyring: KeyRing) -> LabelData:
    """``row`` is a Stamp or a row with its columns (``minting.token_for`` reads only those)."""
    serial = serials.from_db(row.serial)
    return LabelData(
        url=_url(row, source),
        serial_display=serials.format_serial(serial),
        stars=source.stars,
        product_name=source.product_name,
        host=host,
        pin=pins.derive_pin(keyring, serial) if source.with_pin else None,
        seq=row.seq,
        lot_code=source.lot_code,
        expiry=source.expiry,
    )


def sheet_fits(layout: SheetLayout) -> Callable[[LabelData], object]:
    """For ``open_download``: raises LabelTooSmall if `layout`'s labels cannot hold the label."""

    def check(label: LabelData) -> object:
        modules = version_for(label.url) * 4 + 17
        return plan_label(label, layout.label_width, layout.label_height, modules, padding=layout.padding)

    return check


def zpl_fits(options: ZplOptions) -> Callable[[LabelData], object]:
    """For ``open_download``: raises ValidationFailed if the ZPL label cannot hold the label."""
    return lambda label: label_zpl(label, options)


MIN_DIGITAL_LINK_CODE_MM = 25.0
"""A Digital Link code is QR version 9-10 (53-57 modules, byte mode) where the opaque form is
version 7 (45): at least 25 mm keeps its modules as large as the opaque code's at 20 mm."""


def _check_code_size(source: LabelSource, layout: SheetLayout) -> None:
    if source.digital_link is None:
        return
    gtin, lot_code = source.digital_link
    sample = StampClaims(1, b"\0" * 4, 1, 1, 1, 0)  # every field has a fixed printed width
    url = digital_link.build_url(
        source.base_url, gtin=gtin, lot_code=lot_code, claims=sample, signature=bytes(64)
    )
    modules = version_for(url) * 4 + 17
    size = qr_printed_size(
        layout.label_width, layout.label_height, modules, has_pin=source.with_pin, padding=layout.padding
    )
    if size < MIN_DIGITAL_LINK_CODE_MM:
        raise ValidationFailed(
            [
                {
                    "field": "preset",
                    "message": (
                        f"the GS1 Digital Link form needs a code of at least "
                        f"{MIN_DIGITAL_LINK_CODE_MM:.0f} mm; these labels print {size:.1f} mm: "
                        "choose larger labels"
                    ),
                }
            ]
        )


def _url(row: Any, source: LabelSource) -> str:
    if source.digital_link is None:
        return stamp_url(source.base_url, minting.token_for(row))
    gtin, lot_code = source.digital_link
    claims, signature = minting.claims_for(row)
    return digital_link.build_url(
        source.base_url, gtin=gtin, lot_code=lot_code, claims=claims, signature=signature
    )


def sheet_layout(preset: str | None, overrides: dict[str, Any]) -> SheetLayout:
    """The label stock, checked now (raises ValidationFailed) so streaming cannot fail on it."""
    layout = layout_for(preset, **{k: v for k, v in overrides.items() if v is not None})
    layout.resolve()
    return layout


def zpl_options(**values: Any) -> ZplOptions:
    options = ZplOptions(**values)
    options.validate()
    return options


# --- one stamp -----------------------------------------------------------------------------------


def one_stamp(
    session: Session,
    actor: Principal,
    serial_text: str,
    *,
    fmt: str,
    base_url: str,
    keyring: KeyRing,
    size_mm: tuple[float, float] | None = None,
    today: date | None = None,
) -> LabelData:
    """The label of one stamp (SVG/PNG download), audited.

    Raises as ``open_download``, SerialTypo, and LabelTooSmall when `size_mm` cannot hold it.
    """
    require_role(actor, Role.ADMIN, Role.PRODUCER)
    serial = serials.parse_serial(serial_text)
    stamp = session.get(Stamp, serials.to_db(serial))
    request = session.get(StampRequest, stamp.request_id) if stamp is not None else None
    if stamp is None or request is None:
        raise NotFound("no such stamp")
    require_read(actor, owner_of(session, request.producer_id), "stamp")
    _printable(session, actor, request, today)
    source = _label_source(session, request, base_url)
    if any(a <= stamp.seq <= b for a, b in source.voids):
        raise Conflict("this stamp is voided and must not be printed again")
    label = _label(stamp, source, source.host(), keyring)
    if size_mm is not None:
        modules = version_for(label.url) * 4 + 17
        plan_label(label, size_mm[0], size_mm[1], modules, padding=DEFAULT_PADDING)  # raises LabelTooSmall
    audit.record(
        session,
        actor,
        action="stamps.download",
        entity="stamp",
        entity_id=serials.compact(serial),
        after={"format": fmt, "request_id": request.id, "seq": stamp.seq},
    )
    session.commit()
    return label
