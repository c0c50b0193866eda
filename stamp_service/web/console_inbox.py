"""``/console/inbox``: what waits for the office, and the counts in the console header.

The counts are ``services.console_home.office_attention`` (one definition for the home, the header
and the inbox), within the account's province; the inbox also lists the certificates that expire
within 90 days (their product pages are here). Email notices: ``services.notifications``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from sqlalchemy.exc import SQLAlchemyError

from stamp_service.domain.access import Role
from stamp_service.errors import ServiceError
from stamp_service.services import console_home, notifications
from stamp_service.web.auth import page_person
from stamp_service.web.console_forms import add_number_format
from stamp_service.web.context import db
from stamp_service.web.people import people_blueprint, person, render, signed_in

bp = people_blueprint("console_inbox", __name__, url_prefix="/console/inbox")
add_number_format(bp)


@bp.get("/")
@signed_in(Role.ADMIN)
def index() -> Any:
    principal = page_person().principal
    return render(
        "people/console_inbox.html",
        attention=console_home.office_attention(db(), principal),
        expiring=notifications.expiring_certificates(db(), principal),
        days=console_home.EXPIRY_NOTICE_DAYS,
    )


def _inbox_count() -> dict[str, Any]:
    """``inbox_count`` for the console header: everything waiting, for an office account."""
    if not request.path.startswith("/console"):
        return {}
    who = person()
    if who is None or who.principal.role is not Role.ADMIN:
        return {}
    try:
        waiting = console_home.office_attention(db(), who.principal)
    except (ServiceError, SQLAlchemyError):  # an error page must render even then
        return {}
    total = (
        waiting.requests_waiting + waiting.certificates_expiring + waiting.reports_open + waiting.findings_new
    )
    return {"inbox_count": total}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(_inbox_count)
