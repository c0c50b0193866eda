"""What needs the office's attention, and a producer's own counts: the homes of the people pages.

Counts only, each restricted to the caller's province (an office account with a province) or to
the caller's producer, so a home never hints at another province's or producer's records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from stamp_service.domain.access import Principal, Role, require_role
from stamp_service.domain.certification import local_today
from stamp_service.services.monthly_reports import daily
from stamp_service.storage.models.accounts import Account
from stamp_service.storage.models.findings import Finding
from stamp_service.storage.models.registry import Certificate, Lot, Producer, Product
from stamp_service.storage.models.scans import ConsumerReport
from stamp_service.storage.models.stamps import StampRequest

EXPIRY_NOTICE_DAYS = 90


@dataclass(frozen=True)
class Attention:
    requests_waiting: int
    certificates_expiring: int
    reports_open: int
    findings_new: int


@dataclass(frozen=True)
class MonthActivity:
    """This month's days so far (the 1st to today), oldest first, zero days included."""

    stamps_issued: list[tuple[date, int]]
    scans: list[tuple[date, int]]


@dataclass(frozen=True)
class ProducerCounts:
    products: int
    lots: int
    requests_waiting: int
    requests_total: int


def _count(session: Session, stmt: Select[Any]) -> int:
    return int(session.scalar(stmt) or 0)


def office_attention(session: Session, actor: Principal) -> Attention:
    require_role(actor, Role.ADMIN, Role.INSPECTOR)
    province = actor.province_code
    requests = select(func.count(StampRequest.id)).where(StampRequest.state == "requested")
    horizon = local_today() + timedelta(days=EXPIRY_NOTICE_DAYS)
    expiring = (
        select(func.count(Certificate.id))
        .join(Product, Product.id == Certificate.product_id)
        .where(Certificate.state == "active", Certificate.valid_until <= horizon)
    )
    reports = select(func.count(ConsumerReport.id)).where(ConsumerReport.state == "open")
    findings = select(func.count(Finding.id)).where(Finding.state == "open")
    if province is not None:
        in_province = select(Producer.id).where(Producer.province_code == province)
        requests = requests.where(StampRequest.producer_id.in_(in_province))
        expiring = expiring.where(Product.producer_id.in_(in_province))
        reports = reports.where(ConsumerReport.province_code == province)
        inspectors = select(Account.id).where(Account.province_code == province)
        findings = findings.where(Finding.account_id.in_(inspectors))
    return Attention(
        requests_waiting=_count(session, requests),
        certificates_expiring=_count(session, expiring),
        reports_open=_count(session, reports),
        findings_new=_count(session, findings),
    )


def month_activity(session: Session, actor: Principal, today: date | None = None) -> MonthActivity:
    """Stamps issued and scans per day this month, as the monthly report counts them."""
    today = today or local_today()
    first = today.replace(day=1)
    return MonthActivity(
        stamps_issued=daily(session, actor, "stamps_issued", first, today),
        scans=daily(session, actor, "scans", first, today),
    )


def producer_counts(session: Session, actor: Principal) -> ProducerCounts:
    require_role(actor, Role.PRODUCER)
    pid = actor.producer_id
    requests = select(func.count(StampRequest.id)).where(StampRequest.producer_id == pid)
    return ProducerCounts(
        products=_count(session, select(func.count(Product.id)).where(Product.producer_id == pid)),
        lots=_count(
            session,
            select(func.count(Lot.id))
            .join(Product, Product.id == Lot.product_id)
            .where(Product.producer_id == pid),
        ),
        requests_waiting=_count(session, requests.where(StampRequest.state == "requested")),
        requests_total=_count(session, requests),
    )
