"""Consumer reports of suspected fakes: submitted anonymously, listed and closed by the office.

Submissions are public (rate-limited by the web layer, like every public form)
and not audited: they are the consumers' own record, kept in their table.
Closing is an office decision and is audited.

Province scope: a report concerns the province of its stamp's producer and the province the
consumer named (where it was bought); a provincial office sees and closes the reports that
concern its province, a central account all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, exists, or_, select
from sqlalchemy.orm import Session

from stamp_service.domain import serials
from stamp_service.domain.access import Principal, Role, province_scope, require_role
from stamp_service.errors import Conflict, NotFound, ValidationFailed
from stamp_service.schemas.common import Page
from stamp_service.schemas.verification import ReportOut, ReportProblem, ReportQuery
from stamp_service.services import audit
from stamp_service.services.lookup import by_id
from stamp_service.services.pagination import paginate
from stamp_service.storage.models.base import utcnow
from stamp_service.storage.models.reference import AdministrativeUnit
from stamp_service.storage.models.registry import Producer, Product
from stamp_service.storage.models.scans import ConsumerReport
from stamp_service.storage.models.stamps import Stamp

LIMITS = {"details": 2000, "shop_name": 200, "place": 300, "contact": 200}


@dataclass(frozen=True)
class ReportForm:
    problem: str
    details: str | None = None
    shop_name: str | None = None
    place: str | None = None
    province_code: str | None = None
    contact: str | None = None


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def submit_report(
    session: Session, form: ReportForm, *, client: bytes, serial: int | None, verdict: str | None
) -> ConsumerReport:
    """Store a report; raises ValidationFailed for an unknown problem, a bad province or too long text."""
    errors = []
    if form.problem not in {p.value for p in ReportProblem}:
        errors.append({"field": "problem", "message": "choose what is wrong"})
    values = {k: _clean(getattr(form, k)) for k in LIMITS}
    for name, limit in LIMITS.items():
        text = values[name]
        if text is not None and (len(text) > limit or "\x00" in text):
            errors.append({"field": name, "message": f"at most {limit} characters"})
    province = _clean(form.province_code)
    if province is not None:
        unit = session.get(AdministrativeUnit, province)
        if unit is None or unit.level != "province":
            errors.append({"field": "province_code", "message": "unknown province"})
    if errors:
        raise ValidationFailed(errors)
    report = ConsumerReport(
        serial=serials.to_db(serial) if serial else None,
        verdict=verdict,
        problem=form.problem,
        province_code=province,
        client_hash=client,
        state="open",
        **values,
    )
    session.add(report)
    session.commit()
    return report


def _out(report: ConsumerReport) -> ReportOut:
    data = {c: getattr(report, c) for c in ReportOut.model_fields if c != "serial"}
    serial = serials.format_serial(serials.from_db(report.serial)) if report.serial is not None else None
    return ReportOut(serial=serial, **data)


def _concerns(province: str) -> ColumnElement[bool]:
    """SQL: the report concerns ``province`` (the stamp's producer is there, or the consumer named it)."""
    stamp_there = exists().where(
        Stamp.serial == ConsumerReport.serial,
        Product.id == Stamp.product_id,
        Producer.id == Product.producer_id,
        Producer.province_code == province,
    )
    return or_(ConsumerReport.province_code == province, stamp_there)


def list_reports(session: Session, actor: Principal, query: ReportQuery) -> Page[ReportOut]:
    """Office and inspectors (who follow reports up in the field) read every report."""
    require_role(actor, Role.ADMIN, Role.INSPECTOR)
    stmt: Select[tuple[ConsumerReport]] = select(ConsumerReport)
    province = province_scope(actor)
    if province is not None:
        stmt = stmt.where(_concerns(province))
    if query.state:
        stmt = stmt.where(ConsumerReport.state == query.state)
    stmt = stmt.order_by(ConsumerReport.created_at.desc(), ConsumerReport.id.desc())
    return paginate(session, stmt, query.page, query.per_page, _out)


def _report(session: Session, actor: Principal, report_id: int) -> ConsumerReport:
    """The report, NotFound when unknown or not concerning the caller's province."""
    report = by_id(session, ConsumerReport, report_id)
    province = province_scope(actor)
    if report is None or (
        province is not None
        and session.scalar(
            select(ConsumerReport.id).where(ConsumerReport.id == report.id, _concerns(province))
        )
        is None
    ):
        raise NotFound("no such report")
    return report


def get_report(session: Session, actor: Principal, report_id: int) -> ReportOut:
    """One report (the office's triage page), within the caller's province."""
    require_role(actor, Role.ADMIN, Role.INSPECTOR)
    return _out(_report(session, actor, report_id))


def close_report(session: Session, actor: Principal, report_id: int, note: str) -> ReportOut:
    require_role(actor, Role.ADMIN)
    report = _report(session, actor, report_id)
    if report.state == "closed":
        raise Conflict("the report is already closed")
    report.state, report.closed_at, report.closed_by, report.close_note = (
        "closed",
        utcnow(),
        actor.account_id,
        note,
    )
    session.flush()
    audit.record(
        session,
        actor,
        action="report.close",
        entity="consumer_report",
        entity_id=report.id,
        before={"state": "open"},
        after={"state": "closed"},
        reason=note,
    )
    session.commit()
    return _out(report)
