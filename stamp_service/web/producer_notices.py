"""``/producer/notices``: the producer's notices, newest first, and the count of new ones in the
producer pages' header. Opening the page marks its notices seen for this account (see
``services.producer_notices``); each notice links to the request, product or lot it is about,
whose own page applies the access check (another producer's record is a 404)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, request
from sqlalchemy.exc import SQLAlchemyError

from stamp_service.domain.access import Role
from stamp_service.errors import ServiceError
from stamp_service.services import producer_notices
from stamp_service.services.producer_notices import ProducerNotice
from stamp_service.web.context import db
from stamp_service.web.i18n import format_day, format_number, translations
from stamp_service.web.people import lang, people_blueprint, person, signed_in
from stamp_service.web.producer_common import me, page

bp = people_blueprint("producer_notices", __name__, url_prefix="/producer/notices")


@dataclass(frozen=True)
class Shown:
    notice: ProducerNotice
    sentence: str
    new: bool


@bp.get("/")
@signed_in(Role.PRODUCER)
def index() -> Any:
    inbox = producer_notices.open_inbox(db(), me())
    current = lang()
    gettext = translations(current).gettext
    shown = [
        Shown(
            n,
            producer_notices.wording(
                n, gettext, lambda d: format_day(d, current), lambda v: format_number(v, current)
            ),
            inbox.is_new(n),
        )
        for n in inbox.notices
    ]
    return page(
        "people/producer_notices.html",
        shown=shown,
        new=sum(s.new for s in shown),
        links=producer_notices.LINK_LABELS,
        limit=producer_notices.PAGE_LIMIT,
    )


def _header_count() -> dict[str, Any]:
    """``notices_new`` for the header of a producer's pages (and its account pages): the notices
    that appeared since this account last opened the notices page."""
    if not request.path.startswith(("/producer", "/account")):
        return {}
    who = person()
    if who is None or who.principal.role is not Role.PRODUCER:
        return {}
    if request.endpoint == "producer_notices.index":
        return {"notices_new": 0}  # the page itself has just marked every notice read
    try:
        return {"notices_new": producer_notices.new_count(db(), who.principal)}
    except (ServiceError, SQLAlchemyError):  # an error page must render even then
        return {}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(_header_count)
