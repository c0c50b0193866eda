"""``/console/consumer-reports``: consumers' reports of suspected fakes; triage and close with a note.

Thin views over ``services.reports`` (province scope: a report concerns the province of its
stamp's producer or the province the consumer named). The path is not ``/console/reports``,
which is the monthly statistics (another page).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, redirect, request, url_for

from stamp_service.domain.access import Role
from stamp_service.errors import Conflict
from stamp_service.schemas.verification import ReportQuery
from stamp_service.services import reports
from stamp_service.web.auth import page_principal
from stamp_service.web.console_decision_form import Errors, page_context, text
from stamp_service.web.context import db
from stamp_service.web.people import page_number, people_blueprint, province_name, render, signed_in

bp = people_blueprint("console_consumer_reports", __name__, url_prefix="/console/consumer-reports")
bp.context_processor(page_context)
STATES = ("open", "closed")
PROBLEMS = {
    "fake_stamp": "The stamp looks fake",
    "fake_goods": "The goods look fake",
    "expired_sold": "Sold after the expiry date",
    "no_stamp": "Sold without a stamp",
    "recalled_sold": "Recalled goods still on sale",
    "other": "Something else",
}


@bp.get("/")
@signed_in(Role.ADMIN)
def index() -> Any:
    state = request.args.get("state")
    page = page_number()
    query = ReportQuery(state=state if state in STATES else None, page=page, per_page=50)  # type: ignore[arg-type]
    listing = reports.list_reports(db(), page_principal(), query)
    return render(
        "people/console_consumer_reports.html",
        listing=listing,
        state=query.state,
        states=STATES,
        problems=PROBLEMS,
    )


def _detail(report_id: int, status: int = 200, errors: Errors | None = None) -> Any:
    report = reports.get_report(db(), page_principal(), report_id)
    where = province_name(report.province_code) if report.province_code else None
    return render(
        "people/console_consumer_report.html",
        status,
        report=report,
        where=where,
        problems=PROBLEMS,
        errors=errors or {},
        form=request.form if request.method == "POST" else {},
    )


@bp.get("/<int:report_id>")
@signed_in(Role.ADMIN)
def detail(report_id: int) -> Any:
    return _detail(report_id)


@bp.post("/<int:report_id>/close")
@signed_in(Role.ADMIN)
def close(report_id: int) -> Any:
    reports.get_report(db(), page_principal(), report_id)  # NotFound outside the province first
    note = text(request.form.to_dict(), "note")
    if not 3 <= len(note) <= 2000:
        return _detail(report_id, 422, {"note": "Write what was done (3 to 2,000 characters)."})
    try:
        reports.close_report(db(), page_principal(), report_id, note)
    except Conflict:
        db().rollback()
        flash("This report was already closed.", "error")
        return redirect(url_for("console_consumer_reports.detail", report_id=report_id))
    flash("The report is closed.", "success")
    return redirect(url_for("console_consumer_reports.detail", report_id=report_id))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
