"""Stamp requests, auto-approval policies and print downloads under /api/v1 (thin views).

Print files stream after the request has ended: the download was audited and committed by the
service before the first byte, and the stream reads its rows in short sessions of its own
(``print_files.iter_labels``), so a slow or vanished client holds no database connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from flask import Blueprint, Flask, Response, request

from stamp_service.crypto.keyring import for_runtime
from stamp_service.domain.access import Principal
from stamp_service.render.image import render_png
from stamp_service.render.labels import LabelData
from stamp_service.render.manifest import render_manifest
from stamp_service.render.pdf import SheetLayout, render_pdf
from stamp_service.render.svg import render_svg
from stamp_service.render.zpl import render_zpl
from stamp_service.schemas.common import Page
from stamp_service.schemas.stamp_requests import (
    ApproveIn,
    PdfQuery,
    PolicyIn,
    PolicyOut,
    RejectIn,
    StampImageQuery,
    StampRequestIn,
    StampRequestOut,
    StampRequestQuery,
    ZplQuery,
)
from stamp_service.services import immediate_notices, issuance_jobs, print_files, stamp_requests
from stamp_service.web.api import operation
from stamp_service.web.context import db, runtime

bp = Blueprint("stamps_api", __name__, url_prefix="/api/v1")
TAG = "stamps"
PRINT_ROLES = ("admin", "producer")


def _issuance() -> issuance_jobs.Issuance:
    return issuance_jobs.for_app_runtime(runtime())


def _spare() -> int:
    return runtime().settings.stamp_spare_percent


@operation(
    bp,
    "/stamp-requests",
    method="POST",
    summary="Request stamps for a lot (header Idempotency-Key required; a retry returns the same request)",
    tag=TAG,
    body=StampRequestIn,
    response=StampRequestOut,
    status=201,
    roles=("admin", "producer"),
    errors=(404, 409, 422),
)
def create_request(*, principal: Principal, body: StampRequestIn) -> tuple[StampRequestOut, int] | Response:
    result = stamp_requests.create_request(
        db(),
        principal,
        body,
        idempotency_key=request.headers.get("Idempotency-Key"),
        spare_percent=_spare(),
        issuance=_issuance(),
        notices=immediate_notices.for_app_runtime(runtime()),
    )
    out = StampRequestOut.model_validate(result.request)
    response = Response(
        out.model_dump_json(), status=201 if result.created else 200, mimetype="application/json"
    )
    response.headers["Location"] = f"/api/v1/stamp-requests/{result.request.id}"
    if not result.created:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@operation(
    bp,
    "/stamp-requests",
    method="GET",
    summary="List stamp requests (by state, lot, producer; producers see their own)",
    tag=TAG,
    query=StampRequestQuery,
    response=Page[StampRequestOut],
)
def list_requests(*, principal: Principal, query: StampRequestQuery) -> Page[StampRequestOut]:
    return stamp_requests.list_requests(db(), principal, query)


@operation(
    bp,
    "/stamp-requests/<int:request_id>",
    method="GET",
    summary="A stamp request with its issuance progress",
    tag=TAG,
    response=StampRequestOut,
    errors=(404,),
)
def get_request(*, principal: Principal, request_id: int) -> StampRequestOut:
    return StampRequestOut.model_validate(stamp_requests.get_request(db(), principal, request_id))


@operation(
    bp,
    "/stamp-requests/<int:request_id>/approve",
    method="POST",
    summary="Approve (possibly fewer stamps); under 10,000 stamps they are issued before the answer",
    tag=TAG,
    body=ApproveIn,
    response=StampRequestOut,
    roles=("admin",),
    errors=(404, 409, 422),
)
def approve(*, principal: Principal, request_id: int, body: ApproveIn) -> StampRequestOut:
    req = stamp_requests.approve(
        db(), principal, request_id, body, spare_percent=_spare(), issuance=_issuance()
    )
    return StampRequestOut.model_validate(req)


@operation(
    bp,
    "/stamp-requests/<int:request_id>/reject",
    method="POST",
    summary="Reject a pending request with a reason",
    tag=TAG,
    body=RejectIn,
    response=StampRequestOut,
    roles=("admin",),
    errors=(404, 409, 422),
)
def reject(*, principal: Principal, request_id: int, body: RejectIn) -> StampRequestOut:
    return StampRequestOut.model_validate(stamp_requests.reject(db(), principal, request_id, body))


@operation(
    bp,
    "/producers/<int:producer_id>/auto-approval",
    method="GET",
    summary="The producer's auto-approval policy",
    tag=TAG,
    response=PolicyOut,
    errors=(404,),
)
def get_policy(*, principal: Principal, producer_id: int) -> PolicyOut:
    return PolicyOut.model_validate(stamp_requests.get_policy(db(), principal, producer_id))


@operation(
    bp,
    "/producers/<int:producer_id>/auto-approval",
    method="PUT",
    summary="Auto-approve this producer's requests up to a size",
    tag=TAG,
    body=PolicyIn,
    response=PolicyOut,
    roles=("admin",),
    errors=(404, 422),
)
def set_policy(*, principal: Principal, producer_id: int, body: PolicyIn) -> PolicyOut:
    return PolicyOut.model_validate(stamp_requests.set_policy(db(), principal, producer_id, body))


@operation(
    bp,
    "/producers/<int:producer_id>/auto-approval",
    method="DELETE",
    summary="Remove the auto-approval policy (every request waits for the office)",
    tag=TAG,
    status=204,
    roles=("admin",),
    errors=(404,),
)
def delete_policy(*, principal: Principal, producer_id: int) -> None:
    stamp_requests.delete_policy(db(), principal, producer_id)


# --- print files ---------------------------------------------------------------------------------


def _attachment(chunks: Iterator[bytes], mimetype: str, filename: str) -> Response:
    """``mimetype`` without parameters: werkzeug adds ``charset=utf-8`` to text types itself."""
    response = Response(chunks, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"  # may carry PINs
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _open(
    principal: Principal,
    request_id: int,
    fmt: str,
    options: dict,
    fits: Callable[[LabelData], object] | None = None,
    layout: SheetLayout | None = None,
) -> print_files.Download:
    return print_files.open_download(
        db(),
        principal,
        request_id,
        fmt=fmt,
        base_url=runtime().settings.public_base_url,
        options=options,
        fits=fits,
        layout=layout,
    )


def _labels(download: print_files.Download) -> Iterator[LabelData]:
    rt = runtime()
    return print_files.iter_labels(rt.session_factory, download.labels, for_runtime(rt))


@operation(
    bp,
    "/stamp-requests/<int:request_id>/labels.pdf",
    method="GET",
    summary="A4 PDF label sheets of the issued stamps (preset and geometry in mm), streamed",
    tag=TAG,
    query=PdfQuery,
    roles=PRINT_ROLES,
    errors=(404, 409, 422),
)
def labels_pdf(*, principal: Principal, request_id: int, query: PdfQuery) -> Response:
    overrides = query.model_dump(exclude={"preset"}, exclude_none=True)
    layout = print_files.sheet_layout(query.preset, overrides)
    download = _open(
        principal,
        request_id,
        "pdf",
        query.model_dump(exclude_none=True),
        print_files.sheet_fits(layout),
        layout,
    )
    chunks = render_pdf(_labels(download), layout, title=f"OCOP stamps, request {request_id}")
    return _attachment(chunks, "application/pdf", f"ocop-stamps-{request_id}.pdf")


@operation(
    bp,
    "/stamp-requests/<int:request_id>/labels.csv",
    method="GET",
    summary="CSV manifest (serial, url, pin when the request has PINs) for variable-data printing",
    tag=TAG,
    roles=PRINT_ROLES,
    errors=(404, 409, 422),
)
def labels_csv(*, principal: Principal, request_id: int) -> Response:
    download = _open(principal, request_id, "csv", {})
    chunks = render_manifest(_labels(download), include_pin=download.labels.with_pin)
    return _attachment(chunks, "text/csv", f"ocop-stamps-{request_id}.csv")


@operation(
    bp,
    "/stamp-requests/<int:request_id>/labels.zpl",
    method="GET",
    summary="ZPL II for thermal label printers, one label format per stamp",
    tag=TAG,
    query=ZplQuery,
    roles=PRINT_ROLES,
    errors=(404, 409, 422),
)
def labels_zpl(*, principal: Principal, request_id: int, query: ZplQuery) -> Response:
    options = print_files.zpl_options(**query.model_dump())
    download = _open(principal, request_id, "zpl", query.model_dump(), print_files.zpl_fits(options))
    chunks = render_zpl(_labels(download), options)
    return _attachment(chunks, "text/plain", f"ocop-stamps-{request_id}.zpl")


def _compact(label: LabelData) -> str:
    return label.serial_display.replace("-", "")


def _one(principal: Principal, serial: str, fmt: str, query: StampImageQuery) -> LabelData:
    return print_files.one_stamp(
        db(),
        principal,
        serial,
        fmt=fmt,
        base_url=runtime().settings.public_base_url,
        keyring=for_runtime(runtime()),
        size_mm=(query.width_mm, query.height_mm),
    )


@operation(
    bp,
    "/stamps/<serial>/stamp.svg",
    method="GET",
    summary="One stamp as SVG (mm units) for packaging artwork",
    tag=TAG,
    query=StampImageQuery,
    roles=PRINT_ROLES,
    errors=(404, 409, 422),
)
def stamp_svg(*, principal: Principal, serial: str, query: StampImageQuery) -> Response:
    label = _one(principal, serial, "svg", query)
    body = render_svg(label, width_mm=query.width_mm, height_mm=query.height_mm)
    return _attachment(iter([body]), "image/svg+xml", f"stamp-{_compact(label)}.svg")


@operation(
    bp,
    "/stamps/<serial>/stamp.png",
    method="GET",
    summary="One stamp as PNG at the given dpi",
    tag=TAG,
    query=StampImageQuery,
    roles=PRINT_ROLES,
    errors=(404, 409, 422),
)
def stamp_png(*, principal: Principal, serial: str, query: StampImageQuery) -> Response:
    label = _one(principal, serial, "png", query)
    body = render_png(label, width_mm=query.width_mm, height_mm=query.height_mm, dpi=query.dpi)
    return _attachment(iter([body]), "image/png", f"stamp-{_compact(label)}.png")


def init_app(app: Flask) -> None:
    # No background work here: building an app (tests, scripts, a fresh database) starts nothing;
    # the serving path starts the embedded worker thread (``serve.start_background_work``).
    app.register_blueprint(bp)
