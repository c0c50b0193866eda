"""``/producer/scans``: scans of my products per day and per province (the people pages' SVG
chart, no script), where the stamps were first scanned (the same chart, as ranked bars), clone alerts with the
rule that fired, and consumers' reports. Read-only."""

from __future__ import annotations

from typing import Any

from flask import Flask

from stamp_service.domain.access import Role
from stamp_service.services import producer_scans
from stamp_service.services.verify_config import VerifyConfig
from stamp_service.web import charts
from stamp_service.web.context import db, runtime
from stamp_service.web.people import _, people_blueprint, province_name, signed_in
from stamp_service.web.producer_common import me, page

bp = people_blueprint("producer_scans", __name__, url_prefix="/producer/scans")
REASONS = {
    "scans": "Scanned very many times",
    "places": "Scanned by many people in many provinces",
    "span": "Scanned over too long a time",
}
PROBLEMS = {
    "fake_stamp": "The stamp looks fake",
    "fake_goods": "The goods look fake",
    "expired_sold": "Sold after its expiry date",
    "no_stamp": "Sold without a stamp",
    "recalled_sold": "Sold although recalled",
    "other": "Other problem",
}


def _limits() -> Any:
    rt = runtime()
    return rt.services.setdefault("verify_config", VerifyConfig.load(rt.settings)).clone


@bp.get("/")
@signed_in(Role.PRODUCER)
def index() -> Any:
    data = producer_scans.overview(db(), me(), _limits())
    return page(
        "people/producer_scans.html",
        data=data,
        scans_chart=charts.daily_columns(_("Scans per day, last 30 days"), _("Scans"), data.per_day),
        total=sum(n for _, n in data.per_day),
        province_chart=charts.bars(
            _("Scans per province"),
            (_("Province"), _("Scans")),
            [(province_name(code) if code else _("Not shared"), n) for code, n in data.per_province],
        ),
        first_chart=charts.bars(
            _("Where my stamps were first scanned"),
            (_("Province"), _("Stamps")),
            [(province_name(code) if code else _("Not shared"), n) for code, n in data.first_places],
        ),
        reasons=REASONS,
        problems=PROBLEMS,
        province_label=lambda code: province_name(code) if code else "—",
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
