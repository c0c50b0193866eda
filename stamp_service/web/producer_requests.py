"""``/producer/requests``: a producer asks for stamps, follows the office's decision and the
issuance, downloads its print files, and voids spoiled stamps by their printed sequence numbers.

Thin views over ``services.stamp_requests`` (create, read, list: another producer's request is a
404), ``services.print_files`` (the same checked, audited downloads as the API, here with the
session instead of a bearer token) and ``services.revocation.void_stamps`` (producers may void
only spoiled or unprinted stamps, and only the producer's administrator: staff get 404 here).
The label stock is chosen with its preview image (the ``/api/v1/print-presets`` previews); it
is a printing choice, carried to the download, not stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, flash, redirect, request, url_for
from pydantic import ValidationError

from stamp_service.crypto.keyring import for_runtime
from stamp_service.domain.access import ProducerDuty, Role
from stamp_service.errors import (
    Conflict,
    IdempotencyKeyReused,
    NotFound,
    RuleViolation,
    ValidationFailed,
)
from stamp_service.render.labels import LabelData
from stamp_service.render.manifest import render_manifest
from stamp_service.render.pdf import render_pdf
from stamp_service.render.presets import PRESETS, all_presets
from stamp_service.render.zpl import render_zpl
from stamp_service.schemas.revocation import ReasonCode, VoidIn
from stamp_service.schemas.stamp_requests import MAX_STAMPS, StampRequestIn, StampRequestQuery
from stamp_service.services import (
    immediate_notices,
    issuance_jobs,
    print_files,
    producer_view,
    revocation,
    stamp_requests,
)
from stamp_service.web.context import db, runtime
from stamp_service.web.i18n import format_number
from stamp_service.web.people import _, lang, people_blueprint, signed_in
from stamp_service.web.producer_common import (
    as_int,
    as_quantity,
    me,
    page,
    print_stop,
    producer_page,
    quantity_error,
    stop_message,
)

bp = people_blueprint("producer_requests", __name__, url_prefix="/producer/requests")
DEFAULT_PRESET = next(name for name in PRESETS)
STATE_LABELS = {
    "requested": "Waiting for the office",
    "approved": "Approved: the stamps will be made soon",
    "issuing": "Approved: the stamps are being made",
    "issued": "Ready to print",
    "rejected": "Rejected by the office",
    "stopped": "Stopped",
}
STOPPED_LABEL = "Must not be printed"  # issued, but the lot was recalled or the stars withdrawn since
NOT_PRINTABLE = {  # a download of a request that is not (fully) issued: what the producer can do
    "requested": "The stamps are not ready to print yet: the office has not decided.",
    "approved": "The stamps are not ready to print yet: they are still being made.",
    "issuing": "The stamps are not ready to print yet: they are still being made.",
    "rejected": "The office rejected this request: it has no stamps to print.",
    "stopped": "This request was stopped: it has no stamps to print.",
}


def _lot_choices() -> list[tuple[str, str]]:
    return producer_view.lot_choices(db(), me())


def _presets() -> list[Any]:
    return all_presets(print_files.print_host(runtime().settings.public_base_url))


@bp.get("/")
@signed_in(Role.PRODUCER)
def index() -> Any:
    listing = stamp_requests.list_requests(db(), me(), StampRequestQuery(per_page=200))
    issued = {(r.product_id, r.lot_id) for r in listing.items if r.state == "issued"}
    stopped = {pair for pair in issued if print_stop(*pair) is not None}  # one check per lot
    return page(
        "people/producer_requests.html",
        listing=listing,
        lots=dict(_lot_choices()),
        states=STATE_LABELS,
        must_not_print={r.id for r in listing.items if (r.product_id, r.lot_id) in stopped},
        stopped_label=STOPPED_LABEL,
    )


@bp.route("/new", methods=["GET", "POST"])
@signed_in(Role.PRODUCER)
def new() -> Any:
    form = request.form.to_dict() if request.method == "POST" else {}
    if request.method == "GET":
        form = {"lot_id": request.args.get("lot_id", ""), "preset": DEFAULT_PRESET}
    form.setdefault("key", uuid.uuid4().hex)  # a resent form is the same request, not a second one
    errors: dict[str, str] = {}
    preset = form.get("preset") if form.get("preset") in PRESETS else DEFAULT_PRESET
    if request.method == "POST":
        try:
            data = StampRequestIn.model_validate(
                {
                    "lot_id": as_int(form.get("lot_id")) or 0,
                    "quantity": as_quantity(form.get("quantity"), MAX_STAMPS),
                    "with_pin": form.get("with_pin") == "yes",
                }
            )
            created = stamp_requests.create_request(
                db(),
                me(),
                data,
                idempotency_key=form.get("key"),
                spare_percent=runtime().settings.stamp_spare_percent,
                issuance=issuance_jobs.for_app_runtime(runtime()),
                notices=immediate_notices.for_app_runtime(runtime()),
            )
        except ValidationError as exc:
            fields = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
            if "lot_id" in fields:
                errors["lot_id"] = "Choose the lot."
            if "quantity" in fields:
                errors["quantity"] = quantity_error(form.get("quantity"), MAX_STAMPS) or _(
                    "Enter a whole number above 0."
                )
        except NotFound:
            errors["lot_id"] = "Choose the lot."
        except (ValidationFailed, IdempotencyKeyReused, Conflict):
            errors["form"] = "The form was sent twice with different values. Reload the page and try again."
        except RuleViolation as exc:
            errors["quantity" if exc.rule == "lot-quantity-exceeded" else "lot_id"] = _rule_message(exc)
        else:
            flash("Your request was sent to the office.", "success")
            target = url_for(".detail", request_id=created.request.id, preset=preset)
            return redirect(target)
    return page(
        "people/producer_request_new.html",
        422 if errors else 200,
        form=form,
        errors=errors,
        lots=_lot_choices(),
        presets=_presets(),
        preset=preset,
    )


def _rule_message(exc: RuleViolation) -> str:
    """The page message for a refused request (the rule's own words are for the API)."""
    rule = exc.rule
    if rule == "lot-quantity-exceeded":
        limit, left = exc.extra.get("limit"), exc.extra.get("available")
        if limit is None or left is None:
            return _("That is more stamps than the lot allows (its quantity plus a small spare).")
        return _(
            "That is more stamps than the lot allows: at most %(limit)s stamps for this lot (its "
            "quantity plus a small spare), and %(left)s of them are left to request.",
            limit=format_number(limit, lang()),
            left=format_number(left, lang()),
        )
    if rule == "lot-recalled":
        return "This lot is recalled: no stamps can be issued for it."
    return "The product has no valid certificate of 3 stars or more today, so no stamps can be issued."


@bp.get("/<int:request_id>")
@signed_in(Role.PRODUCER)
def detail(request_id: int) -> Any:
    req = stamp_requests.get_request(db(), me(), request_id)
    preset = request.args.get("preset") if request.args.get("preset") in PRESETS else DEFAULT_PRESET
    stop = print_stop(req.product_id, req.lot_id)
    label = STATE_LABELS.get(req.state, req.state)
    return page(
        "people/producer_request.html",
        req=req,
        lot_name=dict(_lot_choices()).get(str(req.lot_id), ""),
        state_label=STOPPED_LABEL if stop is not None and req.state == "issued" else label,
        stop=stop,
        stop_text=stop_message(stop) if stop is not None else "",
        presets=_presets(),
        preset=preset,
        errors={},
        form={},
        voids=producer_view.request_voids(db(), me(), req.id),
        reasons=[(code, _(label)) for code, label in VOID_REASONS],
    )


# --- spoiled stamps ------------------------------------------------------------------------------

VOID_REASONS = (("spoiled", "Misprinted or damaged"), ("other", "Not printed (left over)"))
VOID_DEFAULT_TEXT = {"spoiled": "Tem in hỏng", "other": "Tem không in"}


def _void_form(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The range and reason as numbers, and the page errors (each next to its field)."""
    errors: dict[str, str] = {}
    first = as_int(form.get("seq_from"))
    last = as_int(form.get("seq_to")) if form.get("seq_to", "").strip() else first
    if not first:
        errors["seq_from"] = "Enter the first number (STT) printed on a spoiled label."
    if not last or (first and last < first):
        errors["seq_to"] = "Enter the last number, not smaller than the first."
    raw_code = form.get("reason_code", "")
    code = raw_code if raw_code in dict(VOID_REASONS) else "spoiled"
    note = form.get("note", "").strip()
    if len(note) > 2000:
        errors["note"] = "At most 2000 characters."
    reason = note if len(note) >= 3 else VOID_DEFAULT_TEXT[code]
    return {"seq_from": first, "seq_to": last, "reason_code": code, "reason": reason, "note": note}, errors


@bp.post("/<int:request_id>/void")
@producer_page(ProducerDuty.VOID_STAMPS)
def void(request_id: int) -> Any:
    """Step 1 shows how many stamps would be voided; step 2 (``confirm``) voids them."""
    req = stamp_requests.get_request(db(), me(), request_id)
    form = request.form.to_dict()
    values, errors = _void_form(form)
    if not errors and values["seq_to"] > req.issued_count:
        errors["seq_to"] = _("This request has stamps numbered 1 to %(n)s only.", n=req.issued_count)
    if errors or form.get("confirm") != "yes":
        count = 0 if errors else values["seq_to"] - values["seq_from"] + 1
        return page(
            "people/producer_void.html",
            422 if errors else 200,
            req=req,
            values=values,
            form=form,
            errors=errors,
            count=count,
            reasons=[(code, _(label)) for code, label in VOID_REASONS],
        )
    try:
        result = revocation.void_stamps(
            db(),
            me(),
            VoidIn.model_validate(
                {
                    "request_id": req.id,
                    "seq_from": values["seq_from"],
                    "seq_to": values["seq_to"],
                    "reason_code": ReasonCode(values["reason_code"]),
                    "reason": values["reason"],
                }
            ),
        )
    except (ValidationFailed, ValidationError):
        flash("These stamps could not be voided. Check the numbers.", "error")
        return redirect(url_for(".detail", request_id=req.id) + "#void")
    count = values["seq_to"] - values["seq_from"] + 1
    if result.changed:
        flash(_("%(n)s stamps were voided.", n=count), "success")
    else:
        flash("These stamps were already voided.", "success")
    return redirect(url_for(".detail", request_id=req.id) + "#void")


# --- print files: the API's downloads, with the session ----------------------------------------


def _attachment(chunks: Iterator[bytes], mimetype: str, filename: str) -> Response:
    response = Response(chunks, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _labels(download: print_files.Download) -> Iterator[LabelData]:
    rt = runtime()
    return print_files.iter_labels(rt.session_factory, download.labels, for_runtime(rt))


def _download(request_id: int, fmt: str) -> Response:
    base_url = runtime().settings.public_base_url
    try:
        if fmt == "pdf":
            preset = request.args.get("preset") if request.args.get("preset") in PRESETS else DEFAULT_PRESET
            layout = print_files.sheet_layout(preset, {})
            download = print_files.open_download(
                db(),
                me(),
                request_id,
                fmt="pdf",
                base_url=base_url,
                options={"preset": preset},
                fits=print_files.sheet_fits(layout),
                layout=layout,
            )
            chunks = render_pdf(_labels(download), layout, title=f"OCOP stamps, request {request_id}")
            return _attachment(chunks, "application/pdf", f"ocop-stamps-{request_id}.pdf")
        if fmt == "csv":
            download = print_files.open_download(db(), me(), request_id, fmt="csv", base_url=base_url)
            chunks = render_manifest(_labels(download), include_pin=download.labels.with_pin)
            return _attachment(chunks, "text/csv", f"ocop-stamps-{request_id}.csv")
        options = print_files.zpl_options()
        download = print_files.open_download(
            db(),
            me(),
            request_id,
            fmt="zpl",
            base_url=base_url,
            options={},
            fits=print_files.zpl_fits(options),
        )
        return _attachment(
            render_zpl(_labels(download), options), "text/plain", f"ocop-stamps-{request_id}.zpl"
        )
    except Conflict as exc:
        state = str(exc.extra.get("state", ""))
        flash(NOT_PRINTABLE.get(state, "The stamps are not ready to print yet."), "error")
    except RuleViolation:
        req = stamp_requests.get_request(db(), me(), request_id)
        stop = print_stop(req.product_id, req.lot_id)
        because = stop_message(stop) if stop is not None else ""
        flash(f"{because} {_('These stamps must not be printed.')}".strip(), "error")
    except ValidationFailed:
        flash(
            "This label size cannot hold these stamps (for example with a PIN). Choose another size.", "error"
        )
    return redirect(url_for(".detail", request_id=request_id))  # type: ignore[return-value]


@bp.get("/<int:request_id>/labels.pdf")
@signed_in(Role.PRODUCER)
def labels_pdf(request_id: int) -> Response:
    return _download(request_id, "pdf")


@bp.get("/<int:request_id>/labels.csv")
@signed_in(Role.PRODUCER)
def labels_csv(request_id: int) -> Response:
    return _download(request_id, "csv")


@bp.get("/<int:request_id>/labels.zpl")
@signed_in(Role.PRODUCER)
def labels_zpl(request_id: int) -> Response:
    return _download(request_id, "zpl")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
