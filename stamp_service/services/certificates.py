"""Certificate use cases: record a certification decision (admins), read and list with computed status;
and the ONE definition of a product's *current* certificate.

The current certificate is the product's newest certificate that was not superseded (active or
withdrawn), newest by ``(signed_on, id)``: ``current_certificate`` for one product,
``current_certificates`` for a page of them and ``current_certificate_ids`` (a subquery) for SQL
listings and reports. Verification, issuance, listings, reports and the status bundle all use
these, so they never disagree. A new decision may not be signed before the current one.

Withdrawal and star reduction are separate use cases (revocation); the model
keeps their fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, func, select
from sqlalchemy.orm import Session

from stamp_service.domain.access import (
    Principal,
    Role,
    require_certifying_level,
    require_read,
    require_role,
    require_write,
)
from stamp_service.domain.certification import (
    CertificateStatus,
    certificate_status,
    check_authority_level,
    check_criteria_in_force,
    check_score,
    default_valid_until,
    local_today,
    required_authority_level,
)
from stamp_service.domain.status import MIN_CERTIFIED_STARS
from stamp_service.errors import Conflict, NotFound, ValidationFailed
from stamp_service.schemas.certificates import CertificateIn, CertificateOut, CertificateQuery
from stamp_service.schemas.common import Page
from stamp_service.services import audit
from stamp_service.services.lookup import by_id
from stamp_service.services.pagination import paginate
from stamp_service.services.scope import owner_of, owner_of_product, scoped
from stamp_service.services.status_events import status_changed
from stamp_service.services.tx import flush_or_conflict
from stamp_service.storage.models.base import utcnow
from stamp_service.storage.models.registry import Certificate, Product

CERTIFICATE_AUDIT_FIELDS = (
    "product_id",
    "stars",
    "score",
    "criteria_version",
    "authority_name",
    "authority_level",
    "decision_number",
    "signed_on",
    "valid_until",
    "supersedes_id",
    "state",
)


# -- the current certificate -------------------------------------------------------------------------

# Newest first: the order that decides which non-superseded certificate is current.
_NEWEST_FIRST = (Certificate.signed_on.desc(), Certificate.id.desc())


def current_certificate(session: Session, product_id: int) -> Certificate | None:
    """The product's certificate in force: the newest one not superseded (active or withdrawn)."""
    return session.scalar(
        select(Certificate)
        .where(Certificate.product_id == product_id, Certificate.state != "superseded")
        .order_by(*_NEWEST_FIRST)
        .limit(1)
    )


def current_certificate_ids() -> Subquery:
    """SQL twin of ``current_certificate`` for many products: rows ``(product_id, certificate_id)``.

    Join it on ``product_id`` (products) or ``certificate_id`` (certificates).
    """
    ranked = (
        select(
            Certificate.product_id.label("product_id"),
            Certificate.id.label("certificate_id"),
            func.row_number()
            .over(partition_by=Certificate.product_id, order_by=_NEWEST_FIRST)
            .label("newest"),
        )
        .where(Certificate.state != "superseded")
        .subquery("ranked_certificates")
    )
    return (
        select(ranked.c.product_id, ranked.c.certificate_id)
        .where(ranked.c.newest == 1)
        .subquery("current_certificates")
    )


def current_certificates(session: Session, product_ids: Iterable[int]) -> dict[int, Certificate]:
    """Each product's current certificate (products without one are absent)."""
    ids = list(product_ids)
    if not ids:
        return {}
    current = current_certificate_ids()
    rows = session.scalars(
        select(Certificate)
        .join(current, current.c.certificate_id == Certificate.id)
        .where(Certificate.product_id.in_(ids))
    )
    return {c.product_id: c for c in rows}


def status_of(cert: Certificate, today: date | None = None) -> CertificateStatus:
    return certificate_status(
        state=cert.state, stars=cert.stars, valid_until=cert.valid_until, at=today or local_today()
    )


def status_clause(cert: Any, status: CertificateStatus | str, today: date) -> ColumnElement[bool]:
    """The SQL twin of ``certificate_status`` on the certificate entity or alias ``cert``."""
    certified = and_(cert.state == "active", cert.stars >= MIN_CERTIFIED_STARS)
    match CertificateStatus(status):
        case CertificateStatus.WITHDRAWN:
            return cert.state == "withdrawn"  # type: ignore[no-any-return]
        case CertificateStatus.SUPERSEDED:
            return cert.state == "superseded"  # type: ignore[no-any-return]
        case CertificateStatus.BELOW_THREE:
            return and_(cert.state == "active", cert.stars < MIN_CERTIFIED_STARS)
        case CertificateStatus.EXPIRED:
            return and_(certified, cert.valid_until < today)
        case CertificateStatus.VALID:
            return and_(certified, cert.valid_until >= today)
    raise AssertionError(status)  # pragma: no cover


def to_out(cert: Certificate, today: date | None = None) -> CertificateOut:
    return CertificateOut.model_validate({**_fields(cert), "status": status_of(cert, today)})


def _fields(cert: Certificate) -> dict[str, object]:
    return {name: getattr(cert, name) for name in CertificateOut.model_fields if name != "status"}


def get_certificate(session: Session, actor: Principal, certificate_id: int) -> Certificate:
    cert = by_id(session, Certificate, certificate_id)
    if cert is None:
        raise NotFound("no such certificate")
    product = by_id(session, Product, cert.product_id)
    assert product is not None
    require_read(actor, owner_of(session, product.producer_id), "certificate")
    return cert


def create_certificate(session: Session, actor: Principal, data: CertificateIn) -> Certificate:
    """Record a decision; raises RuleViolation for the OCOP rules, Conflict for a second active one."""
    require_role(actor, Role.ADMIN)
    if by_id(session, Product, data.product_id) is None:
        raise NotFound("no such product")
    require_write(actor, owner_of_product(session, data.product_id), "product")
    # Who certifies binds accounts: a provincial office cannot record a central-level decision.
    require_certifying_level(
        actor, required_authority_level(data.signed_on, data.stars).value, stars=data.stars
    )
    today = local_today()
    if data.signed_on > today:
        raise ValidationFailed(
            [{"field": "signed_on", "message": "a decision cannot be signed in the future"}]
        )
    criteria = data.criteria_version.value
    check_criteria_in_force(criteria, data.signed_on)
    if data.score is not None:
        check_score(criteria, data.stars, data.score)
    check_authority_level(data.signed_on, data.stars, data.authority_level.value)
    valid_until = data.valid_until or default_valid_until(data.signed_on)
    current = current_certificate(session, data.product_id)
    if current is not None and data.signed_on < current.signed_on:
        # Else the new decision would not be the current one (e.g. after a withdrawal): the product
        # listing and verification would disagree about the product's status.
        raise ValidationFailed(
            [
                {
                    "field": "signed_on",
                    "message": f"before the signing date ({current.signed_on.isoformat()}) of the "
                    f"product's current certificate {current.decision_number}",
                }
            ]
        )

    active = session.scalar(
        select(Certificate).where(Certificate.product_id == data.product_id, Certificate.state == "active")
    )
    superseded = None
    if data.supersedes_id is not None:
        superseded = by_id(session, Certificate, data.supersedes_id)
        if superseded is None:
            raise ValidationFailed([{"field": "supersedes_id", "message": "no such certificate"}])
        if superseded.product_id != data.product_id or superseded.state != "active":
            raise Conflict("only the same product's active certificate can be superseded")
        require_certifying_level(actor, superseded.authority_level, stars=superseded.stars)
        if data.signed_on < superseded.signed_on:
            raise ValidationFailed(
                [
                    {
                        "field": "signed_on",
                        "message": "before the signing date of the certificate it supersedes",
                    }
                ]
            )
    elif active is not None:
        raise Conflict(
            f"product has an active certificate ({active.decision_number}); give supersedes_id to replace it",
            active_certificate_id=active.id,
        )

    if superseded is not None:
        before = audit.snapshot(superseded, CERTIFICATE_AUDIT_FIELDS)
        superseded.state = "superseded"
        superseded.state_changed_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor,
            action="certificate.supersede",
            entity="certificate",
            entity_id=superseded.id,
            before=before,
            after=audit.snapshot(superseded, CERTIFICATE_AUDIT_FIELDS),
            decision={"decision_number": data.decision_number, "signed_on": data.signed_on},
        )
    cert = Certificate(
        product_id=data.product_id,
        stars=data.stars,
        score=data.score,
        criteria_version=criteria,
        authority_name=data.authority_name,
        authority_level=data.authority_level.value,
        decision_number=data.decision_number,
        signed_on=data.signed_on,
        valid_until=valid_until,
        supersedes_id=data.supersedes_id,
        state="active",
    )
    session.add(cert)
    # A concurrent writer may have made another active certificate first.
    flush_or_conflict(session, "product already has an active certificate")
    audit.record(
        session,
        actor,
        action="certificate.create",
        entity="certificate",
        entity_id=cert.id,
        after=audit.snapshot(cert, CERTIFICATE_AUDIT_FIELDS),
        decision={
            "decision_number": cert.decision_number,
            "signed_on": cert.signed_on,
            "authority": cert.authority_name,
        },
    )
    session.commit()
    status_changed(session)  # a superseding certificate changes the verdict of the product's stamps
    return cert


def list_certificates(session: Session, actor: Principal, query: CertificateQuery) -> Page[CertificateOut]:
    today = local_today()
    stmt = select(Certificate).join(Product, Product.id == Certificate.product_id)
    stmt = scoped(stmt, actor, Product.producer_id)
    if query.product_id:
        stmt = stmt.where(Certificate.product_id == query.product_id)
    if query.state is not None:
        stmt = stmt.where(status_clause(Certificate, query.state, today))
    return paginate(
        session, stmt.order_by(Certificate.id), query.page, query.per_page, lambda c: to_out(c, today)
    )
