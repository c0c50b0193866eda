"""``/producer/lots``: a producer records its lots and their origin records from a phone.

Thin views over ``services.lots`` (create, read; another producer's lot is a 404) and
``services.trace_documents`` (an event with its checked, stored photos and documents). Trace
events are never edited: a correction is a new event naming the record it corrects.
Uploads may be larger than the API's body limit (a phone photo): this blueprint raises the limit
for its own requests to ``UPLOAD_BODY_BYTES``; anything larger is answered with the event form
and the message next to the file field (status 413), never a bare error.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, redirect, request, url_for
from pydantic import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from stamp_service.domain.access import Role
from stamp_service.errors import Conflict, NotFound, RuleViolation, ValidationFailed
from stamp_service.schemas.lots import EventType, LotIn, LotQuery, TraceEventIn
from stamp_service.schemas.products import ProductQuery
from stamp_service.services import lots, products, reference, trace_documents
from stamp_service.services.trace_documents import FILE_TOO_LARGE, Upload
from stamp_service.storage.models.registry import Producer
from stamp_service.web import producer_lot_inputs as lot_inputs
from stamp_service.web.context import db
from stamp_service.web.people import _, people_blueprint, signed_in
from stamp_service.web.producer_common import (
    as_day,
    as_int,
    as_local_moment,
    as_quantity,
    me,
    page,
    print_stop,
    pydantic_errors,
    quantity_error,
    stop_message,
)
from stamp_service.web.signin_pages import field_errors

bp = people_blueprint("producer_lots", __name__, url_prefix="/producer/lots")
# The schema's own ceiling (10.000.000), named in the message of a larger typed quantity.
MAX_LOT_QUANTITY: int = next(m.le for m in LotIn.model_fields["quantity"].metadata if hasattr(m, "le"))
UPLOAD_BODY_BYTES = 12 * 1024 * 1024  # five files' worth is refused per file by the service
EVENT_TYPES = (
    ("sourcing", "Raw materials bought or harvested"),
    ("processing", "Processing"),
    ("testing", "Testing"),
    ("packing", "Packing"),
    ("stamping", "Stamping"),
    ("dispatch", "Dispatch to a shop"),
)
LOT_MESSAGES = {
    "product_id": "Choose the product.",
    "lot_code": "Use 1 to 20 letters, digits, dots, dashes or slashes, without spaces.",
    "production_date": "Enter the production date (not in the future).",
    "expiry_date": "The expiry date must not be before the production date.",
    "quantity": "Enter a whole number above 0.",  # quantity_error() words it for what was typed
    "unit": "Enter the unit, for example box or kg.",
    "place": "At most 300 characters.",
}
EVENT_MESSAGES = {
    "event_type": "Choose what happened.",
    "occurred_at": "Enter when it happened (not in the future).",
    "place": "At most 300 characters.",
    "actor": "At most 300 characters.",
    "note": "At most 2000 characters.",
    "corrects_seq": "Choose an earlier record.",
}


def _raise_upload_limit() -> None:
    """Let this blueprint's forms carry phone photos (before the CSRF check reads the body)."""
    request.max_content_length = UPLOAD_BODY_BYTES


bp.before_request_funcs.setdefault(None, []).insert(0, _raise_upload_limit)


def _product_choices() -> list[tuple[str, str]]:
    listing = products.list_products(db(), me(), ProductQuery(per_page=200))
    return [(str(p.id), p.name) for p in listing.items]


@bp.get("/")
@signed_in(Role.PRODUCER)
def index() -> Any:
    listing = lots.list_lots(db(), me(), LotQuery(per_page=200))
    names = dict(_product_choices())
    return page("people/producer_lots.html", listing=listing, names=names)


@bp.route("/new", methods=["GET", "POST"])
@signed_in(Role.PRODUCER)
def new() -> Any:
    choices = _product_choices()
    form = request.form.to_dict() if request.method == "POST" else {}
    action = form.pop("action", None)  # "add_input" / "refresh": re-render, nothing saved
    count = lot_inputs.row_count(form, add=action == "add_input")
    errors: dict[str, str] = {}
    if request.method == "POST" and action is None:
        production = as_day(form.get("production_date"))
        expiry = as_day(form.get("expiry_date"))
        input_lots, origin, errors = lot_inputs.parse(db(), form, count, production)
        quantity_problem = quantity_error(form.get("quantity"), MAX_LOT_QUANTITY)
        if production and expiry and expiry < production:  # with the other field errors, not after them
            errors["expiry_date"] = LOT_MESSAGES["expiry_date"]
        try:
            data = LotIn.model_validate(
                {
                    "product_id": as_int(form.get("product_id")) or 0,
                    "lot_code": form.get("lot_code", "").strip(),
                    "production_date": production,
                    "expiry_date": expiry,
                    "quantity": as_quantity(form.get("quantity"), MAX_LOT_QUANTITY),
                    "unit": form.get("unit", "").strip() or "unit",
                    "place": form.get("place", "").strip() or None,
                    "input_lots": input_lots,
                }
            )
            if not errors:
                lot = lots.create_lot(db(), me(), data)
        except ValidationError as exc:
            errors |= pydantic_errors(exc, LOT_MESSAGES, "Check this value.")
            if "form" in errors:  # the expiry-before-production rule is a model check
                errors["expiry_date"] = LOT_MESSAGES["expiry_date"]
                del errors["form"]
        except ValidationFailed as exc:
            found = field_errors(exc)
            errors |= lot_inputs.service_errors(found, origin)
            errors |= {k: LOT_MESSAGES.get(k, v) for k, v in found.items() if not k.startswith("input_lots")}
            errors = errors or {"form": "Check this value."}
        except NotFound:
            errors["product_id"] = LOT_MESSAGES["product_id"]
        except Conflict:
            errors["lot_code"] = "This product already has a lot with this code."
        if quantity_problem:
            errors["quantity"] = quantity_problem
        if not errors:
            flash("The lot was recorded.", "success")
            return redirect(url_for(".detail", lot_id=lot.id))
    provinces = reference.current_provinces(db())
    return page(
        "people/producer_lot_new.html",
        422 if errors else 200,
        form=form,
        errors=errors,
        products=choices,
        provinces=provinces,
        input_rows=lot_inputs.rows(db(), form, count, _own_province(), provinces),
        max_rows=lot_inputs.MAX_ROWS,
    )


def _own_province() -> str:
    producer = db().get(Producer, me().producer_id or 0)
    return producer.province_code if producer is not None else ""


def _detail(lot_id: int, errors: dict[str, str], form: dict[str, str], status: int) -> Any:
    lot = lots.read_lot(db(), me(), lot_id)
    names = dict(_product_choices())
    stop = print_stop(lot.product_id, lot.id)
    return page(
        "people/producer_lot.html",
        status,
        lot=lot,
        stop=stop,
        stop_text=stop_message(stop) if stop is not None else "",
        product_name=names.get(str(lot.product_id), ""),
        inputs=lot.input_lots,
        areas=reference.area_names(db(), [str(i.get("commune_code")) for i in lot.input_lots]),
        errors=errors,
        form=form,
        event_options=[(value, _(label)) for value, label in EVENT_TYPES],
        correct_options=[(str(e.seq), f"#{e.seq}") for e in lot.events],
        event_names=dict(EVENT_TYPES),
    )


@bp.get("/<int:lot_id>")
@signed_in(Role.PRODUCER)
def detail(lot_id: int) -> Any:
    return _detail(lot_id, {}, {}, 200)


def _event_type(raw: str | None) -> EventType | str:
    try:
        return EventType(raw or "")
    except ValueError:
        return ""


def _uploads() -> list[Upload]:
    return [
        Upload(name=f.filename or "", media_type=f.mimetype or "", data=f.read())
        for f in request.files.getlist("files")
        if f.filename
    ]


@bp.post("/<int:lot_id>/events")
@signed_in(Role.PRODUCER)
def add_event(lot_id: int) -> Any:
    form = request.form.to_dict()
    errors: dict[str, str] = {}
    try:
        data = TraceEventIn.model_validate(
            {
                "event_type": _event_type(form.get("event_type")),
                "occurred_at": as_local_moment(form.get("occurred_at")),
                "place": form.get("place", "").strip() or None,
                "actor": form.get("actor", "").strip() or None,
                "note": form.get("note", "").strip() or None,
                "corrects_seq": as_int(form.get("corrects_seq")),
            }
        )
        trace_documents.record_event(db(), me(), lot_id, data, _uploads())
    except ValidationError as exc:
        errors = pydantic_errors(exc, EVENT_MESSAGES, "Check this value.")
    except ValidationFailed as exc:
        errors = {k: EVENT_MESSAGES.get(k, v) for k, v in field_errors(exc).items()}
    except RuleViolation as exc:
        errors = {"form": str(exc)}
    else:
        flash("The record was added.", "success")
        return redirect(url_for(".detail", lot_id=lot_id) + "#records")
    return _detail(lot_id, errors, form, 422)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_exc: RequestEntityTooLarge) -> Any:
    """A body over the limit: the lot page with the message at the file field (the form is lost)."""
    lot_id = (request.view_args or {}).get("lot_id")
    if lot_id is None:
        return page("people/error.html", 413, title=_("Photos or documents"), detail=_(FILE_TOO_LARGE))
    return _detail(lot_id, {"files": FILE_TOO_LARGE}, {}, 413)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
