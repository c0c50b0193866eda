"""``/console/producers``: the office's producer register (list, detail, create, edit).

Thin views: the form goes through the API's input models (``ProducerIn``/``ProducerPatch``) and one
service call (``services.registry``; the listing ``services.producer_directory``), which apply the
province scope: another province's producer is the 404 page.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, flash, redirect, request, url_for

from stamp_service.domain.access import Role
from stamp_service.errors import Conflict, ValidationFailed
from stamp_service.schemas.products import ProductQuery
from stamp_service.schemas.registry import LegalType, ProducerIn, ProducerPatch
from stamp_service.services import producer_directory, products, registry
from stamp_service.services.producer_directory import ProducerFilters
from stamp_service.web.auth import page_principal
from stamp_service.web.console_forms import add_number_format, cleaned, parse, service_errors
from stamp_service.web.context import db
from stamp_service.web.people import page_number, people_blueprint, render, signed_in

bp = people_blueprint("console_producers", __name__, url_prefix="/console/producers")
add_number_format(bp)
PER_PAGE = 25
LEGAL_TYPES = (
    ("enterprise", "Enterprise (DN)"),
    ("cooperative", "Cooperative (HTX)"),
    ("cooperative_group", "Cooperative group (THT)"),
    ("household", "Household business"),
)
CREATE_FIELDS = (
    "name",
    "legal_type",
    "registration_number",
    "representative",
    "commune_code",
    "street",
    "legacy_district",
    "phone",
    "email",
    "gs1_company_prefix",
)
EDIT_FIELDS = ("representative", "phone", "email", "gs1_company_prefix")
HINTS = {
    "name": "Enter the name, 2 to 300 characters.",
    "legal_type": "Choose the legal type.",
    "registration_number": "Enter the registration number: 4 to 32 letters, digits, dots, dashes or slashes "
    "(required except for a cooperative group).",
    "representative": "At most 200 characters.",
    "commune_code": "Choose a commune of your province from the list.",
    "street": "At most 300 characters.",
    "legacy_district": "At most 200 characters.",
    "phone": "Enter a phone number of 6 to 20 digits.",
    "email": "Enter an email address such as name@example.vn.",
    "gs1_company_prefix": "A GS1 Vietnam company prefix starts with 893 and has 7 to 12 digits.",
}


def _filters() -> ProducerFilters:
    args = request.args
    stars = args.get("stars", "")
    legal = args.get("legal_type", "")
    commune = args.get("commune", "")
    return ProducerFilters(
        q=args.get("q", "").strip()[:100].replace("\x00", "") or None,
        commune_code=commune if commune.isdigit() and len(commune) <= 8 else None,
        legal_type=legal if legal in {t.value for t in LegalType} else None,
        stars=int(stars) if stars in ("3", "4", "5") else None,
        page=page_number(),
        per_page=PER_PAGE,
    )


@bp.get("/")
@signed_in(Role.ADMIN)
def index() -> Any:
    filters = _filters()
    listing = producer_directory.search_producers(db(), page_principal(), filters)
    return render(
        "people/console_producers.html",
        listing=listing,
        filters=filters,
        legal_types=LEGAL_TYPES,
        communes=producer_directory.commune_groups(db(), page_principal()),
    )


@bp.route("/new", methods=["GET", "POST"])
@signed_in(Role.ADMIN)
def new() -> Any:
    form = cleaned(CREATE_FIELDS) if request.method == "POST" else {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data, errors = parse(ProducerIn, form, HINTS)
        if data is not None:
            try:
                producer = registry.create_producer(db(), page_principal(), data)
            except ValidationFailed as exc:
                errors = service_errors(exc, HINTS)
            except Conflict:
                errors = {"registration_number": "A producer with this registration number exists."}
            else:
                flash("The producer is registered.", "success")
                return redirect(url_for("console_producers.detail", producer_id=producer.id))
    return render(
        "people/console_producer_form.html",
        422 if errors else 200,
        form=form,
        errors=errors,
        producer=None,
        legal_types=LEGAL_TYPES,
        communes=producer_directory.commune_groups(db(), page_principal()),
    )


@bp.get("/<int:producer_id>")
@signed_in(Role.ADMIN)
def detail(producer_id: int) -> Any:
    producer = registry.get_producer(db(), page_principal(), producer_id)
    listing = products.list_products(
        db(), page_principal(), ProductQuery(producer_id=producer.id, per_page=200)
    )
    return render(
        "people/console_producer.html",
        producer=producer,
        products=listing,
        legal_types=dict(LEGAL_TYPES),
    )


@bp.route("/<int:producer_id>/edit", methods=["GET", "POST"])
@signed_in(Role.ADMIN)
def edit(producer_id: int) -> Any:
    producer = registry.get_producer(db(), page_principal(), producer_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = cleaned(EDIT_FIELDS)
        # An emptied field clears the value: give every field, None where empty.
        data, errors = parse(ProducerPatch, form, HINTS)
        if data is not None:
            patch = ProducerPatch.model_validate_json(json.dumps({k: (v or None) for k, v in form.items()}))
            registry.update_producer(db(), page_principal(), producer.id, patch)
            flash("The changes are saved.", "success")
            return redirect(url_for("console_producers.detail", producer_id=producer.id))
    else:
        form = {name: getattr(producer, name) or "" for name in EDIT_FIELDS}
    return render(
        "people/console_producer_form.html",
        422 if errors else 200,
        form=form,
        errors=errors,
        producer=producer,
        legal_types=LEGAL_TYPES,
        communes=[],
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
