"""Monthly programme report by area: products by stars, stamps issued, scans, revocations.

One row per area: the communes of a province (a provincial office, or the central office choosing
``commune``), or the provinces (the central office's default). Since 1/7/2025 there are no
districts (two-tier units): a district level is not offered. Every figure is counted by the
database, restricted to the caller's province by ``services.scope``:

- products by stars: products whose certificate is valid today, by its stars (3, 4, 5);
- stamps issued, scans counted (repeats from the same client excluded) in the month (Vietnam time);
- revocations decided in the month: stars withdrawn, lots recalled, stamp ranges voided.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Date, distinct, func, select
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal, Role, require_role
from stamp_service.domain.certification import VN_TZ, local_today
from stamp_service.services.certificates import status_clause
from stamp_service.services.scope import scoped
from stamp_service.storage.models.reference import AdministrativeUnit
from stamp_service.storage.models.registry import Certificate, Lot, Producer, Product
from stamp_service.storage.models.scans import Scan
from stamp_service.storage.models.stamps import Stamp, StampRequest, StampVoid

LEVELS = ("province", "commune")
COLUMNS = ("stars3", "stars4", "stars5", "stamps_issued", "scans", "revocations")


@dataclass
class ReportRow:
    area_code: str
    area_name: str
    stars3: int = 0
    stars4: int = 0
    stars5: int = 0
    stamps_issued: int = 0
    scans: int = 0
    revocations: int = 0


@dataclass
class MonthlyReport:
    year: int
    month: int
    level: str
    rows: list[ReportRow] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        return {c: sum(getattr(r, c) for r in self.rows) for c in COLUMNS}


def _bounds(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=VN_TZ)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=VN_TZ)
    return start, end


@dataclass(frozen=True)
class Measure:
    """Rows reached from ``Producer`` by ``path`` (joins), counted in a period of ``when``."""

    column: str
    path: tuple[tuple[Any, Any], ...]
    when: Any  # a moment, or a date (a decision's day)
    also: tuple[Any, ...] = ()

    @property
    def dated_by_day(self) -> bool:
        return isinstance(self.when.type, Date)


_PRODUCT = (Product, Product.producer_id == Producer.id)
_STAMP = (Stamp, Stamp.product_id == Product.id)
_REQUEST = (StampRequest, StampRequest.producer_id == Producer.id)
_COUNTED = (Scan.counted.is_(True),)  # a repeat from the same client is not counted
MEASURES = (
    Measure("stamps_issued", (_PRODUCT, _STAMP), Stamp.issued_at),
    Measure("scans", (_PRODUCT, _STAMP, (Scan, Scan.serial == Stamp.serial)), Scan.scanned_at, _COUNTED),
    Measure(
        "revocations",
        (_PRODUCT, (Certificate, Certificate.product_id == Product.id)),
        Certificate.withdrawn_on,
    ),
    Measure("revocations", (_PRODUCT, (Lot, Lot.product_id == Product.id)), Lot.recalled_on),
    Measure(
        "revocations", (_REQUEST, (StampVoid, StampVoid.request_id == StampRequest.id)), StampVoid.voided_at
    ),
)


def _within(measure: Measure, start: datetime, end: datetime) -> Any:
    """``measure`` dated from ``start`` (included) to ``end`` (excluded), Vietnam time."""
    if measure.dated_by_day:
        return (measure.when >= start.date()) & (measure.when < end.date())
    return (measure.when >= start) & (measure.when < end)


def _measured(measure: Measure, actor: Principal, *columns: Any) -> Any:
    stmt = select(*columns).select_from(Producer)
    for entity, onclause in measure.path:
        stmt = stmt.join(entity, onclause)
    return scoped(stmt.where(*measure.also), actor, Producer.id)


def monthly_report(session: Session, actor: Principal, *, year: int, month: int, level: str) -> MonthlyReport:
    require_role(actor, Role.ADMIN)
    if actor.province_code is not None:
        level = "commune"  # a province's report is by its communes
    area: Any = Producer.commune_code if level == "commune" else Producer.province_code
    start, end = _bounds(year, month)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))

    def add(column: str, stmt: Any) -> None:
        for code, n in session.execute(stmt.group_by(area)):
            counts[code][column] += int(n or 0)

    valid = status_clause(Certificate, "valid", local_today())
    for stars in (3, 4, 5):
        add(
            f"stars{stars}",
            scoped(
                select(area, func.count(distinct(Product.id)))
                .join(Product, Product.producer_id == Producer.id)
                .join(Certificate, Certificate.product_id == Product.id)
                .where(valid, Certificate.stars == stars),
                actor,
                Producer.id,
            ),
        )
    for m in MEASURES:
        add(m.column, _measured(m, actor, area, func.count()).where(_within(m, start, end)))
    names = dict(
        session.execute(
            select(AdministrativeUnit.code, AdministrativeUnit.name).where(
                AdministrativeUnit.code.in_(list(counts))
            )
        ).all()
    )
    rows = [ReportRow(code, names.get(code, code), **values) for code, values in counts.items()]
    rows.sort(key=lambda r: r.area_name)
    return MonthlyReport(year=year, month=month, level=level, rows=rows)


def daily(session: Session, actor: Principal, column: str, first: date, last: date) -> list[tuple[date, int]]:
    """``column`` (a measure of ``MEASURES``) per day from ``first`` to ``last``, Vietnam time.

    One query a measure: a filtered count per day over the period's rows (the same on SQLite and
    PostgreSQL, no time-zone functions), so the console home's days add up to the report's month.
    """
    require_role(actor, Role.ADMIN)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    moments = [datetime.combine(d, time.min, VN_TZ) for d in [*days, last + timedelta(days=1)]]
    totals = [0] * len(days)
    for m in (m for m in MEASURES if m.column == column):
        per_day = [func.count().filter(_within(m, moments[i], moments[i + 1])) for i in range(len(days))]
        row = session.execute(_measured(m, actor, *per_day).where(_within(m, moments[0], moments[-1]))).one()
        totals = [t + int(n or 0) for t, n in zip(totals, row, strict=True)]
    return list(zip(days, totals, strict=True))


def previous_month(today: date | None = None) -> tuple[int, int]:
    today = today or local_today()
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
