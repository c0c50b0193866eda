"""Revocation reports: a product's certificate and revocation history; revoked products,
recalled lots and voided ranges by province and date (the office and inspectors read them).

Every filter and the paging run in SQL: decision dates are the ``Certificate.withdrawn_on`` and
``Lot.recalled_on`` columns (kept with the JSON decision by ``services.revocation``), and the
current certificate is ``certificates.current_certificate_ids``.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, and_, case, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from stamp_service.domain.access import Principal, Role, require_read, require_role
from stamp_service.domain.certification import VN_TZ
from stamp_service.domain.status import MIN_CERTIFIED_STARS, Decision
from stamp_service.errors import NotFound
from stamp_service.schemas.common import Page
from stamp_service.schemas.lots import LotOut
from stamp_service.schemas.revocation import (
    HistoryEventOut,
    ProductHistoryOut,
    RecalledLotOut,
    RevocationReportQuery,
    RevokedProductOut,
    VoidRangeOut,
    VoidReportQuery,
)
from stamp_service.services.certificates import current_certificate, current_certificate_ids, to_out
from stamp_service.services.lookup import by_id
from stamp_service.services.pagination import AnySelect, paginate
from stamp_service.services.scope import owner_of, scoped
from stamp_service.storage.models.audit import AuditEntry
from stamp_service.storage.models.registry import Certificate, Lot, Producer, Product
from stamp_service.storage.models.stamps import StampRequest, StampVoid

HISTORY_ACTIONS = (
    "certificate.create",
    "certificate.supersede",
    "certificate.reduce",
    "certificate.withdraw",
    "lot.recall",
    "lot.recall_lift",
    "stamps.void",
    "stamp_request.stop",
)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=VN_TZ)


def _filter(
    stmt: AnySelect,
    actor: Principal,
    query: RevocationReportQuery,
    day: ColumnElement[Any] | InstrumentedAttribute[Any],
) -> AnySelect:
    """The caller's scope, the province (of the producer, joined as ``Producer``) and decision dates."""
    stmt = scoped(stmt, actor, Producer.id)
    if query.province:
        stmt = stmt.where(Producer.province_code == query.province)
    if query.since is not None:
        stmt = stmt.where(day >= query.since)
    if query.until is not None:
        stmt = stmt.where(day <= query.until)
    return stmt


def product_history(session: Session, actor: Principal, product_id: int) -> ProductHistoryOut:
    """Every certificate of the product and every revocation event of it, its lots and stamps."""
    product = by_id(session, Product, product_id)
    if product is None:
        raise NotFound("no such product")
    require_read(actor, owner_of(session, product.producer_id), "product")
    certs = list(
        session.scalars(
            select(Certificate)
            .where(Certificate.product_id == product.id)
            .order_by(Certificate.signed_on, Certificate.id)
        )
    )
    lots = list(session.scalars(select(Lot).where(Lot.product_id == product.id).order_by(Lot.id)))
    request_ids = list(session.scalars(select(StampRequest.id).where(StampRequest.product_id == product.id)))
    void_ids = list(session.scalars(select(StampVoid.id).where(StampVoid.request_id.in_(request_ids))))
    targets = [
        ("certificate", [c.id for c in certs]),
        ("lot", [lot.id for lot in lots]),
        ("stamp_void", void_ids),
        ("stamp_request", request_ids),
    ]
    clauses = [
        and_(AuditEntry.entity == entity, AuditEntry.entity_id.in_([str(i) for i in ids]))
        for entity, ids in targets
        if ids
    ]
    events = []
    if clauses:
        events = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.in_(HISTORY_ACTIONS), or_(*clauses))
                .order_by(AuditEntry.id)
            )
        )
    current = current_certificate(session, product.id)
    return ProductHistoryOut(
        product_id=product.id,
        product_name=product.name,
        current_certificate=to_out(current) if current else None,
        certificates=[to_out(c) for c in certs],
        recalled_lots=[LotOut.model_validate(lot) for lot in lots if lot.recall],
        events=[HistoryEventOut.model_validate(e) for e in events],
    )


def revoked_products(
    session: Session, actor: Principal, query: RevocationReportQuery
) -> Page[RevokedProductOut]:
    """Products whose current certificate is withdrawn or below 3 stars (filtered and paged in SQL)."""
    require_role(actor, Role.ADMIN, Role.INSPECTOR)
    current = current_certificate_ids()
    withdrawn = Certificate.state == "withdrawn"
    # A withdrawal dates from its decision; a reduction below 3 stars is itself the decision.
    decided_on = case((withdrawn, Certificate.withdrawn_on), else_=Certificate.signed_on)
    stmt = (
        select(Certificate, Product, Producer)
        .join(current, current.c.certificate_id == Certificate.id)
        .join(Product, Product.id == Certificate.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .where(or_(withdrawn, Certificate.stars < MIN_CERTIFIED_STARS))
    )
    stmt = _filter(stmt, actor, query, decided_on).order_by(Product.id)

    def out(row: Any) -> RevokedProductOut:
        cert, product, producer = row
        if cert.state == "withdrawn":
            cause, day = "stars_withdrawn", cert.withdrawn_on
            number = Decision.from_record(cert.withdrawal).number or cert.decision_number
        else:
            cause, number, day = "stars_below_three", cert.decision_number, cert.signed_on
        return RevokedProductOut(
            product_id=product.id,
            product_name=product.name,
            producer_id=producer.id,
            producer_name=producer.name,
            province_code=producer.province_code,
            certificate_id=cert.id,
            cause=cause,
            stars=cert.stars,
            decision_number=number,
            decided_on=day,
        )

    return paginate(session, stmt, query.page, query.per_page, out, rows=True)


def recalled_lots(session: Session, actor: Principal, query: RevocationReportQuery) -> Page[RecalledLotOut]:
    require_role(actor, Role.ADMIN, Role.INSPECTOR)
    stmt = (
        select(Lot, Product, Producer)
        .join(Product, Product.id == Lot.product_id)
        .join(Producer, Producer.id == Product.producer_id)
        .where(Lot.recall.isnot(None))
    )
    stmt = _filter(stmt, actor, query, Lot.recalled_on).order_by(Lot.id)

    def out(row: Any) -> RecalledLotOut:
        lot, product, producer = row
        return RecalledLotOut(
            lot_id=lot.id,
            lot_code=lot.lot_code,
            product_id=product.id,
            product_name=product.name,
            producer_id=producer.id,
            province_code=producer.province_code,
            recall=lot.recall,
            decided_on=lot.recalled_on,
        )

    return paginate(session, stmt, query.page, query.per_page, out, rows=True)


def voided_ranges(session: Session, actor: Principal, query: VoidReportQuery) -> Page[VoidRangeOut]:
    require_role(actor, Role.ADMIN, Role.INSPECTOR)
    stmt = (
        select(StampVoid, StampRequest, Producer)
        .join(StampRequest, StampRequest.id == StampVoid.request_id)
        .join(Producer, Producer.id == StampRequest.producer_id)
    )
    stmt = scoped(stmt, actor, Producer.id)
    if query.province:
        stmt = stmt.where(Producer.province_code == query.province)
    if query.since:
        stmt = stmt.where(StampVoid.voided_at >= _day_start(query.since))
    if query.until:
        stmt = stmt.where(StampVoid.voided_at < _day_start(date.fromordinal(query.until.toordinal() + 1)))
    if query.reason_code:
        stmt = stmt.where(StampVoid.reason_code == query.reason_code.value)
    if query.request_id:
        stmt = stmt.where(StampVoid.request_id == query.request_id)

    def out(row: Any) -> VoidRangeOut:
        v, r, pr = row
        return VoidRangeOut(
            id=v.id,
            request_id=v.request_id,
            seq_from=v.seq_from,
            seq_to=v.seq_to,
            reason_code=v.reason_code,
            reason=v.reason,
            decision=v.decision,
            voided_by=v.voided_by,
            voided_at=v.voided_at,
            product_id=r.product_id,
            lot_id=r.lot_id,
            producer_id=pr.id,
            province_code=pr.province_code,
        )

    return paginate(session, stmt.order_by(StampVoid.id), query.page, query.per_page, out, rows=True)
