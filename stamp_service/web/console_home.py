"""``/console/``: the office's home, with counts of what needs attention (its province only)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from stamp_service.domain.access import Role
from stamp_service.services import console_home
from stamp_service.web import charts
from stamp_service.web.auth import page_principal
from stamp_service.web.context import db
from stamp_service.web.people import _, people_blueprint, render, signed_in

bp = people_blueprint("console_home", __name__, url_prefix="/console")


@bp.get("/")
@signed_in(Role.ADMIN)
def home() -> Any:
    principal = page_principal()
    attention = console_home.office_attention(db(), principal)
    month = console_home.month_activity(db(), principal)
    return render(
        "people/console_home.html",
        attention=attention,
        days=console_home.EXPIRY_NOTICE_DAYS,
        issued_chart=charts.daily_columns(
            _("Stamps issued per day"), _("Stamps issued"), month.stamps_issued
        ),
        scans_chart=charts.daily_columns(_("Scans per day"), _("Scans"), month.scans),
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
