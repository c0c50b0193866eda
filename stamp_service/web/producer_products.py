"""``/producer/products``: a producer's products with their stars now, how long the certificate
stays valid (a warning 90 and 30 days before it ends) and every certificate decision so far
(star changes and withdrawals, with their decision numbers). Read-only."""

from __future__ import annotations

from typing import Any

from flask import Flask

from stamp_service.domain.access import Role
from stamp_service.services import producer_view
from stamp_service.web.context import db
from stamp_service.web.people import people_blueprint, signed_in
from stamp_service.web.producer_common import me, page

bp = people_blueprint("producer_products", __name__, url_prefix="/producer/products")
STATUS_LABELS = {
    "valid": "Valid",
    "expired": "Expired",
    "withdrawn": "Withdrawn",
    "superseded": "Replaced by a later decision",
    "below_three": "Below 3 stars",
}


@bp.get("/")
@signed_in(Role.PRODUCER)
def index() -> Any:
    cards = producer_view.my_products(db(), me())
    return page("people/producer_products.html", cards=cards, statuses=STATUS_LABELS)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
