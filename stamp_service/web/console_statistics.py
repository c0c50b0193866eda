"""``/console/statistics/``: the monthly report on screen, and as CSV or XLSX (openpyxl) to download.

Thin: the month and level from the query string, one call to ``services.monthly_reports``, then a
page or a file. Column titles follow the page's language.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from flask import Flask, Response, request
from openpyxl import Workbook

from stamp_service.domain.access import Role
from stamp_service.domain.certification import local_today
from stamp_service.services import monthly_reports
from stamp_service.services.monthly_reports import COLUMNS, MonthlyReport
from stamp_service.web import charts
from stamp_service.web.auth import page_principal
from stamp_service.web.console_forms import add_number_format
from stamp_service.web.context import db
from stamp_service.web.people import _, people_blueprint, render, signed_in

bp = people_blueprint("console_statistics", __name__, url_prefix="/console/statistics")
add_number_format(bp)
MONTH = re.compile(r"^(20[0-9]{2})-(0[1-9]|1[0-2])$")
TITLES = {
    "stars3": "Products with 3 stars",
    "stars4": "Products with 4 stars",
    "stars5": "Products with 5 stars",
    "stamps_issued": "Stamps issued",
    "scans": "Scans",
    "revocations": "Revocations",
}
CHARTED = ("stamps_issued", "scans", "revocations")  # by area; the products by stars as totals
MOST_AREAS = 12  # a chart shows the areas with the most; the table has them all
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _month() -> tuple[int, int, str | None]:
    raw = request.args.get("month", "")
    found = MONTH.fullmatch(raw)
    if found:
        return int(found.group(1)), int(found.group(2)), None
    today = local_today()
    return today.year, today.month, ("Choose a month such as 2025-09." if raw else None)


def _table(report: MonthlyReport) -> list[list[Any]]:
    area = _("Commune") if report.level == "commune" else _("Province")
    header: list[Any] = [area, *(_(TITLES[c]) for c in COLUMNS)]
    body = [[r.area_name, *(getattr(r, c) for c in COLUMNS)] for r in report.rows]
    return [header, *body, [_("Total"), *report.totals.values()]]


def _charts(report: MonthlyReport) -> list[charts.Chart]:
    """The report's measures as bar charts: products by stars, then each count by area (most first)."""
    area = _("Commune") if report.level == "commune" else _("Province")
    totals = report.totals
    stars = [(_("%(n)d stars", n=n), totals[f"stars{n}"]) for n in (3, 4, 5)]
    drawn = [charts.bars(_("Products by stars"), (_("Stars"), _("Products")), stars)]
    for column in CHARTED:
        ranked = sorted(
            ((r.area_name, getattr(r, column)) for r in report.rows if getattr(r, column)),
            key=lambda p: (-p[1], p[0]),
        )
        title = _("%(measure)s by area", measure=_(TITLES[column]))
        if len(ranked) > MOST_AREAS:
            title = _("%(measure)s: the %(n)d areas with the most", measure=_(TITLES[column]), n=MOST_AREAS)
        drawn.append(charts.bars(title, (area, _(TITLES[column])), ranked[:MOST_AREAS]))
    return drawn


@bp.get("/")
@signed_in(Role.ADMIN)
def index() -> Any:
    year, month, error = _month()
    level = request.args.get("level", "province")
    report = monthly_reports.monthly_report(
        db(),
        page_principal(),
        year=year,
        month=month,
        level=level if level in monthly_reports.LEVELS else "province",
    )
    fmt = request.args.get("format")
    name = f"ocop-{year}-{month:02d}-{report.level}"
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out).writerows(_table(report))
        return Response(
            "\ufeff" + out.getvalue(),  # the BOM lets spreadsheet programs read the Vietnamese as UTF-8
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if fmt == "xlsx":
        book = Workbook(write_only=True)
        sheet = book.create_sheet(f"{year}-{month:02d}")
        for row in _table(report):
            sheet.append(row)
        data = io.BytesIO()
        book.save(data)
        return Response(
            data.getvalue(),
            mimetype=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return render(
        "people/console_statistics.html",
        422 if error else 200,
        report=report,
        month_value=f"{year}-{month:02d}",
        error=error,
        titles=TITLES,
        columns=COLUMNS,
        charts=_charts(report),
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
