"""``/console/requests``: the office's queue of stamp requests, approve or reject, progress, print files.

Thin views: the queue and a request's page read ``services.request_queue``; approving and
rejecting are ``services.stamp_requests`` (the same calls as the API); the print files are
``services.print_files.open_download`` (access check, printability, audit entry) streamed by the
same renderers as the API's download views. These download routes authenticate with the session
cookie (GET, nothing changes but an audit entry, so no CSRF token is needed); the API's views
keep the bearer token only, so the API never reads a cookie (docs/console.md).

Progress without JavaScript: while the request is issuing, its page reloads itself every few
seconds (``<meta http-equiv=refresh>``); the people pages' CSP allows no script at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, flash, redirect, request, url_for

from stamp_service.crypto.keyring import for_runtime
from stamp_service.domain.access import Role
from stamp_service.errors import Conflict, RuleViolation, ServiceError, ValidationFailed
from stamp_service.render.labels import LabelData
from stamp_service.render.manifest import render_manifest
from stamp_service.render.pdf import render_pdf
from stamp_service.render.zpl import render_zpl
from stamp_service.schemas.stamp_requests import MAX_STAMPS, ApproveIn, RejectIn, RequestState
from stamp_service.services import issuance_jobs, print_files, request_queue, stamp_requests
from stamp_service.web.auth import page_principal
from stamp_service.web.console_decision_form import (
    Errors,
    page_context,
    read_reason,
    rule_message,
    service_errors,
    text,
)
from stamp_service.web.context import db, runtime
from stamp_service.web.people import page_number, people_blueprint, render, signed_in

bp = people_blueprint("console_requests", __name__, url_prefix="/console/requests")
bp.context_processor(page_context)
STATES = [s.value for s in RequestState]
REFRESH_SECONDS = 2


@bp.get("/")
@signed_in(Role.ADMIN)
def index() -> Any:
    raw = request.args.get("state", "")
    state = RequestState(raw) if raw in STATES else None
    listing = request_queue.queue(db(), page_principal(), state=state, page=page_number())
    return render("people/console_requests.html", listing=listing, state=state, states=STATES)


def _detail(request_id: int, status: int = 200, errors: Errors | None = None, form: Any = None) -> Any:
    view = request_queue.request_view(db(), page_principal(), request_id)
    issuing = view.request.state in ("approved", "issuing")
    return render(
        "people/console_request.html",
        status,
        view=view,
        errors=errors or {},
        form=form or {},
        refresh=REFRESH_SECONDS if issuing else None,
    )


@bp.get("/<int:request_id>")
@signed_in(Role.ADMIN)
def detail(request_id: int) -> Any:
    return _detail(request_id)


def _quantity(form: dict[str, str], errors: Errors, requested: int) -> int | None:
    raw = text(form, "quantity").replace(".", "").replace(",", "")
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) <= min(requested, MAX_STAMPS):
        errors["quantity"] = "Give a whole number from 1 up to the number requested."
        return None
    return int(raw)


def _decision_failed(request_id: int, exc: ServiceError, form: dict[str, str], field: str) -> Any:
    if isinstance(exc, ValidationFailed):
        return _detail(request_id, 422, service_errors(exc), form)
    if isinstance(exc, Conflict):
        flash("This request was already decided: the page shows its state now.", "error")
        return redirect(url_for("console_requests.detail", request_id=request_id))
    assert isinstance(exc, RuleViolation)  # the lot is full, the certificate ended, the lot is recalled...
    return _detail(request_id, 422, {field: rule_message(exc)}, form)


@bp.post("/<int:request_id>/approve")
@signed_in(Role.ADMIN)
def approve(request_id: int) -> Any:
    form = request.form.to_dict()
    view = request_queue.request_view(db(), page_principal(), request_id)
    errors: Errors = {}
    quantity = _quantity(form, errors, view.request.quantity_requested)
    note = text(form, "note")[:1000] or None
    if errors:
        return _detail(request_id, 422, errors, form)
    try:
        stamp_requests.approve(
            db(),
            page_principal(),
            request_id,
            ApproveIn(quantity=quantity, reason=note),
            spare_percent=runtime().settings.stamp_spare_percent,
            issuance=issuance_jobs.for_app_runtime(runtime()),
        )
    except (ValidationFailed, Conflict, RuleViolation) as exc:
        db().rollback()
        return _decision_failed(request_id, exc, form, "quantity")
    flash("The request is approved; its stamps are being issued.", "success")
    return redirect(url_for("console_requests.detail", request_id=request_id))


@bp.post("/<int:request_id>/reject")
@signed_in(Role.ADMIN)
def reject(request_id: int) -> Any:
    form = request.form.to_dict()
    request_queue.request_view(db(), page_principal(), request_id)  # NotFound outside the province first
    errors: Errors = {}
    reason = read_reason(form, errors, "reject_reason")
    if errors:
        return _detail(request_id, 422, errors, form)
    try:
        stamp_requests.reject(db(), page_principal(), request_id, RejectIn(reason=reason))
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        return _decision_failed(request_id, exc, form, "reject_reason")
    flash("The request is rejected; the producer sees the reason.", "success")
    return redirect(url_for("console_requests.detail", request_id=request_id))


# --- print files (session-authenticated twins of the API's download views) ----------------------


def _attachment(chunks: Iterator[bytes], mimetype: str, filename: str) -> Response:
    response = Response(chunks, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _open(request_id: int, fmt: str, **kwargs: Any) -> tuple[print_files.Download, Iterator[LabelData]]:
    download = print_files.open_download(
        db(), page_principal(), request_id, fmt=fmt, base_url=runtime().settings.public_base_url, **kwargs
    )
    rt = runtime()
    return download, print_files.iter_labels(rt.session_factory, download.labels, for_runtime(rt))


def _not_printable(request_id: int) -> Any:
    db().rollback()
    flash("The print files are ready once every stamp is issued.", "error")
    return redirect(url_for("console_requests.detail", request_id=request_id))


@bp.get("/<int:request_id>/labels.pdf")
@signed_in(Role.ADMIN)
def labels_pdf(request_id: int) -> Any:
    layout = print_files.sheet_layout(None, {})
    try:
        _, labels = _open(
            request_id, "pdf", options={"via": "console"}, fits=print_files.sheet_fits(layout), layout=layout
        )
    except (Conflict, RuleViolation, ValidationFailed):
        return _not_printable(request_id)
    chunks = render_pdf(labels, layout, title=f"OCOP stamps, request {request_id}")
    return _attachment(chunks, "application/pdf", f"ocop-stamps-{request_id}.pdf")


@bp.get("/<int:request_id>/labels.csv")
@signed_in(Role.ADMIN)
def labels_csv(request_id: int) -> Any:
    try:
        download, labels = _open(request_id, "csv", options={"via": "console"})
    except (Conflict, RuleViolation, ValidationFailed):
        return _not_printable(request_id)
    chunks = render_manifest(labels, include_pin=download.labels.with_pin)
    return _attachment(chunks, "text/csv", f"ocop-stamps-{request_id}.csv")


@bp.get("/<int:request_id>/labels.zpl")
@signed_in(Role.ADMIN)
def labels_zpl(request_id: int) -> Any:
    options = print_files.zpl_options(dpi=203, width_mm=60.0, height_mm=40.0, ascii_text=True)
    try:
        _, labels = _open(request_id, "zpl", options={"via": "console"}, fits=print_files.zpl_fits(options))
    except (Conflict, RuleViolation, ValidationFailed):
        return _not_printable(request_id)
    return _attachment(render_zpl(labels, options), "text/plain", f"ocop-stamps-{request_id}.zpl")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
