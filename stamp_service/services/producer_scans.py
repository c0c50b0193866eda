"""What shoppers' scans say about a producer's own products: scans per day and per province,
where each stamp was first scanned (the place it reached a shopper), stamps whose counters trip
the clone rules (and which rule), and consumers' reports.

Reads the flushed ``scans`` rows and ``scan_counters`` (a scan reaches them within the flusher's
interval, see services.scans). Only the producer's own stamps are counted (``scoped``). Reports
are shown without the consumer's contact: the producer needs what and where, not who.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stamp_service.domain import serials
from stamp_service.domain.access import Principal, Role, require_role
from stamp_service.domain.certification import VN_TZ, local_today
from stamp_service.domain.verification import CloneThresholds, ScanStats, clone_reasons
from stamp_service.services.scope import scoped
from stamp_service.storage.models.registry import Product
from stamp_service.storage.models.scans import ConsumerReport, Scan, ScanCounter
from stamp_service.storage.models.stamps import Stamp

DAYS = 30
MAX_ALERTS = 50
MAX_REPORTS = 50


@dataclass(frozen=True)
class CloneAlert:
    serial: str
    product: str
    scans: int
    clients: int
    provinces: int
    first_at: datetime
    last_at: datetime
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class ReportLine:
    created_at: datetime
    product: str
    serial: str | None
    problem: str
    shop_name: str | None
    place: str | None
    province_code: str | None
    state: str


@dataclass(frozen=True)
class ScanOverview:
    per_day: list[tuple[date, int]]  # the last DAYS days, oldest first, zero days included
    per_province: list[tuple[str | None, int]]  # most scans first
    # Stamps by the province of their first scan that has one, most first; None (never shared) last.
    # The scan log records a province only (shared by the shopper), never a commune or district.
    first_places: list[tuple[str | None, int]]
    alerts: list[CloneAlert]
    reports: list[ReportLine]


def _own_products(session: Session, actor: Principal) -> dict[int, str]:
    rows = session.execute(scoped(select(Product.id, Product.name), actor, Product.producer_id))
    return {pid: name for pid, name in rows}


def overview(
    session: Session, actor: Principal, limits: CloneThresholds, today: date | None = None
) -> ScanOverview:
    require_role(actor, Role.PRODUCER, Role.ADMIN)
    today = today or local_today()
    products = _own_products(session, actor)
    mine = Stamp.product_id.in_(list(products) or [-1])
    since = datetime.combine(today - timedelta(days=DAYS - 1), datetime.min.time(), VN_TZ)
    scans = (
        select(Scan.scanned_at, Scan.province_code)
        .join(Stamp, Stamp.serial == Scan.serial)
        .where(mine, Scan.counted.is_(True), Scan.scanned_at >= since)
    )
    days: Counter[date] = Counter()
    provinces: Counter[str | None] = Counter()
    for scanned_at, province in session.execute(scans):
        days[scanned_at.astimezone(VN_TZ).date()] += 1
        provinces[province] += 1
    per_day = [(d, days[d]) for d in (today - timedelta(days=DAYS - 1 - i) for i in range(DAYS))]
    return ScanOverview(
        per_day=per_day,
        per_province=provinces.most_common(),
        first_places=_first_places(session, mine),
        alerts=_alerts(session, products, mine, limits),
        reports=_reports(session, products, mine),
    )


def _first_places(session: Session, mine: object) -> list[tuple[str | None, int]]:
    """How many of my stamps were first scanned in each province (all time, one row per stamp).

    A scan knows its province only when the shopper shares it, usually on the page the first scan
    opened: so a stamp's place is that of its earliest scan with a province, and a stamp none of
    whose scans has one counts as not shared.
    """
    first = (Scan.province_code.is_(None), Scan.scanned_at, Scan.id)
    ranked = (
        select(
            Scan.province_code,
            func.row_number().over(partition_by=Scan.serial, order_by=first).label("nth"),
        )
        .join(Stamp, Stamp.serial == Scan.serial)
        .where(mine)  # type: ignore[arg-type]
        .subquery()
    )
    rows = session.execute(
        select(ranked.c.province_code, func.count()).where(ranked.c.nth == 1).group_by(ranked.c.province_code)
    )
    counts = [(code, int(n)) for code, n in rows]
    return sorted(counts, key=lambda row: (row[0] is None, -row[1], row[0] or ""))


def _alerts(
    session: Session, products: dict[int, str], mine: object, limits: CloneThresholds
) -> list[CloneAlert]:
    """Stamps whose counters trip a clone rule, most scanned first."""
    stmt = (
        select(ScanCounter, Stamp.product_id)
        .join(Stamp, Stamp.serial == ScanCounter.serial)
        .where(mine)  # type: ignore[arg-type]
        .where(
            (ScanCounter.scans >= limits.max_scans)
            | ((ScanCounter.clients >= limits.min_clients) & (ScanCounter.provinces >= limits.min_provinces))
            | (ScanCounter.last_at - ScanCounter.first_at > timedelta(days=limits.max_span_days))
        )
        .order_by(ScanCounter.scans.desc())
        .limit(MAX_ALERTS)
    )
    alerts = []
    for counter, product_id in session.execute(stmt):
        stats = ScanStats(
            counter.scans, counter.first_at, counter.last_at, counter.clients, counter.provinces
        )
        reasons = clone_reasons(stats, limits)
        if reasons:
            alerts.append(
                CloneAlert(
                    serials.format_serial(serials.from_db(counter.serial)),
                    products.get(product_id, ""),
                    counter.scans,
                    counter.clients,
                    counter.provinces,
                    counter.first_at,
                    counter.last_at,
                    reasons,
                )
            )
    return alerts


def _reports(session: Session, products: dict[int, str], mine: object) -> list[ReportLine]:
    stmt = (
        select(ConsumerReport, Stamp.product_id)
        .join(Stamp, Stamp.serial == ConsumerReport.serial)
        .where(mine)  # type: ignore[arg-type]
        .order_by(ConsumerReport.created_at.desc())
        .limit(MAX_REPORTS)
    )
    return [
        ReportLine(
            r.created_at,
            products.get(product_id, ""),
            serials.format_serial(serials.from_db(r.serial)) if r.serial is not None else None,
            r.problem,
            r.shop_name,
            r.place,
            r.province_code,
            r.state,
        )
        for r, product_id in session.execute(stmt)
    ]
