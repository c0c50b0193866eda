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
from datetime import date, datetime
from typing import Any

from sqlalchemy import distinct, func, select
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


def monthly_report(session: Session, actor: Principal, *, year: int, month: int, level: str) -> MonthlyReport:
    require_role(actor, Role.ADMIN)
    if actor.province_code is not None:
        level = "commune"  # a province's report is by its communes
    area: Any = Producer.commune_code if level == "commune" else Producer.province_code
    start, end = _bounds(year, month)
    first_day, next_first = start.date(), end.date()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))

    def add(column: str, stmt: Any) -> None:
        for code, n in session.execute(scoped(stmt, actor, Producer.id).group_by(area)):
            counts[code][column] += int(n or 0)

    valid = status_clause(Certificate, "valid", local_today())
    for stars in (3, 4, 5):
        add(
            f"stars{stars}",
            select(area, func.count(distinct(Product.id)))
            .join(Product, Product.producer_id == Producer.id)
            .join(Certificate, Certificate.product_id == Product.id)
            .where(valid, Certificate.stars == stars),
        )
    add(
        "stamps_issued",
        select(area, func.count(Stamp.serial))
        .join(Product, Product.producer_id == Producer.id)
        .join(Stamp, Stamp.product_id == Product.id)
        .where(Stamp.issued_at >= start, Stamp.issued_at < end),
    )
    add(
        "scans",
        select(area, func.count(Scan.id))
        .join(Product, Product.producer_id == Producer.id)
        .join(Stamp, Stamp.product_id == Product.id)
        .join(Scan, Scan.serial == Stamp.serial)
        .where(Scan.scanned_at >= start, Scan.scanned_at < end, Scan.counted.is_(True)),
    )
    add(
        "revocations",
        select(area, func.count(Certificate.id))
        .join(Product, Product.producer_id == Producer.id)
        .join(Certificate, Certificate.product_id == Product.id)
        .where(Certificate.withdrawn_on >= first_day, Certificate.withdrawn_on < next_first),
    )
    add(
        "revocations",
        select(area, func.count(Lot.id))
        .join(Product, Product.producer_id == Producer.id)
        .join(Lot, Lot.product_id == Product.id)
        .where(Lot.recalled_on >= first_day, Lot.recalled_on < next_first),
    )
    add(
        "revocations",
        select(area, func.count(StampVoid.id))
        .join(StampRequest, StampRequest.producer_id == Producer.id)
        .join(StampVoid, StampVoid.request_id == StampRequest.id)
        .where(StampVoid.voided_at >= start, StampVoid.voided_at < end),
    )
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


def previous_month(today: date | None = None) -> tuple[int, int]:
    today = today or local_today()
    return (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
