"""``/console/products``: a product's page (facts, stars history), a new product, a council
decision (``services.certificates.create_certificate``) and the product image (``uploads`` checks).

Thin views over the registry services, which apply the province scope (another province's product
is the 404 page) and who certifies what (a provincial office cannot record a 5-star decision).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, redirect, request, url_for
from sqlalchemy import select

from stamp_service.domain.access import Role
from stamp_service.domain.certification import local_today
from stamp_service.errors import (
    Conflict,
    Forbidden,
    PayloadTooLarge,
    RuleViolation,
    UnsupportedMediaType,
    ValidationFailed,
)
from stamp_service.schemas.certificates import CertificateIn, CertificateQuery, CriteriaVersion
from stamp_service.schemas.lots import LotQuery
from stamp_service.schemas.products import ProductIn
from stamp_service.services import certificates, lots, products, registry
from stamp_service.storage.models.reference import ProductGroup
from stamp_service.web.auth import page_principal
from stamp_service.web.console_forms import add_number_format, cleaned, parse, service_errors
from stamp_service.web.context import db
from stamp_service.web.people import lang, people_blueprint, render, signed_in

bp = people_blueprint("console_products", __name__, url_prefix="/console/products")
add_number_format(bp)
PRODUCT_FIELDS = ("name", "short_name", "group_code", "brand", "description")
DECISION_FIELDS = (
    "stars",
    "score",
    "criteria_version",
    "authority_name",
    "authority_level",
    "decision_number",
    "signed_on",
    "valid_until",
)
AUTHORITY_LEVELS = (
    ("province", "Province level"),
    ("central", "Central level"),
    ("district", "District level (before 1/7/2025)"),
)
STATUS_LABELS = {
    "valid": "Certificate valid",
    "expired": "Certificate expired",
    "withdrawn": "Stars withdrawn",
    "superseded": "Replaced by a later decision",
    "below_three": "Reduced below 3 stars",
}
PRODUCT_HINTS = {
    "name": "Enter the name, 2 to 300 characters.",
    "short_name": "Enter a short name for labels, 2 to 40 characters.",
    "group_code": "Choose the product group.",
    "brand": "At most 200 characters.",
    "description": "At most 5000 characters.",
}
DECISION_HINTS = {
    "stars": "Choose 3, 4 or 5 stars.",
    "score": "Enter the score, 0 to 100.",
    "criteria_version": "Choose the criteria decision.",
    "authority_name": "Enter the authority that signed, 2 to 300 characters.",
    "authority_level": "Choose the authority's level.",
    "decision_number": "Enter the decision number such as 1234/QĐ-UBND.",
    "signed_on": "Enter the signing date (not in the future).",
    "valid_until": "Enter a date after the signing date, or leave empty for 36 months.",
}
# Rules across fields of the decision form (CertificateIn's model validator), by the field they are about.
DECISION_RULES = {"valid_until": "The validity must end after the signing date."}
RULE_FIELDS = {
    "score-star-band": ("score", "The score does not give these stars under the chosen criteria."),
    "certifying-authority-level": (
        "authority_level",
        "This authority level may not certify these stars on this date.",
    ),
    "criteria-version-in-force": (
        "criteria_version",
        "These criteria were not in force on the signing date.",
    ),
}
IMAGE_HINT = "Choose a JPEG, PNG or WebP photo of at most 100 KB."


def _group_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Product groups under their category (the reference list), named in the page's language."""
    rows = db().scalars(select(ProductGroup).order_by(ProductGroup.code)).all()
    name = (lambda g: g.name_en) if lang() == "en" else (lambda g: g.name_vi)
    categories = [(g.code, name(g)) for g in rows if g.level == "category"]
    groups = [g for g in rows if g.level == "group"]
    return [
        (label, [(g.code, name(g)) for g in groups if g.parent_code == code]) for code, label in categories
    ]


@bp.route("/new/<int:producer_id>", methods=["GET", "POST"])
@signed_in(Role.ADMIN)
def new(producer_id: int) -> Any:
    producer = registry.get_producer(db(), page_principal(), producer_id)
    form = cleaned(PRODUCT_FIELDS) if request.method == "POST" else {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data, errors = parse(ProductIn, {**form, "producer_id": producer.id}, PRODUCT_HINTS, ("producer_id",))
        if data is not None:
            try:
                product = products.create_product(db(), page_principal(), data)
            except ValidationFailed as exc:
                errors = service_errors(exc, PRODUCT_HINTS)
            else:
                flash("The product is registered.", "success")
                return redirect(url_for("console_products.detail", product_id=product.id))
    return render(
        "people/console_product_form.html",
        422 if errors else 200,
        producer=producer,
        form=form,
        errors=errors,
        groups=_group_choices(),
    )


def _detail(product_id: int, *, form: dict[str, str], errors: dict[str, str], status: int = 200) -> Any:
    me = page_principal()
    product = products.read_product(db(), me, product_id)
    producer = registry.get_producer(db(), me, product.producer_id)
    history = certificates.list_certificates(db(), me, CertificateQuery(product_id=product.id, per_page=200))
    product_lots = lots.list_lots(db(), me, LotQuery(product_id=product.id, per_page=50))
    group = db().get(ProductGroup, product.group_code)
    return render(
        "people/console_product.html",
        status,
        product=product,
        producer=producer,
        group_name=(group.name_en if lang() == "en" else group.name_vi) if group else product.group_code,
        history=sorted(history.items, key=lambda c: (c.signed_on, c.id), reverse=True),
        lots=product_lots,
        form=form,
        errors=errors,
        criteria=[c.value for c in CriteriaVersion],
        levels=AUTHORITY_LEVELS,
        status_labels=STATUS_LABELS,
        today=local_today(),
    )


@bp.get("/<int:product_id>")
@signed_in(Role.ADMIN)
def detail(product_id: int) -> Any:
    return _detail(product_id, form={}, errors={})


@bp.post("/<int:product_id>/certificates")
@signed_in(Role.ADMIN)
def record_decision(product_id: int) -> Any:
    products.get_product(db(), page_principal(), product_id)  # 404 outside the scope, before any parsing
    form = cleaned(DECISION_FIELDS)
    payload: dict[str, Any] = {**form, "product_id": product_id}
    current = certificates.current_certificate(db(), product_id)
    if current is not None and current.state == "active":
        payload["supersedes_id"] = current.id  # a new decision replaces the one in force
    data, errors = parse(
        CertificateIn,
        payload,
        DECISION_HINTS,
        ("product_id", "stars", "score", "supersedes_id"),
        DECISION_RULES,
    )
    if data is not None:
        try:
            certificates.create_certificate(db(), page_principal(), data)
        except ValidationFailed as exc:
            errors = service_errors(exc, DECISION_HINTS)
        except (RuleViolation, Forbidden) as exc:
            field, message = RULE_FIELDS.get(
                str(exc.extra.get("rule")), ("stars", "This decision cannot be recorded.")
            )
            errors = {field: message}
        except Conflict:
            errors = {"stars": "The product's certificate changed meanwhile; reload the page."}
        else:
            flash("The decision is recorded.", "success")
            return redirect(url_for("console_products.detail", product_id=product_id))
    return _detail(product_id, form=form, errors=errors, status=422)


@bp.post("/<int:product_id>/image")
@signed_in(Role.ADMIN)
def upload_image(product_id: int) -> Any:
    products.get_product(db(), page_principal(), product_id)
    upload = request.files.get("image")
    errors: dict[str, str] = {}
    if upload is None or not upload.filename:
        errors["image"] = IMAGE_HINT
    else:
        try:
            products.set_product_image(
                db(),
                page_principal(),
                product_id,
                media_type=upload.mimetype or "",
                data=upload.read(200 * 1024),
            )
        except (ValidationFailed, UnsupportedMediaType, PayloadTooLarge):
            errors["image"] = IMAGE_HINT
        else:
            flash("The photo is saved.", "success")
            return redirect(url_for("console_products.detail", product_id=product_id))
    return _detail(product_id, form={}, errors=errors, status=422)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
