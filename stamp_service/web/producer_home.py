"""``/producer/``: a producer's home, with the counts of its own products and stamp requests."""

from __future__ import annotations

from typing import Any

from flask import Flask

from stamp_service.domain.access import Role
from stamp_service.services import console_home
from stamp_service.storage.models.registry import Producer
from stamp_service.web.auth import page_person
from stamp_service.web.context import db
from stamp_service.web.people import people_blueprint, render, signed_in

bp = people_blueprint("producer_home", __name__, url_prefix="/producer")


@bp.get("/")
@signed_in(Role.PRODUCER)
def home() -> Any:
    principal = page_person().principal
    counts = console_home.producer_counts(db(), principal)
    producer = db().get(Producer, principal.producer_id)
    return render("people/producer_home.html", counts=counts, producer=producer)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
