"""``/console/lots``: lots and origin records, read-only (list, and one lot with its trace events
and their documents). The services apply the province scope: another province's lot is a 404."""

from __future__ import annotations

from typing import Any

from flask import Flask, request

from stamp_service.domain.access import Role
from stamp_service.services import lot_directory, lots, products
from stamp_service.web.auth import page_principal
from stamp_service.web.console_forms import add_number_format
from stamp_service.web.context import db
from stamp_service.web.people import people_blueprint, render, signed_in

bp = people_blueprint("console_lots", __name__, url_prefix="/console/lots")
add_number_format(bp)
PER_PAGE = 25
EVENT_LABELS = {
    "sourcing": "Sourcing of raw materials",
    "processing": "Processing step",
    "testing": "Quality testing",
    "packing": "Packing step",
    "stamping": "Stamping step",
    "dispatch": "Dispatch to sale",
}


@bp.get("/")
@signed_in(Role.ADMIN)
def index() -> Any:
    q = request.args.get("q", "").strip()[:64].replace("\x00", "") or None
    listing = lot_directory.search_lots(
        db(), page_principal(), q=q, per_page=PER_PAGE, after=_lot_id("after"), before=_lot_id("before")
    )
    return render("people/console_lots.html", listing=listing, q=q or "")


def _lot_id(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


@bp.get("/<int:lot_id>")
@signed_in(Role.ADMIN)
def detail(lot_id: int) -> Any:
    lot = lots.read_lot(db(), page_principal(), lot_id)
    product = products.get_product(db(), page_principal(), lot.product_id)
    return render("people/console_lot.html", lot=lot, product=product, event_labels=EVENT_LABELS)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
